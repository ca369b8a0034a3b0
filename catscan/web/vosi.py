"""VOSI 1.1 for the TAP service: ``/tap/capabilities`` (TAPRegExt: ADQL 2.0 and 2.1 with the
features each defines, output formats, limits, inline and URL uploads, the DALI examples;
the sync and async endpoints of TAP_ENDPOINTS), ``/tap/availability`` and
``/tap/tables`` (VODataService tableset; ``?detail=min`` for names only, ``/tap/tables/NAME``
for one table). Capabilities and availability must be anonymous (TAP 1.1); the tables
describe the schema, not survey data, and are public too."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from xml.sax.saxutils import escape, quoteattr

from starlette.requests import Request
from starlette.responses import Response

from .limits import Limits
from .tap_schema import TableInfo, TapCatalog

XML = "text/xml; charset=utf-8"
REGEXT = "ivo://ivoa.net/std/TAPRegExt"
# (media type, short forms (aliases), TAPRegExt id) of each RESPONSEFORMAT; tap.FORMATS
# accepts every one of them
OUTPUT_FORMATS = (
    ("application/x-votable+xml", ("votable", "votable/td"), f"{REGEXT}#output-votable-td"),
    ("text/csv;header=present", ("csv",), None),
    ("text/tab-separated-values", ("tsv",), None),
    ("application/fits", ("fits",), None),
    ("application/vnd.apache.parquet", ("parquet",), None),
    ("application/json", ("json",), None),
)
# ADQL 2.0's optional features (geometry), then those ADQL 2.1 defines (its section 4):
# declared with the language version that defines them
GEOMETRY = ("POINT", "CIRCLE", "BOX", "POLYGON", "CONTAINS", "DISTANCE", "COORD1", "COORD2")
FEATURES_20 = {f"{REGEXT}#features-adqlgeo": GEOMETRY}
FEATURES_21 = {
    f"{REGEXT}#features-adql-string": ("LOWER", "UPPER", "ILIKE"),
    f"{REGEXT}#features-adql-offset": ("OFFSET",),
    f"{REGEXT}#features-adql-type": ("CAST",),
    f"{REGEXT}#features-adql-sets": ("UNION", "EXCEPT", "INTERSECT"),
    f"{REGEXT}#features-adql-common-table": ("WITH",),
}   # COALESCE works; features-adql-conditional (ADQL 2.1 REC) is unknown to taplint 3.4
UPLOAD_METHODS = ("upload-inline", "upload-http", "upload-https")
# the endpoints of the TAP service besides its base: (standardID, path)
TAP_ENDPOINTS = [("ivo://ivoa.net/std/TAP#sync-1.1", "sync"),
                 ("ivo://ivoa.net/std/TAP#async-1.1", "async")]
STARTED = datetime.now(UTC).replace(microsecond=0)
_LOCK = threading.Lock()


async def tap_catalog(request: Request) -> TapCatalog:
    """The TAP catalog of the server's database, read once per server (a query
    connection's database cannot change while it is open)."""
    return await catalog_of(request.app.state)


async def catalog_of(state) -> TapCatalog:
    """:func:`tap_catalog` for the server's ``app.state`` (async jobs have no request)."""
    catalog = getattr(state, "tap_catalog", None)
    if catalog is None:
        def build(ses) -> TapCatalog:
            with _LOCK:
                if getattr(state, "tap_catalog", None) is None:
                    state.tap_catalog = TapCatalog.from_connection(ses.con)
                return state.tap_catalog

        catalog = await state.pool.run(build)
    return catalog


def _base(request: Request) -> str:
    return str(request.url_for("tap_root")).rstrip("/")


# ---- capabilities -------------------------------------------------------------------------

def _features(features: dict[str, tuple[str, ...]]) -> str:
    return "".join(
        f'\n      <languageFeatures type="{kind}">'
        + "".join(f"<feature><form>{form}</form></feature>" for form in forms)
        + "</languageFeatures>" for kind, forms in features.items())


