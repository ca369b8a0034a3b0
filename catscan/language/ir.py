"""The typed intermediate form of a CatScan query: what the parser produces and the compiler
reads. Every node carries the (line, column) it came from, for error messages."""

from __future__ import annotations

from dataclasses import dataclass, field

Pos = tuple[int, int]
MAX_INTEGER = 2**63 - 1              # DuckDB's BIGINT: a LIMIT, a tile or a scan number


def number_value(text: str) -> int | float:
    """A number as the query writes it: a whole number of up to 18 digits as int (BIGINT in
    DuckDB), else a float (DOUBLE). ValueError for text that is not a number; 1e400 or 400
    digits give inf, which the caller refuses (``math.isfinite``)."""
    digits = text.strip().lstrip("+-")
    if digits.isdigit() and len(digits) <= 18:
        return int(text)
    return float(text)


@dataclass(frozen=True)
class Node:
    pos: Pos = field(default=(0, 0), compare=False, kw_only=True)


# ---- values that may be parameters -----------------------------------------------------

@dataclass(frozen=True)
class Param(Node):
    """``$name``: replaced by the parameter's value, converted to the kind the slot needs."""

    name: str


@dataclass(frozen=True)
class Position(Node):
    """Two coordinates (numbers, sexagesimal text or parameters) or one quoted string."""

    lon: str | Param
    lat: str | Param | None = None
    frame: str = "icrs"


@dataclass(frozen=True)
class Angle(Node):
    text: str | Param


@dataclass(frozen=True)
class Date(Node):
    text: str | Param


@dataclass(frozen=True)
class Integer(Node):
    value: int | Param


# ---- expressions ------------------------------------------------------------------------

@dataclass(frozen=True)
class Column(Node):
    name: str


@dataclass(frozen=True)
class Literal(Node):
    value: float | int | str | bool | None


@dataclass(frozen=True)
class Unary(Node):
    op: str                       # "-" or "not"
    operand: Expr


@dataclass(frozen=True)
class Binary(Node):
    op: str                       # + - * / % || and or = != < <= > >=
    left: Expr
    right: Expr


@dataclass(frozen=True)
class Between(Node):
    operand: Expr
    low: Expr
    high: Expr
    negated: bool = False


@dataclass(frozen=True)
class InList(Node):
    operand: Expr
    items: tuple[Expr, ...]
    negated: bool = False


@dataclass(frozen=True)
class Like(Node):
    operand: Expr
    pattern: Expr
    negated: bool = False


@dataclass(frozen=True)
class IsNull(Node):
    operand: Expr
    negated: bool = False


@dataclass(frozen=True)
class Call(Node):
    name: str
    args: tuple[Expr, ...]
    star: bool = False            # count(*)


Expr = Column | Literal | Param | Unary | Binary | Between | InList | Like | IsNull | Call


# ---- regions and survey clauses -----------------------------------------------------------

@dataclass(frozen=True)
class Cone(Node):
    radius: Angle
    centre: Position


@dataclass(frozen=True)
class Box(Node):
    centre: Position
    width: Angle
    height: Angle


@dataclass(frozen=True)
class Polygon(Node):
    vertices: tuple[Position, ...]


@dataclass(frozen=True)
class InTile(Node):
    tile: Integer


@dataclass(frozen=True)
class InScan(Node):
    date: Date
    hemis: str
    scan: Integer


@dataclass(frozen=True)
class OnNight(Node):
    date: Date
    hemis: str


@dataclass(frozen=True)
class ObservedBetween(Node):
    start: Date
    end: Date


@dataclass(frozen=True)
class Hemisphere(Node):
    hemis: str                    # "n" or "s"


@dataclass(frozen=True)
class Match(Node):
    path: str | Param
    radius: Angle
    mode: str = "nearest"


Region = Cone | Box | Polygon | InTile | InScan | OnNight | ObservedBetween | Hemisphere | Match


# ---- the query ----------------------------------------------------------------------------

@dataclass(frozen=True)
class SelectItem(Node):
    expr: Expr
    alias: str | None = None


@dataclass(frozen=True)
class OrderItem(Node):
    expr: Expr
    descending: bool = False


@dataclass(frozen=True)
class Query(Node):
    source: str
    select: tuple[SelectItem, ...] | None          # None: select *
    regions: tuple[Region, ...] = ()
    where: Expr | None = None
    group_by: tuple[Expr, ...] = ()
    order_by: tuple[OrderItem, ...] = ()
    limit: Integer | None = None
    source_pos: tuple[int, int] = (0, 0)
