"""The CatScan page's form builder: common constraints (position and radius, magnitude and
colour ranges, quality, night and scan) written as CatScan text for the query box. Values
are checked here and written as literals, so the text parses; the compiler checks again."""

from __future__ import annotations

from ..errors import CatscanError
from ..operations.status import parse_night
from ..positions import PositionError, parse_angle, parse_position

SOURCES = {"psc": ("j_m", "k_m"), "xsc": ("j_m_k20fe", "k_m_k20fe")}


def _number(fields: dict, name: str) -> float | None:
    value = (fields.get(name) or "").strip()
    if not value:
        return None
    try:
        return float(value)
    except ValueError:
        raise CatscanError(f"{name}: {value!r} is not a number") from None


def build_query(fields: dict[str, str]) -> str:
    """CatScan text from the builder's fields (empty fields are left out)."""
    source = fields.get("source", "psc")
    if source not in SOURCES:
        raise CatscanError(f"unknown source {source!r}")
    j, k = SOURCES[source]
    lines = [f"select basic from {source}"]
    pos, radius = (fields.get("pos") or "").strip(), (fields.get("radius") or "").strip()
    if pos:
        try:
            ra, dec = parse_position(pos)
            size = parse_angle(radius or "2arcmin")
        except PositionError as exc:
            raise CatscanError(str(exc)) from None
        lines.append(f"within {size * 3600:g}\" of {ra:.6f} {dec:+.6f}")
    night = (fields.get("night") or "").strip()
    scan = _number(fields, "scan")
    if night:
        date, hemis = parse_night(night)         # 1998-04-16n, 980416 s, 1998-04-16 north
        if hemis is None:
            raise CatscanError(f"night: write 1998-04-16n (n, s, north or south), not {night!r}")
        lines.append(f"in scan {date} {hemis} {int(scan)}" if scan is not None
                     else f"on night {date} {hemis}")
    conditions = []
    for column, low, high in ((j, "jmin", "jmax"), (f"{j} - {k}", "jkmin", "jkmax")):
        lo, hi = _number(fields, low), _number(fields, high)
        if lo is not None and hi is not None:
            conditions.append(f"{column} between {lo!r} and {hi!r}")
        elif lo is not None:
            conditions.append(f"{column} >= {lo!r}")
        elif hi is not None:
            conditions.append(f"{column} <= {hi!r}")
    grade = (fields.get("quality") or "").strip().upper()
    if grade:
        if source != "psc" or grade not in "ABCD" or len(grade) != 1:
            raise CatscanError("quality grades (A-D) apply to psc")
        conditions.append(f"quality(j, h, k) >= '{grade}'")
    if fields.get("clean"):
        conditions.append("clean")
    if conditions:
        lines.append("where " + " and ".join(conditions))
    lines.append(f"order by {j}")
    return "\n".join(lines)
