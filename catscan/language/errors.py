"""Query errors that point at the text: line, column, a caret, what was expected, a hint."""

from __future__ import annotations

from ..errors import CatscanError, shown

__all__ = ["QueryError", "shown"]


class QueryError(CatscanError):
    """A CatScan query that cannot be compiled or run, with its position in the text."""

    def __init__(self, message: str, *, text: str | None = None, line: int = 0,
                 column: int = 0, hint: str | None = None) -> None:
        self.reason, self.line, self.column, self.hint = message, line, column, hint
        self.text = text
        super().__init__(self.render())

    def render(self) -> str:
        where = f"line {self.line}, column {self.column}: " if self.line else ""
        out = where + self.reason
        if self.text is not None and self.line:
            lines = self.text.splitlines() or [""]
            if 0 < self.line <= len(lines):
                source = lines[self.line - 1]
                out += f"\n  {source}\n  {' ' * (self.column - 1)}^"
        if self.hint:
            out += f"\n{self.hint}"
        return out

    def located(self, text: str) -> QueryError:
        """The same error with the query text, so the message shows the caret."""
        return QueryError(self.reason, text=text, line=self.line, column=self.column,
                          hint=self.hint)