def capabilities_xml(base: str, limits: Limits) -> str:
    basic = '<securityMethod standardID="ivo://ivoa.net/sso#BasicAA"/>'
    formats = "".join(
        f"\n    <outputFormat{f' ivo-id={quoteattr(ivo)}' if ivo else ''}>"
        f"<mime>{escape(mime)}</mime>" + "".join(f"<alias>{a}</alias>" for a in aliases)
        + "</outputFormat>" for mime, aliases, ivo in OUTPUT_FORMATS)
    uploads = "".join(f'\n    <uploadMethod ivo-id="{REGEXT}#{method}"/>'
                      for method in UPLOAD_METHODS)
    seconds = max(1, round(limits.timeout_s))

    def vosi(kind: str, path: str) -> str:
        return (f'\n  <capability standardID="ivo://ivoa.net/std/VOSI#{kind}">\n'
                f'    <interface xsi:type="vs:ParamHTTP" version="1.1">'
                f'<accessURL use="full">{escape(base)}/{path}</accessURL></interface>\n'
                f'  </capability>')

    endpoints = "".join(
        f'\n  <capability standardID="{standard}">\n'
        f'    <interface xsi:type="vs:ParamHTTP" role="std" version="1.1">\n'
        f'      <accessURL use="base">{escape(base)}/{path}</accessURL>\n'
        f'      {basic}\n    </interface>\n  </capability>' for standard, path in TAP_ENDPOINTS)
    language = ("ADQL 2.1 with TOP; CONTAINS(POINT, CIRCLE|BOX|POLYGON) and DISTANCE use the "
                "HEALPix index of psc, xsc, scans, tiles and atlas_images (coordinate system "
                "ICRS; INTERSECTS, REGION, AREA, CENTROID not supported); COALESCE and CASE "
                "work too")
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<vosi:capabilities xmlns:vosi="http://www.ivoa.net/xml/VOSICapabilities/v1.0"
    xmlns:vs="http://www.ivoa.net/xml/VODataService/v1.1"
    xmlns:vr="http://www.ivoa.net/xml/VOResource/v1.0"
    xmlns:tr="http://www.ivoa.net/xml/TAPRegExt/v1.0"
    xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
  <capability standardID="ivo://ivoa.net/std/TAP" xsi:type="tr:TableAccess">
    <interface xsi:type="vs:ParamHTTP" role="std" version="1.1">
      <accessURL use="base">{escape(base)}</accessURL>
      {basic}
    </interface>
    <language>
      <name>ADQL</name>
      <version ivo-id="ivo://ivoa.net/std/ADQL#v2.0">2.0</version>
      <description>ADQL 2.0 (its geometry as below)</description>{_features(FEATURES_20)}
    </language>
    <language>
      <name>ADQL</name>
      <version ivo-id="ivo://ivoa.net/std/ADQL#v2.1">2.1</version>
      <description>{escape(language)}</description>{_features(FEATURES_20 | FEATURES_21)}
    </language>{formats}{uploads}
    <executionDuration><default>{seconds}</default><hard>{seconds}</hard></executionDuration>
    <outputLimit><default unit="row">{limits.default_rows}</default>
      <hard unit="row">{limits.max_rows}</hard></outputLimit>
    <uploadLimit><hard unit="byte">{limits.max_upload_bytes}</hard></uploadLimit>
  </capability>{endpoints}{vosi("capabilities", "capabilities")}{
    vosi("availability", "availability")}{vosi("tables", "tables")}
  <capability standardID="ivo://ivoa.net/std/DALI#examples">
    <interface xsi:type="vr:WebBrowser"><accessURL use="full">{escape(base)}/examples</accessURL>
    </interface>
  </capability>
