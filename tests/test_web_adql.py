"""ADQL to DuckDB SQL (catscan.web.adql) on the demo survey: regions give the rows astropy
and plain numpy find, the HEALPix cover is used where it can be, uploads cross-match like
astropy's search_around_sky, unsupported ADQL and unknown tables are refused by name and
position, and TAP_SCHEMA describes the database's own columns."""

from __future__ import annotations

import math

import numpy as np
import pyarrow as pa
import pytest
from astropy import units as u
from astropy.coordinates import SkyCoord, search_around_sky
from astropy.wcs import WCS

from catscan.loaders.schema_info import column_comments
from catscan.safety import query_connection
from catscan.web.adql import AdqlError, translate
from catscan.web.tap_schema import TapCatalog

M17 = (275.2, -16.1)


@pytest.fixture(scope="module")
def con(demo_db):
    con = query_connection(demo_db)
    yield con
    con.close()


@pytest.fixture(scope="module")
def catalog(con):
    catalog = TapCatalog.from_connection(con)
    catalog.register(con)
    return catalog


@pytest.fixture(scope="module")
def psc(con):
    """Every PSC position, read with plain SQL (no spatial helpers)."""
    rows = con.execute("SELECT pts_key, ra, dec FROM psc").fetchnumpy()
    return {k: np.asarray(v) for k, v in rows.items()}


def run(con, catalog, adql: str, uploads: dict | None = None) -> tuple[pa.Table, str]:
    translation = translate(adql, catalog, uploads)
    for name, table in translation.tables.items():
        con.register(name, table)
    try:
        return con.sql(translation.sql).to_arrow_table(), translation.sql
    finally:
        for name in translation.tables:
            con.unregister(name)


def keys(table: pa.Table, column: str = "pts_key") -> set[int]:
    return set(table.column(column).to_pylist())


def separation(psc, ra: float, dec: float) -> np.ndarray:
    return SkyCoord(psc["ra"], psc["dec"], unit="deg").separation(
        SkyCoord(ra, dec, unit="deg")).deg


def test_circle_gives_the_rows_astropy_finds_and_uses_the_cover(con, catalog, psc):
    table, sql = run(con, catalog, "SELECT pts_key FROM psc WHERE CONTAINS(POINT('ICRS', "
                     f"ra, dec), CIRCLE('ICRS', {M17[0]}, {M17[1]}, 0.05)) = 1")
    expected = set(psc["pts_key"][separation(psc, *M17) <= 0.05].tolist())
    assert len(expected) > 100 and keys(table) == expected
    assert '"psc"."hpx29" BETWEEN' in sql                       # row groups can be skipped
    # 1 = CONTAINS(...), a qualified point and a computed point (no cover) agree
    flipped, _ = run(con, catalog, "SELECT p.pts_key FROM psc AS p WHERE 1 = CONTAINS("
                     f"POINT(p.ra, p.dec), CIRCLE({M17[0]}, {M17[1]}, 3 / 60.0))")
    computed, sql = run(con, catalog, "SELECT pts_key FROM psc WHERE CONTAINS(POINT("
                        f"ra + 0, dec), CIRCLE('ICRS', {M17[0]}, {M17[1]}, 0.05)) = 1")
    assert keys(flipped) == keys(computed) == expected and "hpx29" not in sql
    outside, _ = run(con, catalog, "SELECT COUNT(*) AS n FROM psc WHERE CONTAINS(POINT("
                     f"'ICRS', ra, dec), CIRCLE('ICRS', {M17[0]}, {M17[1]}, 0.05)) = 0")
    assert outside.column("n")[0].as_py() == len(psc["ra"]) - len(expected)


def test_box_is_the_gnomonic_rectangle_of_astropy_wcs(con, catalog, psc):
    width, height = 0.3, 0.1
    table, sql = run(con, catalog, "SELECT pts_key FROM psc WHERE CONTAINS(POINT('ICRS', "
                     f"ra, dec), BOX('ICRS', {M17[0]}, {M17[1]}, {width}, {height})) = 1")
    wcs = WCS(naxis=2)
    wcs.wcs.ctype, wcs.wcs.crval = ["RA---TAN", "DEC--TAN"], list(M17)
    wcs.wcs.crpix, wcs.wcs.cdelt = [1, 1], [1, 1]          # pixel 0 = the centre
    near = separation(psc, *M17) < 5
    x, y = wcs.wcs_world2pix(psc["ra"][near], psc["dec"][near], 0)
    limit = [math.degrees(math.tan(math.radians(s / 2))) for s in (width, height)]
    inside = (np.abs(x) <= limit[0]) & (np.abs(y) <= limit[1])
    expected = set(psc["pts_key"][near][inside].tolist())
    assert len(expected) > 100 and keys(table) == expected and "hpx29" in sql


