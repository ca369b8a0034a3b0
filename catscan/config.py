"""Where the database is: --db PATH, else $CATSCAN_DB, else ./catscan.duckdb."""

from __future__ import annotations

import os
from pathlib import Path

DEFAULT_DB = "catscan.duckdb"
ENV_DB = "CATSCAN_DB"


def resolve_db_path(path: str | os.PathLike | None = None) -> Path:
    """The database file to use, by the documented precedence."""
    if path:
        return Path(path)
    env = os.environ.get(ENV_DB)
    if env:
        return Path(env)
    return Path(DEFAULT_DB)


PUBLIC_SUFFIX = ".public"


def public_db_path(db: str | os.PathLike) -> Path | None:
    """The public copy of a database (its released nights, catscan.operations.publish):
    ``catscan.duckdb`` -> ``catscan.public.duckdb`` in the same directory; None for an
    in-memory database."""
    path = Path(db)
    if str(db) == ":memory:":
        return None
    return path.with_name(path.stem + PUBLIC_SUFFIX + (path.suffix or ".duckdb"))
