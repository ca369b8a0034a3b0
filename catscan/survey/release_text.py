"""Release files straight from Arrow tables: the generator's fast writer.

``loaders.release_format.write_release_file`` (DuckDB COPY, then zlib) is the loaders' and
tests' writer; at survey scale it was most of the generator's time. Measured on the same
96 k PSC rows in one run (docs/performance.md): DuckDB COPY ~56 k rows/s, Arrow's casts to
text ~110 k, numpy fixed-point digits ~32 k, Polars' CSV writer on one thread ~215 k. So the
lines are written by Polars (from the Arrow table without a copy), with the same release
conventions: ``|`` between fields, ``\\N`` for null, no padding or quoting, dates
``YYYY-MM-DD``, floats as their shortest round-trip decimal (``15.0``, ``0.094``). They are
gzipped by ISA-L (igzip level 1: ~2x zlib level 1's speed, and smaller), with no name or
time in the header, so the same rows give the same bytes.
"""

from __future__ import annotations

import io
from functools import lru_cache
from pathlib import Path

import pyarrow as pa
from isal import igzip

NULL = "\\N"
GZIP_LEVEL = 1


TABLES = ("psc", "xsc", "scans", "night_qa")


@lru_cache(maxsize=1)
def _schema() -> dict:
    """The file columns of every table the generator writes, read from one in-memory
    database built from ``schema/*.sql`` (building it costs ~0.5 s: once per process)."""
    from catscan.db import memory_database
    from catscan.loaders.schema_info import file_columns

    con = memory_database()
    try:
        return {table: tuple(file_columns(con, table)) for table in TABLES}
    finally:
        con.close()


def file_columns_of(table: str) -> tuple:
    """The columns (``loaders.schema_info.Column``) a release file of ``table`` carries."""
    return _schema()[table]


def file_column_names(table: str) -> tuple[str, ...]:
    """The names of those columns, in order."""
    return tuple(c.name for c in file_columns_of(table))


def release_lines(rows: pa.Table, table: str) -> bytes:
    """The rows as release lines (``\\n``-terminated) with the file columns of ``table``."""
    if rows.num_rows == 0:
        return b""
    return _lines(_frame(rows, table))


def _frame(rows: pa.Table, table: str):
    """The file columns of ``table`` as a Polars frame (no copy). Missing values must be
    nulls: a NaN would print as ``NaN``."""
    import polars as pl  # imported late: nights.py sets its thread count first

    return pl.from_arrow(rows.select(list(file_column_names(table))), rechunk=False)


def _lines(frame) -> bytes:
    out = io.BytesIO()
    frame.write_csv(out, include_header=False, separator="|", quote_style="never",
                    null_value=NULL, date_format="%Y-%m-%d", line_terminator="\n")
    return out.getvalue()


def _write(data: bytes, path: Path) -> None:
    if path.suffix == ".gz":
        data = igzip.compress(data, compresslevel=GZIP_LEVEL, mtime=0)
    with open(path, "wb") as out:
        out.write(data)


def write_release_parts(rows: pa.Table, table: str,
                        parts: list[tuple[Path, int]]) -> list[pa.Table]:
    """Write consecutive slices of ``rows`` as release files of ``table``: ``parts`` gives
    each file and its row count (formatting one frame is cheaper than one per file).
    Returns the slices."""
    if sum(n for _, n in parts) != rows.num_rows:
        raise ValueError("the parts do not add up to the rows")
    frame = _frame(rows, table) if rows.num_rows else None
    slices, start = [], 0
    for path, n in parts:
        _write(_lines(frame.slice(start, n)) if n else b"", Path(path))
        slices.append(rows.slice(start, n))
        start += n
    return slices


def write_release_lines(rows: pa.Table, table: str, path: str | Path) -> Path:
    """Write ``rows`` as a release file of ``table``; gzipped when ``path`` ends in ``.gz``."""
    path = Path(path)
    _write(release_lines(rows, table), path)
    return path
