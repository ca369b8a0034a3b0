"""Typed errors. The CLI turns them into one-line messages and exit code 1 (no traceback)."""

from __future__ import annotations


class CatscanError(Exception):
    """A user-facing error: bad input, a missing database, a busy database..."""


class SchemaError(CatscanError):
    """The database is missing, not a catscan database, or of another schema version."""


class DatabaseBusy(CatscanError):
    """Another process holds the database file open for writing."""


class LoadError(CatscanError):
    """Bad input file content; names the file, the line and the column when known."""

    def __init__(self, path: str, message: str, line: int | None = None,
                 column: str | None = None, where: str = "line"):
        self.path, self.line, self.column, self.detail = path, line, column, message
        place = str(path)
        if line is not None:
            place += f":{line}" if where == "line" else f" ({where} {line})"
        if column is not None:
            place += f": column {column}"
        super().__init__(f"{place}: {message}")


def shown(text: str, most: int = 30) -> str:
    """A value for a message, cut when long: a message stays one short line whatever a
    query or a parameter holds."""
    return text if len(text) <= most else f"{text[:most]}... ({len(text)} characters)"
