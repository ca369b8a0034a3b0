"""Text -> IR: the lark LALR grammar (catscan.lark, package data) and a Transformer.

Syntax errors become QueryError with the line, the column, a caret and what the grammar
would have accepted there, in words (``expected a number, a position or an angle``).
"""

from __future__ import annotations

import math
from functools import lru_cache
from pathlib import Path

from lark import Lark, Token, Transformer, Tree, v_args
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, VisitError

from . import ir
from .errors import QueryError, shown

GRAMMAR = Path(__file__).with_name("catscan.lark")
MAX_DEPTH = 100           # levels of the parse tree (see _check_depth)

# what a terminal means to a person, for "expected ..." messages
TERMINAL_WORDS = {
    "NAME": "a name", "NUMBER": "a number", "SIGNED_NUMBER": "a number", "INT": "a whole number",
    "STRING": "a 'quoted' text", "PARAM": "a $parameter", "ANGLE": "an angle such as 2arcsec",
    "SEXAGESIMAL": "a coordinate such as 00:42:44.3", "DATE": "a date such as 1998-04-16",
    "HEMIS": "n, s, north or south", "MATCH_MODE": "nearest or all",
    "FRAME": "icrs or galactic", "COMPARE": "a comparison", "ADD": "+ or -", "MUL": "* or /",
    "DIRECTION": "asc or desc", "STAR": "*", "BY": "x", "NOT": "not", "COMMA": ",",
    "LPAR": "(", "RPAR": ")", "MINUS": "-", "PLUS": "+", "$END": "the end of the query",
}


@lru_cache(maxsize=1)
def grammar() -> Lark:
    return Lark.open(str(GRAMMAR), parser="lalr", propagate_positions=True, cache=True,
                     maybe_placeholders=False)


def parse(text: str) -> ir.Query:
    """The IR of a query, or a QueryError pointing at the problem."""
    try:
        tree = grammar().parse(text)
    except UnexpectedInput as exc:
        raise _syntax_error(exc, text) from None
    _check_depth(tree, text)
    try:
        return ToIR().transform(tree)
    except VisitError as exc:
        if isinstance(exc.orig_exc, QueryError):
            raise exc.orig_exc.located(text) from None
        raise


