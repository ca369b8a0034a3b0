"""Python functions registered on every catscan connection (``register(con)``).

UDFs live per connection in DuckDB, so they are registered on each connect; SQL macros that
need no Python are persistent and live in ``schema/``. Vectorised (Arrow) UDFs are used for
per-row work: DuckDB hands them batches of up to 2048 rows.
"""

from __future__ import annotations

import threading

import duckdb


# Each UDF imports its module when DuckDB first calls it: cdshealpix brings astropy's
# coordinates, about a second of every command's start-up on 2 cores, and most commands
# never compute an hpx29. (DuckDB reads the arity from the signature: no *args.)
def _hpx29(ra, dec):
    from .healpix import hpx29_arrow

    return hpx29_arrow(ra, dec)


def _designation(ra, dec):
    from .names import designation_arrow

    return designation_arrow(ra, dec)


def _polygon_contains(ra, dec, spec):
    from .regions import polygon_contains_arrow

    return polygon_contains_arrow(ra, dec, spec)


_FUNCTIONS = (
    # name, function, argument types, return type
    ("hpx29", _hpx29, ["DOUBLE", "DOUBLE"], "BIGINT"),
    ("tmass_designation", _designation, ["DOUBLE", "DOUBLE"], "VARCHAR"),
    ("sky_polygon_contains", _polygon_contains, ["DOUBLE", "DOUBLE", "VARCHAR"], "BOOLEAN"),
)
# Connections to one file in one process share a DuckDB instance and its catalog, so the
# look-up of what is registered and the registering must not interleave between threads
# (else two both find "hpx29" missing and the second create fails: "already exists").
_REGISTERING = threading.Lock()


def register(con: duckdb.DuckDBPyConnection) -> None:
    """Register catscan's UDFs on a connection (idempotent, safe from many threads)."""
    with _REGISTERING:
        _register(con)


def _register(con: duckdb.DuckDBPyConnection) -> None:
    from duckdb.func import FunctionNullHandling, PythonUDFType

    # connections to one file in one process share a catalog, and this DuckDB lists Python
    # UDFs as internal: look the names up among all scalar functions
    registered = {row[0] for row in con.execute(
        "SELECT function_name FROM duckdb_functions() WHERE function_type = 'scalar' "
        "AND function_name IN (SELECT unnest(?))",
        [[f[0] for f in _FUNCTIONS] + ["image_cutout_rows"]]).fetchall()}
    for name, fn, args, ret in _FUNCTIONS:
        if name in registered:
            continue
        # SPECIAL: the functions see NULLs and may return NULL (for impossible positions)
        con.create_function(name, fn, args, ret, type=PythonUDFType.ARROW,
                            null_handling=FunctionNullHandling.SPECIAL)
    _register_images(con, registered)


def _register_images(con: duckdb.DuckDBPyConnection, registered: set[str]) -> None:
    """The cutout function of the image_cutout table macro (udfs/images.py): one call per
    cutout (NATIVE), NULLs passed in, never constant-folded or evaluated twice."""
    from duckdb.func import FunctionNullHandling, PythonUDFType

    from . import images

    if images.NAME in registered:
        return
    con.create_function(images.NAME, images.image_cutout_rows, images.ARGUMENTS,
                        images.RETURNS, type=PythonUDFType.NATIVE,
                        null_handling=FunctionNullHandling.SPECIAL, side_effects=True)
