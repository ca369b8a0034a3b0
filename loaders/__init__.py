"""Loaders: read release files, Gator tables and VOTables, check them, load atomically."""

from .load import LoadResult, load_file, load_files
from .optimize import is_sorted, optimize
from .tables import RULES

__all__ = ["LoadResult", "load_file", "load_files", "optimize", "is_sorted", "RULES"]
