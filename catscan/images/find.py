"""Finding Atlas Images: by position (every image whose footprint holds it, best first), by
night and scan, by tile, by band.

The footprint test is the SQL macro ``atlas_edge_distance`` (schema/110_images.sql): the
image's four corner columns joined by great circles, and the angle from the position to
the nearest edge. ``images_at(ra, dec)`` in SQL and :func:`images_at` here run the same
macro, so Python, SQL and the query language agree on which image holds a position; best
first is Montage's mBestImage rule (the image whose nearest edge is farthest).
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import duckdb

from .errors import ImageError

BANDS = ("j", "h", "k")
# the index columns of an image (atlas_images less the pixels), plus its tile from scans
COLUMNS = ("coadd_key", "band", "scan_key", "date", "hemis", "scan", "image", "fname",
           "crval1", "crval2", "crota2", "naxis1", "naxis2", "magzp", "skyval", "skysig",
           "seesh", "compression", "bytes", "raw_bytes")
BEST_FIRST = "i.edge_distance DESC, strpos('jhk', i.band), i.coadd_key"


@dataclass(frozen=True)
class AtlasImage:
    """One row of ``atlas_images`` without its pixels (they stay in the database)."""
    coadd_key: int
    band: str
    scan_key: int
    date: dt.date
    hemis: str
    scan: int
    image: int
    fname: str
    crval1: float
    crval2: float
    crota2: float
    naxis1: int
    naxis2: int
    magzp: float
    skyval: float | None
    skysig: float | None
    seesh: float | None
    compression: str | None
    bytes: int | None
    raw_bytes: int | None
    tile: int | None = None
    edge_distance: float | None = None     # degrees from the position to the nearest edge

    @property
    def night(self) -> str:
        """``971024n``: the night's delivery name (ORDATE and hemisphere)."""
        return f"{self.date:%y%m%d}{self.hemis}"

    def label(self) -> str:
        return f"{self.night} scan {self.scan} image {self.image} {self.band.upper()}"


def parse_bands(text: str) -> tuple[str, ...]:
    """``'JHK'``, ``'jh'``, ``'Ks'``, ``'J,H,Ks'`` -> ('j', 'h', 'k'), in the order given."""
    cleaned = str(text).lower().replace("ks", "k").replace(",", "").replace(" ", "")
    bad = sorted(set(cleaned) - set(BANDS))
    if not cleaned or bad:
        raise ImageError(f"bands {text!r}: give letters from J, H and K (Ks), e.g. JHK or K")
    if len(set(cleaned)) != len(cleaned):
        raise ImageError(f"bands {text!r}: a band is named twice")
    return tuple(cleaned)


@contextmanager
def connection(db) -> Iterator[duckdb.DuckDBPyConnection]:
    """An open connection as given, or a read-only one to a database path (closed after)."""
    if isinstance(db, duckdb.DuckDBPyConnection):
        yield db
        return
    from ..db import connect

    con = connect(db if db is None else os.fspath(db))
    try:
        yield con
    finally:
        con.close()


def _select(source: str, where: list[str], order: str) -> str:
    cols = ", ".join(f"i.{c}" for c in COLUMNS)
    clause = f" WHERE {' AND '.join(where)}" if where else ""
    distance = "i.edge_distance" if source != "atlas_images" else "NULL"
    return (f"SELECT {cols}, s.tile, {distance} FROM {source} i "
            f"LEFT JOIN scans s ON s.scan_key = i.scan_key{clause} ORDER BY {order}")


def _rows(con, sql: str, params: list) -> list[AtlasImage]:
    return [AtlasImage(*row) for row in con.execute(sql, params).fetchall()]


def images_near(con, ra: float, dec: float, radius_deg: float,
                bands: str | None = None) -> list[AtlasImage]:
    """Images within ``radius_deg`` of a position (every image overlapping that cone, and
    possibly a few just beyond it), best first."""
    where, params = [], [float(ra), float(dec), float(radius_deg)]
    if bands is not None:
        where.append("i.band IN (SELECT unnest(?))")
        params.append(list(parse_bands(bands)))
    sql = _select("images_near(?, ?, ?)", where, BEST_FIRST)
    return _rows(con, sql, params)


def images_at(con, ra: float, dec: float, bands: str | None = None) -> list[AtlasImage]:
    """Every image whose footprint holds the position, best first (farthest from an edge)."""
    return images_near(con, ra, dec, 0.0, bands)


def find_images(con, *, date: dt.date | str | None = None, hemis: str | None = None,
                scan: int | None = None, tile: int | None = None, bands: str | None = None,
                at: tuple[float, float] | None = None) -> list[AtlasImage]:
    """Images by night (``date``, ``hemis``), ``scan`` number, ``tile`` and ``bands``, and
    with ``at=(ra, dec)`` only those holding the position (then best first; else in scan
    order)."""
    where, params = [], []
    if at is not None:
        params += [float(at[0]), float(at[1]), 0.0]
    if date is not None:
        try:
            day = date if isinstance(date, dt.date) else dt.date.fromisoformat(str(date))
        except ValueError:
            raise ImageError(f"date {date!r}: write it as YYYY-MM-DD") from None
        where.append("i.date = ?")
        params.append(day)
    if hemis is not None:
        if hemis not in ("n", "s"):
            raise ImageError(f"hemisphere {hemis!r}: n (Mt. Hopkins) or s (CTIO)")
        where.append("i.hemis = ?")
        params.append(hemis)
    if scan is not None:
        where.append("i.scan = ?")
        params.append(int(scan))
    if tile is not None:
        where.append("s.tile = ?")
        params.append(int(tile))
    if bands is not None:
        where.append("i.band IN (SELECT unnest(?))")
        params.append(list(parse_bands(bands)))
    if at is not None:
        sql = _select("images_near(?, ?, ?)", where, BEST_FIRST)
    else:
        sql = _select("atlas_images", where, "i.date, i.hemis, i.scan, i.image, "
                      "strpos('jhk', i.band)")
    return _rows(con, sql, params)