def test_polygon_matches_great_circle_half_spaces(con, catalog, psc):
    vertices = [(275.1, -16.2), (275.3, -16.2), (275.2, -16.0)]          # counter-clockwise
    flat = ", ".join(f"{a}, {d}" for a, d in vertices)
    table, sql = run(con, catalog, "SELECT pts_key FROM psc WHERE CONTAINS(POINT('ICRS', "
                     f"ra, dec), POLYGON('ICRS', {flat})) = 1")

    def unit(ra, dec):
        ra, dec = np.radians(ra), np.radians(dec)
        return np.stack([np.cos(dec) * np.cos(ra), np.cos(dec) * np.sin(ra), np.sin(dec)], -1)

    corners = unit(*np.array(vertices).T)
    points = unit(psc["ra"], psc["dec"])
    inside = np.ones(len(points), bool)
    for i in range(3):
        normal = np.cross(corners[i], corners[(i + 1) % 3])
        inside &= points @ normal >= 0
    expected = set(psc["pts_key"][inside].tolist())
    assert len(expected) > 100 and keys(table) == expected and "hpx29" in sql


def test_distance_is_the_separation_and_a_bound_on_it_a_cone(con, catalog, psc):
    table, sql = run(con, catalog, "SELECT pts_key, DISTANCE(POINT('ICRS', ra, dec), POINT("
                     f"'ICRS', {M17[0]}, {M17[1]})) AS d FROM psc WHERE DISTANCE(POINT('ICRS', "
                     f"ra, dec), POINT('ICRS', {M17[0]}, {M17[1]})) < 0.04")
    sep = separation(psc, *M17)
    expected = dict(zip(psc["pts_key"][sep < 0.04].tolist(), sep[sep < 0.04], strict=True))
    got = dict(zip(table.column("pts_key").to_pylist(), table.column("d").to_pylist(),
                   strict=True))
    assert len(expected) > 50 and got.keys() == expected.keys() and "hpx29" in sql
    assert max(abs(got[k] - expected[k]) for k in got) < 1e-9
    # r > DISTANCE(...) reads the same way; the ADQL 2.1 four-number form too
    other, _ = run(con, catalog, f"SELECT pts_key FROM psc WHERE 0.04 > DISTANCE({M17[0]}, "
                   f"{M17[1]}, ra, dec)")
    assert keys(other) == expected.keys()


def test_top_order_quoted_names_and_generated_column_names(con, catalog, psc):
    table, sql = run(con, catalog,
                     'SELECT TOP 3 "pts_key", j_m - k_m, ABS(j_m) FROM psc ORDER BY pts_key')
    assert table.column("pts_key").to_pylist() == sorted(psc["pts_key"].tolist())[:3]
    assert table.column_names == ["pts_key", "col2", "abs"] and "LIMIT 3" in sql
    columns, _ = run(con, catalog, 'SELECT column_name, "size", datatype FROM '
                     "TAP_SCHEMA.columns WHERE table_name = 'TAP_SCHEMA.columns' "
                     "ORDER BY column_index")
    assert '"size"' in columns.column("column_name").to_pylist()


def test_upload_cross_match_equals_astropy_search_around_sky(con, catalog, psc):
    rng = np.random.default_rng(7)
    near = np.flatnonzero(separation(psc, *M17) < 0.3)
    picked = rng.choice(near, 60, replace=False)
    targets = pa.table({"ra": psc["ra"][picked] + rng.normal(0, 1.5 / 3600, 60),
                        "dec": psc["dec"][picked] + rng.normal(0, 1.5 / 3600, 60),
                        "id": np.arange(60)})
    targets = pa.concat_tables([targets, pa.table({"ra": [200.0, None], "dec": [-5.0, 1.0],
                                                   "id": [60, 61]})])
    radius = 4 / 3600
    t_ok = targets.slice(0, 61)
    i, j, _, _ = search_around_sky(
        SkyCoord(t_ok.column("ra").to_numpy(), t_ok.column("dec").to_numpy(), unit="deg"),
        SkyCoord(psc["ra"], psc["dec"], unit="deg"), radius * u.deg)
    expected = {(int(a), int(psc["pts_key"][b])) for a, b in zip(i, j, strict=True)}
    assert len(expected) > 50
    inner = ("SELECT u.id, p.pts_key FROM TAP_UPLOAD.t AS u JOIN psc AS p ON CONTAINS("
             "POINT('ICRS', p.ra, p.dec), CIRCLE('ICRS', u.ra, u.dec, 4 / 3600.0)) = 1")
    table, sql = run(con, catalog, inner, {"t": targets})
    assert set(zip(table.column("id").to_pylist(), table.column("pts_key").to_pylist(),
                   strict=True)) == expected and table.num_rows == len(expected)
    assert "tap_xmatch__1_probe" in sql and '"xm_c"."hpx11" = "xm_p"."cell"' in sql  # cells
    # every target kept by a LEFT JOIN, DISTANCE < r alike; SELECT * hides the row numbers
    left, _ = run(con, catalog, "SELECT * FROM TAP_UPLOAD.t AS u LEFT JOIN psc AS p ON "
                  "DISTANCE(POINT(u.ra, u.dec), POINT(p.ra, p.dec)) <= 4 / 3600.0",
                  {"t": targets})
    unmatched = set(range(62)) - {a for a, _ in expected}
    assert left.num_rows == len(expected) + len(unmatched)
    assert "__row" not in left.column_names and left.column_names[:3] == ["ra", "dec", "id"]
    # under OR the rewrite would be wrong: the ranges and the exact test stay instead
    fallback, sql = run(con, catalog, inner.replace("= 1", "= 1 OR 1 = 0"), {"t": targets})
    assert fallback.num_rows == len(expected) and "probe" not in sql