def _check_depth(tree: Tree, text: str) -> None:
    """Refuse a parse tree deeper than MAX_DEPTH, at the node that passes it. The LALR parser
    builds any depth without recursion, but the transformer, the compiler and sqlglot
    recurse once or more per level: ``abs(abs(...))``, ``- - x``, ``not not x`` and every
    operator of a chain (``a + b + c``, ``a and b and c``) are one level each; parentheses
    alone are none."""
    stack = [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            line, column = _pos(node.meta)
            raise QueryError(f"the query nests more than {MAX_DEPTH} levels deep here",
                             text=text, line=line or 1, column=column or 1,
                             hint="each function call, sign, not and operator of a chain is "
                             "a level: write a long list of values as x in (a, b, c)")
        stack.extend((child, depth + 1) for child in node.children if isinstance(child, Tree))


def _expected(names) -> str:
    words = sorted({TERMINAL_WORDS.get(n, n.strip('"').lower()) for n in names
                    if not n.startswith("__")})
    if not words:
        return ""
    if len(words) > 8:
        words = words[:8] + ["..."]
    return "expected " + ", ".join(words)


def _syntax_error(exc: UnexpectedInput, text: str) -> QueryError:
    line, column = max(exc.line, 1), max(exc.column, 1)
    if isinstance(exc, UnexpectedCharacters):
        found = text[exc.pos_in_stream] if exc.pos_in_stream < len(text) else "end"
        return QueryError(f"unexpected character {found!r}", text=text, line=line,
                          column=column, hint=_expected(exc.allowed) or None)
    if isinstance(exc, UnexpectedEOF):
        lines = text.splitlines() or [""]
        return QueryError("the query ends too early", text=text, line=len(lines),
                          column=len(lines[-1]) + 1, hint=_expected(exc.expected) or None)
    token = exc.token
    reason = "the query ends too early" if token.type == "$END" else \
        f"unexpected {str(token)!r}"
    return QueryError(reason, text=text, line=line, column=column,
                      hint=_expected(exc.expected) or None)


def _hemis(token: Token) -> str:
    """``n`` or ``s`` from n, s, north or south (nights are written ``1999-05-02s``)."""
    return str(token).lower()[0]


def _pos(meta_or_token) -> tuple[int, int]:
    line = getattr(meta_or_token, "line", 0)
    column = getattr(meta_or_token, "column", 0)
    return (line or 0, column or 0)


def _value(token: Token) -> str | ir.Param:
    return ir.Param(str(token)[1:], pos=_pos(token)) if token.type == "PARAM" else str(token)


@v_args(meta=True)
class ToIR(Transformer):
    """Parse tree -> ir.Query. One method per grammar alias."""

    # -- query
    def start(self, meta, items):
        select, (source, source_pos), *rest = items
        regions = tuple(x for x in rest if not isinstance(x, tuple))
        clauses = dict(x for x in rest if isinstance(x, tuple))
        return ir.Query(source=source, select=select, regions=regions,
                        where=clauses.get("where"), group_by=clauses.get("group", ()),
                        order_by=clauses.get("order", ()), limit=clauses.get("limit"),
                        source_pos=source_pos, pos=_pos(meta))

    def select_clause(self, meta, items):
        return items[0]

    def select_star(self, meta, items):
        return None

    def select_items(self, meta, items):
        return tuple(items)

    def select_item(self, meta, items):
        alias = str(items[1]) if len(items) > 1 else None
        return ir.SelectItem(items[0], alias, pos=_pos(meta))

    def from_clause(self, meta, items):
        return str(items[0]).lower(), _pos(items[0])

    def where_clause(self, meta, items):
        return ("where", items[0])

    def group_clause(self, meta, items):
        return ("group", tuple(items))

    def order_clause(self, meta, items):
        return ("order", tuple(items))

    def order_item(self, meta, items):
        desc = len(items) > 1 and str(items[1]).lower() == "desc"
        return ir.OrderItem(items[0], desc, pos=_pos(meta))

    def limit_clause(self, meta, items):
        return ("limit", items[0])

    # -- regions
    def cone(self, meta, items):
        return ir.Cone(items[0], items[1], pos=_pos(meta))

    def box(self, meta, items):
        centre, width, _by, height = items
        return ir.Box(centre, width, height, pos=_pos(meta))

    def polygon(self, meta, items):
        return ir.Polygon(tuple(items), pos=_pos(meta))

    def in_tile(self, meta, items):
        return ir.InTile(items[0], pos=_pos(meta))

    def in_scan(self, meta, items):
        return ir.InScan(items[0], _hemis(items[1]), items[2], pos=_pos(meta))

    def on_night(self, meta, items):
        return ir.OnNight(items[0], _hemis(items[1]), pos=_pos(meta))

    def observed(self, meta, items):
        return ir.ObservedBetween(items[0], items[1], pos=_pos(meta))

    def hemisphere(self, meta, items):
        return ir.Hemisphere(_hemis(items[0]), pos=_pos(meta))

    def match(self, meta, items):
        path = _value(items[0]) if items[0].type == "PARAM" else _unquote(items[0])
        mode = str(items[2]).lower() if len(items) > 2 else "nearest"
        return ir.Match(path, items[1], mode, pos=_pos(meta))

    def coordinates(self, meta, items):
        frame = "icrs"
        if isinstance(items[0], Token) and items[0].type == "FRAME":
            frame, items = str(items[0]).lower(), items[1:]
        return ir.Position(items[0], items[1], frame, pos=_pos(meta))

    def position_text(self, meta, items):
        return ir.Position(_unquote(items[0]), None, pos=_pos(meta))

    def coord_number(self, meta, items):
        return str(items[0])

    coord_text = coord_number

    def coord_param(self, meta, items):
        return _value(items[0])

    def angle_text(self, meta, items):
        return ir.Angle(str(items[0]), pos=_pos(meta))

    def angle_param(self, meta, items):
        return ir.Angle(_value(items[0]), pos=_pos(meta))

    def date_text(self, meta, items):
        token = items[0]
        text = _unquote(token) if token.type == "STRING" else str(token)
        return ir.Date(text, pos=_pos(meta))

    def date_param(self, meta, items):
        return ir.Date(_value(items[0]), pos=_pos(meta))

    def integer_value(self, meta, items):
        text = str(items[0])
        if len(text) > len(str(ir.MAX_INTEGER)) or int(text) > ir.MAX_INTEGER:
            line, column = _pos(meta)
            raise QueryError(f"the whole number {shown(text)} is too large (at most "
                             f"{ir.MAX_INTEGER})", line=line, column=column)
        return ir.Integer(int(text), pos=_pos(meta))

    def integer_param(self, meta, items):
        return ir.Integer(_value(items[0]), pos=_pos(meta))

    # -- expressions
    def or_(self, meta, items):
        return _chain("or", items, meta)

    def and_(self, meta, items):
        return _chain("and", items, meta)

    def not_(self, meta, items):
        return ir.Unary("not", items[0], pos=_pos(meta))

    def compare(self, meta, items):
        op = "!=" if str(items[1]) == "<>" else str(items[1])
        return ir.Binary(op, items[0], items[2], pos=_pos(meta))

    def between(self, meta, items):
        negated = isinstance(items[1], Token) and items[1].type == "NOT"
        operand, low, high = (items[0], items[2], items[3]) if negated else items
        return ir.Between(operand, low, high, negated, pos=_pos(meta))

    def in_list(self, meta, items):
        negated = isinstance(items[1], Token) and items[1].type == "NOT"
        rest = items[2:] if negated else items[1:]
        return ir.InList(items[0], tuple(rest), negated, pos=_pos(meta))

    def like(self, meta, items):
        negated = isinstance(items[1], Token) and items[1].type == "NOT"
        return ir.Like(items[0], items[-1], negated, pos=_pos(meta))

    def is_null(self, meta, items):
        return ir.IsNull(items[0], len(items) > 1, pos=_pos(meta))

    def arithmetic(self, meta, items):
        out = items[0]
        for op, right in zip(items[1::2], items[2::2], strict=True):
            out = ir.Binary(str(op), out, right, pos=_pos(meta))
        return out

    def negate(self, meta, items):
        return ir.Unary("-", items[0], pos=_pos(meta))

    def number(self, meta, items):
        text = str(items[0])
        value = ir.number_value(text)
        if not math.isfinite(value):
            line, column = _pos(meta)
            raise QueryError(f"the number {shown(text)} is too large (a DOUBLE holds up to "
                             "about 1.8e308)", line=line, column=column)
        return ir.Literal(value, pos=_pos(meta))

    def string(self, meta, items):
        return ir.Literal(_unquote(items[0]), pos=_pos(meta))

    def param(self, meta, items):
        return _value(items[0])

    def true(self, meta, items):
        return ir.Literal(True, pos=_pos(meta))

    def false(self, meta, items):
        return ir.Literal(False, pos=_pos(meta))

    def null(self, meta, items):
        return ir.Literal(None, pos=_pos(meta))

    def call_star(self, meta, items):
        return ir.Call(str(items[0]).lower(), (), star=True, pos=_pos(meta))

    def call(self, meta, items):
        return ir.Call(str(items[0]).lower(), tuple(items[1:]), pos=_pos(meta))

    def column(self, meta, items):
        return ir.Column(str(items[0]).lower(), pos=_pos(meta))


def _chain(op: str, items, meta):
    out = items[0]
    for right in items[1:]:
        out = ir.Binary(op, out, right, pos=_pos(meta))
    return out


def _unquote(token) -> str:
    return str(token)[1:-1].replace("''", "'")
