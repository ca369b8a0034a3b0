"""Write rows in the IRSA release line format: the inverse of the release reader.

One record per line, ``|`` between fields, ``\\N`` for null, numbers without padding or
trailing zeros, designation kept as stored (17 characters, blank padded), optionally a
trailing ``|``. Used by tests, benchmarks and the sample-survey generator.
"""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import duckdb

from .schema_info import file_columns, quote, sql_string


def write_release_file(con: duckdb.DuckDBPyConnection, table: str, source: str,
                       path: str | Path, *, trailing_bar: bool = False) -> Path:
    """Write the rows of ``source`` (a table, view or registered Arrow name) as release
    lines with the file columns of ``table``; gzipped when ``path`` ends in ``.gz``."""
    path = Path(path)
    cols = [quote(c.name) for c in file_columns(con, table)]
    if trailing_bar:
        cols.append("'' AS catscan_end")
    gz = path.suffix == ".gz"
    plain = path.with_name(path.name + ".part") if gz else path
    con.execute(
        f"COPY (SELECT {', '.join(cols)} FROM {source}) TO {sql_string(plain)} "
        f"(FORMAT csv, DELIMITER '|', HEADER false, QUOTE '', ESCAPE '', NULLSTR '\\N', "
        f"DATEFORMAT '%Y-%m-%d')")
    if gz:  # DuckDB's own gzip writer is ~8x slower than zlib at level 1
        # mtime=0: the same rows give the same bytes (and sha256) on every run
        with open(plain, "rb") as src, open(path, "wb") as raw, \
                gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=1, mtime=0) as dst:
            shutil.copyfileobj(src, dst, 1 << 20)
        plain.unlink()
    return path
