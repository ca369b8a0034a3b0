"""Loaders: read release files, Gator tables and VOTables, check them, load atomically.

The names below are imported on first use (PEP 562), so that importing one light submodule
(``catscan.loaders.tables``, ``.compact``, ``.schema_info``) does not pull in the load path
and its spatial dependencies (cdshealpix, astropy): a command's start-up (docs/performance.md).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_LAZY = {"LoadResult": ".load", "load_file": ".load", "load_files": ".load",
         "optimize": ".optimize", "is_sorted": ".optimize", "RULES": ".tables"}

__all__ = ["LoadResult", "load_file", "load_files", "optimize", "is_sorted", "RULES"]

if TYPE_CHECKING:
    from .load import LoadResult, load_file, load_files
    from .optimize import is_sorted, optimize
    from .tables import RULES


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(_LAZY[name], __name__), name)
    globals()[name] = value
    return value
