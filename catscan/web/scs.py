"""Simple Cone Search 1.03 for the PSC and the XSC: ``/scs/psc?RA=&DEC=&SR=&VERB=``.

The cone runs as a CatScan query (the same path as the CLI), so it gets the HEALPix cover,
the row cap and the timeout. The VOTable marks the designation, RA and Dec with the UCD1
names SCS clients look for (ID_MAIN, POS_EQ_RA_MAIN, POS_EQ_DEC_MAIN); other columns carry
UCD1+. Errors are a VOTable with ``INFO name="Error"`` (and QUERY_STATUS ERROR), as the
standard asks; SR=0 returns the columns without rows (the service's metadata)."""

from __future__ import annotations

import math
import re

import pyarrow as pa
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..errors import CatscanError, shown
from ..runner import run_text
from ..safety import QueryTimeout
from ..tablefile import UCD_KEY
from .errors import VOTABLE, vo_error
from .guard import pool_for, team_or_released
from .stream import begin, stream
from .tabledata import results_votable
from .tap_schema import TableInfo
from .ucds import UCD1_SCS, ucd
from .vosi import tap_catalog
from .votable import declared

CATALOGS = ("psc", "xsc")
VERB_COLUMNS = {1: "designation, ra, dec", 2: "basic", 3: "*"}
MAX_SR_DEG = 10.0


def parameters(request: Request) -> dict[str, str]:
    """Query parameters by upper-case name (DALI: names are case-insensitive)."""
    return {k.upper(): v for k, v in request.query_params.items()}


def _number(params: dict[str, str], name: str, low: float, high: float) -> float:
    if name not in params:
        raise CatscanError(f"{name} is required (decimal degrees)")
    try:
        value = float(params[name])
    except ValueError:
        raise CatscanError(f"{name}={params[name]!r} is not a number of degrees") from None
    if not (math.isfinite(value) and low <= value <= high):
        raise CatscanError(f"{name}={params[name]} is outside [{low:g}, {high:g}]")
    return value


_WHOLE = re.compile(r"\s*([+-]?)0*(\d+)\s*")


def whole_number(text: str, name: str, most: int) -> int:
    """A whole-number parameter (MAXREC) from 0: a larger value, whatever its size, is read
    as ``most`` (DALI: a MAXREC above the service's limit gets the limit); text, fractions
    and negative numbers are refused."""
    match = _WHOLE.fullmatch(text)
    if not match:
        raise CatscanError(f"{name}={shown(text)!r} is not a whole number")
    sign, digits = match.groups()
    if sign == "-" and digits != "0":
        raise CatscanError(f"{name}={shown(text.strip())} is negative")
    return most if len(digits) > len(str(most)) else min(int(digits), most)


def cone_query(catalog: str, ra: float, dec: float, sr: float, verb: int) -> str:
    """The CatScan text of a cone (numbers already checked, so no user text in it)."""
    columns = VERB_COLUMNS[verb]
    if sr == 0:           # a cone all the same: the same FIELDs (dist too), no row read
        return f"select {columns} from {catalog} within 1deg of {ra!r} {dec!r} limit 0"
    return f"select {columns} from {catalog} within {sr!r}deg of {ra!r} {dec!r}"


def typed(table: pa.Table, catalog: str, info: TableInfo | None) -> pa.Table:
    """The answer's columns with what TAP_SCHEMA says of them (VOUnit units, fixed text
    widths: the same FIELDs whatever the rows, votable.py) and the UCDs SCS clients look for."""
    scs = {column: name for name, column in UCD1_SCS.items()}
    fields = []
    for field in table.schema:
        meta = dict(field.metadata or {})
        column = info.by_sql_name(field.name) if info is not None else None
        if column is not None:
            meta.update(declared(column))
        value = scs.get(field.name) or ucd(catalog, field.name)
        if value:
            meta[UCD_KEY] = value.encode()
        fields.append(field.with_metadata(meta or None))
    return table.cast(pa.schema(fields))


@team_or_released
async def cone_search(request: Request) -> Response:
    catalog = request.path_params["catalog"]
    if catalog not in CATALOGS:
        return vo_error(f"no cone search for {catalog!r}: use /scs/psc or /scs/xsc", 404)
    params = parameters(request)
    try:
        ra = _number(params, "RA", 0.0, 360.0) % 360.0
        dec = _number(params, "DEC", -90.0, 90.0)
        sr = _number(params, "SR", 0.0, MAX_SR_DEG)
        verb = int(params.get("VERB", "2"))
        if verb not in VERB_COLUMNS:
            raise CatscanError(f"VERB={verb} is not 1, 2 or 3")
    except (CatscanError, ValueError) as exc:
        return vo_error(str(exc) if isinstance(exc, CatscanError) else "VERB must be 1, 2 or 3")
    text = cone_query(catalog, ra, dec, sr, verb)
    limits = request.app.state.limits
    info = (await tap_catalog(request)).table(None, catalog)

    def work(ses):
        result = run_text(ses, text, limit=limits.default_rows, timeout=limits.timeout_s)
        table = typed(result.table, catalog, info)
        return begin(results_votable(table, result.provenance),
                     table.num_rows * table.num_columns)

    try:
        return await stream(request, await pool_for(request).run(work), VOTABLE)
    except QueryTimeout as exc:
        return vo_error(f"{exc}: ask for a smaller SR")
    except CatscanError as exc:
        return vo_error(str(exc))


ROUTES = [Route("/scs/{catalog}", cone_search, methods=["GET"], name="scs")]