</vosi:capabilities>
"""


async def capabilities(request: Request) -> Response:
    return Response(capabilities_xml(_base(request), request.app.state.limits),
                    media_type=XML)


# ---- availability --------------------------------------------------------------------------

def availability_xml(available: bool, note: str) -> str:
    since = STARTED.isoformat().replace("+00:00", "Z")
    return ('<?xml version="1.0" encoding="UTF-8"?>\n'
            '<vosi:availability xmlns:vosi="http://www.ivoa.net/xml/VOSIAvailability/v1.0">\n'
            f'  <vosi:available>{"true" if available else "false"}</vosi:available>\n'
            f'  <vosi:upSince>{since}</vosi:upSince>\n'
            f'  <vosi:note>{escape(note)}</vosi:note>\n'
            '</vosi:availability>\n')


async def availability(request: Request) -> Response:
    pool = getattr(request.app.state, "pool", None)
    up = pool is not None
    note = (f"accepting queries: {request.app.state.workers} at a time, "
            f"{request.app.state.timeout:g} s each at most") if up else "starting"
    return Response(availability_xml(up, note), media_type=XML)


# ---- tables --------------------------------------------------------------------------------

def _text(tag: str, value) -> str:
    return f"<{tag}>{escape(str(value))}</{tag}>" if value not in (None, "") else ""


def table_xml(table: TableInfo, catalog: TapCatalog, *, columns: bool = True,
              root: bool = False) -> str:
    """A VODataService table element (the VOSI 1.1 document root when ``root``)."""
    parts = [_text("name", table.name), _text("description", table.description)]
    if columns:
        for column in table.columns:
            datatype, arraysize, xtype = column.votable
            size = f" arraysize={quoteattr(arraysize)}" if arraysize else ""
            extended = f" extendedType={quoteattr(xtype)}" if xtype else ""
            flags = "".join(f"<flag>{flag}</flag>" for flag, on in (
                ("indexed", column.indexed), ("principal", column.principal),
                ("std", column.std)) if on)
            parts.append(
                "<column>" + _text("name", column.adql_name)
                + _text("description", column.description) + _text("unit", column.unit)
                + _text("ucd", column.ucd)
                + f'<dataType xsi:type="vs:VOTableType"{size}{extended}>{datatype}</dataType>'
                + flags + "</column>")
        for key in catalog.keys_from(table):
            pairs = "".join(f"<fkColumn>{_text('fromColumn', a)}{_text('targetColumn', b)}"
                            f"</fkColumn>" for a, b in key.columns)
            parts.append(f"<foreignKey>{_text('targetTable', key.target_table)}{pairs}"
                         f"{_text('description', key.description)}</foreignKey>")
    body = "\n    ".join(p for p in parts if p)
    if root:
        return ('<?xml version="1.0" encoding="UTF-8"?>\n'
                f'<vosi:table {_NAMESPACES} type="{table.kind}">\n    {body}\n</vosi:table>\n')
    return f'  <table type="{table.kind}">\n    {body}\n  </table>'


_NAMESPACES = ('xmlns:vosi="http://www.ivoa.net/xml/VOSITables/v1.0" '
               'xmlns:vs="http://www.ivoa.net/xml/VODataService/v1.1" '
               'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"')


def tables_xml(catalog: TapCatalog, *, columns: bool = True) -> str:
    from .tap_schema import SCHEMA_DESCRIPTIONS

    schemas = []
    for schema in catalog.schemas():
        tables = "\n".join(table_xml(t, catalog, columns=columns) for t in catalog.tables
                           if t.schema == schema)
        schemas.append(f"<schema>{_text('name', schema)}"
                       f"{_text('description', SCHEMA_DESCRIPTIONS.get(schema))}\n"
                       f"{tables}\n</schema>")
    return ('<?xml version="1.0" encoding="UTF-8"?>\n'
            f'<vosi:tableset {_NAMESPACES}>\n' + "\n".join(schemas) + "\n</vosi:tableset>\n")


async def tables(request: Request) -> Response:
    detail = request.query_params.get("detail", "max").lower()
    catalog = await tap_catalog(request)
    return Response(tables_xml(catalog, columns=detail != "min"), media_type=XML)


async def table(request: Request) -> Response:
    name = request.path_params["name"]
    catalog = await tap_catalog(request)
    schema, _, short = name.rpartition(".")
    found = catalog.table(schema or None, short)
    if found is None:
        return Response(f"no table {name} in this service\n", status_code=404,
                        media_type="text/plain")
    return Response(table_xml(found, catalog, root=True), media_type=XML)
