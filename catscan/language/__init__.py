"""The CatScan query language: text -> lark tree -> typed IR -> sqlglot -> DuckDB SQL."""

from __future__ import annotations

from .catalog import Catalog
from .compiler import Compiled, compile_query
from .errors import QueryError
from .parser import parse


def compile_text(text: str, catalog: Catalog, params: dict[str, str] | None = None,
                 con=None) -> Compiled:
    """Parse and compile a query; errors carry the query text for the caret. ``con``: the
    database it will run on, for the survey words' sky (see :func:`compile_query`)."""
    query = parse(text)
    try:
        return compile_query(query, catalog, params, con)
    except QueryError as exc:
        raise exc.located(text) from None
    except RecursionError:       # the last resort: parse() bounds the depth (MAX_DEPTH)
        raise QueryError("the query nests too deeply to compile", text=text, line=1,
                         column=1) from None


__all__ = ["Catalog", "Compiled", "QueryError", "compile_query", "compile_text", "parse"]
