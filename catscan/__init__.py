"""catscan: the 2MASS survey's data-access system, re-created on DuckDB.

``catscan.connect()`` opens the survey database (read-only by default) with catscan's SQL
functions registered; ``catscan.query(text, **params)`` runs a CatScan query and returns an
astropy Table.
"""

__version__ = "0.1.0"

from .db import connect  # noqa: E402


def query(text: str, db=None, **options):
    """Run a CatScan query (docs/language.md); see :func:`catscan.runner.query`."""
    from .runner import query as run

    return run(text, db, **options)


__all__ = ["connect", "query", "__version__"]
