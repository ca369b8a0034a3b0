"""``/tap/examples``: the TAP service's DALI examples document (XHTML with RDFa, vocabulary
``http://www.ivoa.net/rdf/examples#``, DALI 1.1): a few real queries that TOPCAT lists in its
examples menu and ``taplint`` runs: a cone, a cross-match of an upload, the tiles of a field
with their scans, a night's scans. The cross-match uploads ``/tap/examples/targets.xml``, a
small VOTable of positions near M31, by URL (TAP ``UPLOAD=targets,URL``). Public, like the
rest of the service's metadata; ``tests/test_web_examples.py`` runs each example."""

from __future__ import annotations

import functools
import io
from dataclasses import dataclass
from xml.sax.saxutils import escape, quoteattr

from astropy.table import Table
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .scs import VOTABLE

VOCABULARY = "http://www.ivoa.net/rdf/examples#"        # DALI 1.1
TARGETS = "targets.xml"
# (ra, dec) of the upload example's positions (deg): the centre of M31 and points around it
TARGET_POSITIONS = ((10.68479, 41.26906), (10.70, 41.28), (10.66, 41.25), (10.72, 41.24),
                    (10.64, 41.29))


@dataclass(frozen=True)
class Example:
    id: str
    name: str
    description: str
    query: str
    tables: tuple[str, ...]
    upload: bool = False            # needs UPLOAD=targets,<base>/examples/targets.xml


EXAMPLES = (
    Example("cone", "Sources within 2 arcmin of M31",
            "A cone on the Point Source Catalog: CONTAINS with a CIRCLE uses the HEALPix "
            "index, so only the row groups near the centre are read.",
            "SELECT designation, ra, dec, j_m, h_m, k_m, ph_qual\n"
            "FROM psc\n"
            "WHERE CONTAINS(POINT('ICRS', ra, dec),\n"
            "               CIRCLE('ICRS', 10.68479, 41.26906, 2.0 / 60)) = 1\n"
            "ORDER BY j_m", ("psc",)),
    Example("crossmatch", "Cross-match an uploaded list with the PSC",
            "The nearest sources within 10 arcsec of each uploaded position (every target "
            "kept, unmatched ones with nulls). Upload a VOTable with ra and dec columns as "
            "TAP_UPLOAD.targets; this example uploads five positions near M31 by URL.",
            "SELECT u.ra AS target_ra, u.dec AS target_dec, p.designation, p.j_m, p.k_m,\n"
            "       DISTANCE(POINT('ICRS', u.ra, u.dec), POINT('ICRS', p.ra, p.dec)) * 3600\n"
            "         AS dist\n"
            "FROM TAP_UPLOAD.targets AS u\n"
            "LEFT JOIN psc AS p\n"
            "  ON CONTAINS(POINT('ICRS', p.ra, p.dec),\n"
            "              CIRCLE('ICRS', u.ra, u.dec, 10.0 / 3600)) = 1\n"
            "ORDER BY target_ra, dist", ("psc",), upload=True),
    Example("tile", "The tiles of a field and their scans",
            "Survey tiles (6 degrees long in Dec) whose centres lie within 3 degrees of M31, "
            "each with the scans that observed it, their quality score and whether they "
            "were loaded.",
            "SELECT t.tile AS tile, t.status AS tile_status, t.quality, s.xdate AS xdate,\n"
            "       s.hemis, s.scan AS scan, s.status AS scan_status, s.qa_score, s.loaded\n"
            "FROM tiles AS t\n"
            "JOIN scans AS s ON s.tile = t.tile\n"
            "WHERE CONTAINS(POINT('ICRS', t.ra, t.dec),\n"
            "               CIRCLE('ICRS', 10.68479, 41.26906, 3.0)) = 1\n"
            "ORDER BY tile, xdate, scan", ("tiles", "scans")),
    Example("night", "The scans of one night",
            "Every scan of the northern night of 1998 April 16 (xdate is the observation "
            "date; ADQL reserves DATE) with its status and quality score.",
            "SELECT scan, tile, scan_type, status, qa_score, loaded, load_reason\n"
            "FROM scans\n"
            "WHERE xdate = '1998-04-16' AND hemis = 'n'\n"
            "ORDER BY scan", ("scans",)),
)


def examples_xhtml(base: str) -> str:
    """The examples document for the service at ``base`` (``http://host/tap``)."""
    parts = []
    for ex in EXAMPLES:
        tables = "".join(f' <span property="table">{escape(t)}</span>' for t in ex.tables)
        upload = (
            '\n  <p>Parameters: <span property="generic-parameter" typeof="keyval">'
            '<code property="key">UPLOAD</code>=<code property="value">'
            f"targets,{escape(base)}/examples/{TARGETS}</code></span></p>"
            if ex.upload else "")
        parts.append(
            f'<div typeof="example" id="{ex.id}" resource="#{ex.id}">\n'
            f'  <h2 property="name">{escape(ex.name)}</h2>\n'
            f"  <p>{escape(ex.description)}</p>\n"
            f'  <pre property="query">{escape(ex.query)}</pre>{upload}\n'
            f"  <p>Tables:{tables}</p>\n</div>")
    body = "\n".join(parts)
    return ('<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE html>\n'
            '<html xmlns="http://www.w3.org/1999/xhtml">\n'
            "<head><title>catscan TAP examples</title></head>\n"
            f"<body vocab={quoteattr(VOCABULARY)}>\n"
            "<h1>Example queries of the catscan TAP service</h1>\n"
            f"{body}\n</body>\n</html>\n")


@functools.cache
def targets_votable() -> bytes:
    """The upload example's positions as a VOTable (ra, dec in degrees)."""
    table = Table(rows=TARGET_POSITIONS, names=("ra", "dec"), units=("deg", "deg"))
    table["ra"].description, table["dec"].description = "target RA (ICRS)", "target Dec"
    out = io.BytesIO()
    table.write(out, format="votable")
    return out.getvalue()


async def examples(request: Request) -> Response:
    base = str(request.url_for("tap_root")).rstrip("/")
    return Response(examples_xhtml(base), media_type="application/xhtml+xml")


async def targets(request: Request) -> Response:
    return Response(targets_votable(), media_type=VOTABLE)


ROUTES = [
    Route("/tap/examples", examples, methods=["GET"], name="tap_examples"),
    Route(f"/tap/examples/{TARGETS}", targets, methods=["GET"], name="tap_example_targets"),
]
