"""Positions and angles as astronomers type them, parsed by astropy.

Positions: decimal degrees (``10.68479 +41.26906``), sexagesimal (``00:42:44.3 +41:16:09``,
``00h42m44.3s +41d16m09s``), in ICRS or, with ``frame="galactic"``, Galactic l b. Angles:
``2"``, ``2arcsec``, ``5'``, ``5arcmin``, ``0.5deg``, ``0.5d``; a bare number is in ``unit``.
Bad input raises :class:`PositionError` naming what was not understood.
"""

from __future__ import annotations

import math
import re
from typing import TYPE_CHECKING

from .errors import CatscanError, shown

if TYPE_CHECKING:
    from astropy import units as u

FRAMES = ("icrs", "galactic")
_ANGLE = re.compile(r"^\s*([+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)\s*"
                    r"(\"|''|'|arcsec|arcmin|deg|d|degrees?|mas|as|am)?\s*$")
_UNITS = {'"': "arcsec", "''": "arcsec", "arcsec": "arcsec", "as": "arcsec", "'": "arcmin",
          "arcmin": "arcmin", "am": "arcmin", "deg": "deg", "d": "deg", "degree": "deg",
          "degrees": "deg", "mas": "mas"}
# Degrees per unit, exactly astropy's ``u.UNIT.to(u.deg)`` (tests/test_positions.py checks
# each): astropy costs about 1 s of a command's start-up and a typed angle needs only these.
# A unit not here (a saved query's own) is converted by astropy.
DEG_PER_UNIT = {"deg": 1.0, "arcmin": 0.016666666666666666, "arcsec": 0.0002777777777777778,
                "mas": 2.777777777777778e-07}
# Plain decimal degrees, read by float() exactly as astropy's Angle reads them
_DECIMAL = re.compile(r"^[+-]?(?:\d+\.?\d*|\.\d+)$")


class PositionError(CatscanError):
    """A position or an angle that could not be read."""


def parse_angle(text: str, unit: u.UnitBase | str = "deg") -> float:
    """An angle in degrees from ``2"``, ``2arcsec``, ``5'``, ``0.5deg``; a bare number is
    taken in ``unit`` (an astropy unit or its name)."""
    match = _ANGLE.match(str(text))
    if not match:
        raise PositionError(f"cannot read the angle {shown(repr(str(text)))}: give a number "
                            "with a unit, e.g. 2\", 2arcsec, 5', 5arcmin or 0.5deg")
    value, suffix = float(match.group(1)), match.group(2)
    if not math.isfinite(value):
        raise PositionError(f"the angle {shown(repr(str(text)))} is not a finite number")
    if value < 0:
        raise PositionError(f"the angle {shown(repr(str(text)))} is negative")
    name = _UNITS[suffix] if suffix else str(unit)
    if name in DEG_PER_UNIT:                    # astropy multiplies only by a scale not 1
        scale = DEG_PER_UNIT[name]
        return value if scale == 1.0 else value * scale
    from astropy import units as u

    return float((value * u.Unit(unit)).to_value(u.deg))


def parse_position(lon: str, lat: str | None = None, frame: str = "icrs") -> tuple[float, float]:
    """(ra, dec) in ICRS degrees from two fields, or from one string holding both."""
    if frame not in FRAMES:
        raise PositionError(f"unknown frame {frame!r}: choose {' or '.join(FRAMES)}")
    if lat is None:
        parts = str(lon).split()
        if len(parts) != 2:
            raise PositionError(f"cannot read the position {shown(repr(str(lon)))}: give two "
                                "coordinates, e.g. '10.68479 +41.26906' or '00:42:44.3 +41:16:09'")
        lon, lat = parts
    if frame == "icrs" and _DECIMAL.match(lon) and _DECIMAL.match(lat):
        ra, dec = float(lon), float(lat)          # what astropy gives, without its start-up
        if 0 <= ra < 360 and -90 <= dec <= 90:
            return ra % 360.0, dec                   # -0 is 0, as astropy's wrap gives
    import numpy as np
    from astropy import units as u
    from astropy.coordinates import Angle, Latitude, SkyCoord

    # RA in hours when written 00:42:44.3 or 00h42m44.3s; 10d41m or 10.68 are degrees
    hours = frame == "icrs" and (":" in lon or "h" in lon)
    try:
        lon_angle = Angle(lon, unit=u.hourangle if hours else u.deg)
        lat_angle = Latitude(lat, unit=u.deg)          # checks -90 <= lat <= 90
        for text, angle in ((lon, lon_angle), (lat, lat_angle)):
            if not np.isfinite(angle.deg):             # 1e400 reads as inf, 10.1e30868 too
                raise PositionError(f"cannot read the position {shown(str(lon))} {shown(str(lat))} "
                                    f"({frame}): {shown(text)!r} is not a finite number")
        if frame == "icrs":      # no SkyCoord: it costs 0.3 ms, the language's hot path
            return float(lon_angle.wrap_at(360 * u.deg).deg % 360.0), float(lat_angle.deg)
        coord = SkyCoord(lon_angle, lat_angle, frame=frame)
    except (ValueError, OverflowError, u.UnitsError) as exc:  # 400 digits: OverflowError
        raise PositionError(f"cannot read the position {shown(str(lon))} {shown(str(lat))} "
                            f"({frame}): {shown(str(exc), 120)}") from None
    icrs = coord.icrs
    return float(icrs.ra.wrap_at(360 * u.deg).deg % 360.0), float(icrs.dec.deg)