@pytest.mark.parametrize("adql, message", [
    ("SELECT ra FROM psc\nWHERE INTERSECTS(POINT('ICRS', ra, dec), CIRCLE('ICRS', 1, 2, 3)) "
     "= 1", "at line 2, column 7: INTERSECTS is not supported"),
    ("SELECT REGION('Circle ICRS 1 2 3') FROM psc", "column 8: REGION is not supported"),
    ("SELECT AREA(CIRCLE('ICRS', 1, 2, 3)) FROM psc", "column 8: AREA is not supported"),
    ("SELECT ra FROM psc WHERE read_csv('x') = 1", "column 26: unsupported function read_csv"),
    ("SELECT current_setting('threads')", "unsupported function current_setting"),
    ("SELECT POINT('ICRS', ra, dec) FROM psc",
     "column 8: POINT can only be used inside CONTAINS or DISTANCE"),
    ("SELECT ra FROM psc WHERE CONTAINS(POINT('GALACTIC', ra, dec), CIRCLE(1, 2, 3)) = 1",
     "column 41: coordinate system 'GALACTIC' is not supported"),
    ("SELECT ra FROM psc WHERE CONTAINS(POINT(ra, dec), CIRCLE(1, 2, 200)) = 1",
     "radius must be between 0 and 180 degrees, not 200"),
    ("SELECT ra FROM psc WHERE", "column 20: syntax error: WHERE needs a condition"),
    ("SELECT * FROM private.team_access", "column 15: unknown table private.team_access"),
    ('SELECT * FROM "private"."team_access"', "unknown table"),
    ("SELECT (SELECT MAX(password_hash) FROM private.team_access) FROM psc", "unknown table"),
    ("SELECT * FROM loads", "unknown table loads"),
    ("SELECT * FROM TAP_UPLOAD.nothing", "no table TAP_UPLOAD.nothing was uploaded"),
    ("DELETE FROM psc", "only SELECT queries are ADQL, not DELETE"),
    ("SELECT ra FROM psc; SELECT dec FROM psc", "one query only"),
])
def test_unsupported_adql_is_named_with_its_position(catalog, adql, message):
    with pytest.raises(AdqlError) as error:
        translate(adql, catalog)
    assert message in str(error.value)


def test_tap_schema_describes_the_database_columns_and_nothing_private(con, catalog):
    columns, _ = run(con, catalog, "SELECT column_name, unit, description, ucd, datatype "
                     "FROM TAP_SCHEMA.columns WHERE table_name = 'psc' ORDER BY column_index")
    described = {r["column_name"]: r for r in columns.to_pylist()}
    database = [r[0] for r in con.execute(
        "SELECT column_name FROM duckdb_columns() WHERE table_name = 'psc' "
        "AND schema_name = 'main' ORDER BY column_index").fetchall()]
    # the database's columns in order, but the internal ones, and date as xdate (ADQL
    # reserves DATE)
    internal = {"hpx29", "hpx11", "load_id"}
    assert internal <= set(database)
    assert list(described) == [{"date": "xdate"}.get(c, c) for c in database
                               if c not in internal]
    comments = column_comments(con, "psc")
    assert described["ra"]["unit"] == comments["ra"][0] == "deg"
    assert comments["jdate"][0] == "day" and described["jdate"]["unit"] == "d"   # VOUnit
    assert described["j_m"]["description"] == comments["j_m"][1]
    assert described["ra"]["ucd"] == "pos.eq.ra;meta.main"
    assert described["designation"]["datatype"] == "char"
    images, _ = run(con, catalog, "SELECT column_name FROM TAP_SCHEMA.columns WHERE "
                    "table_name = 'atlas_images'")
    assert "fits" not in images.column("column_name").to_pylist()     # pixels stay out
    schemas, _ = run(con, catalog, "SELECT schema_name FROM TAP_SCHEMA.schemas")
    tables, _ = run(con, catalog, "SELECT table_name FROM TAP_SCHEMA.tables")
    names = tables.column("table_name").to_pylist()
    assert sorted(schemas.column("schema_name").to_pylist()) == ["TAP_SCHEMA", "main"]
    assert "team_access" not in names and not any("private" in n for n in names)
    assert {"psc", "xsc", "scans", "nights", "tiles", "atlas_images", "processing_history",
            "night_qa", "TAP_SCHEMA.columns"} <= set(names)
    keys_, _ = run(con, catalog, "SELECT k.from_table, k.target_table, c.from_column FROM "
                   "TAP_SCHEMA.keys AS k JOIN TAP_SCHEMA.key_columns AS c ON c.key_id = "
                   "k.key_id WHERE k.from_table = 'psc'")
    assert ("psc", "scans", "scan_key") in {tuple(r.values()) for r in keys_.to_pylist()}
