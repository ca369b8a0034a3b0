"""catscan: the 2MASS survey's data-access system, re-created on DuckDB.

``catscan.connect()`` opens the survey database (read-only by default) with catscan's SQL
functions registered.
"""

__version__ = "0.1.0"

from .db import connect  # noqa: E402

__all__ = ["connect", "__version__"]
