"""Positions and angles typed by astronomers: decimal, sexagesimal, Galactic, with units;
checked against astropy's own parsing of the same coordinates."""

from __future__ import annotations

import random

import pytest
from astropy import units as u
from astropy.coordinates import Angle, Latitude, SkyCoord

from catscan.positions import DEG_PER_UNIT, PositionError, parse_angle, parse_position

M31 = SkyCoord("00h42m44.3s +41d16m09s")


@pytest.mark.parametrize("text", ["00:42:44.3 +41:16:09", "00h42m44.3s +41d16m09s",
                                  "0:42:44.3 41:16:9"])
def test_sexagesimal_positions(text):
    ra, dec = parse_position(text)
    assert SkyCoord(ra * u.deg, dec * u.deg).separation(M31).arcsec < 1e-6


def test_decimal_and_two_fields():
    assert parse_position("10.68479", "+41.26906") == pytest.approx((10.68479, 41.26906))
    assert parse_position("359.9999 -89.5") == pytest.approx((359.9999, -89.5))
    ra, dec = parse_position("10d41m05.2s", "+41d16m09s")      # RA in degrees, not hours
    assert ra == pytest.approx(10 + 41 / 60 + 5.2 / 3600)


def test_galactic_positions_become_icrs():
    gal = M31.galactic
    ra, dec = parse_position(f"{gal.l.deg} {gal.b.deg}", frame="galactic")
    assert SkyCoord(ra * u.deg, dec * u.deg).separation(M31).arcsec < 1e-6


@pytest.mark.parametrize(("text", "arcsec"), [('2"', 2), ("2arcsec", 2), ("5'", 300),
                                               ("5arcmin", 300), ("0.5deg", 1800),
                                               ("0.5 deg", 1800), ("1.5e-3deg", 5.4),
                                               ("250mas", 0.25)])
def test_angles_with_units(text, arcsec):
    assert parse_angle(text) * 3600 == pytest.approx(arcsec)


def test_a_bare_number_takes_the_default_unit():
    assert parse_angle("2", unit=u.arcsec) * 3600 == pytest.approx(2)
    assert parse_angle("2") == 2


@pytest.mark.parametrize(("call", "message"), [
    (lambda: parse_position("abc"), "give two coordinates"),
    (lambda: parse_position("10 95"), "within -90 deg"),
    (lambda: parse_position("1 2", frame="fk4"), "unknown frame"),
    (lambda: parse_angle("5 parsecs"), "cannot read the angle '5 parsecs'"),
    (lambda: parse_angle("-2arcsec"), "negative"),
])
def test_bad_input_says_what_was_not_understood(call, message):
    with pytest.raises(PositionError, match=message):
        call()


def test_unit_scales_are_astropys_own():
    """Typed angles are scaled without importing astropy (start-up): by its own numbers."""
    for name, scale in DEG_PER_UNIT.items():
        assert scale == u.Unit(name).to(u.deg)


def test_angles_are_bit_for_bit_what_astropy_gives():
    rng = random.Random(7)
    units = {'"': u.arcsec, "arcsec": u.arcsec, "'": u.arcmin, "arcmin": u.arcmin,
             "deg": u.deg, "d": u.deg, "mas": u.mas}
    for _ in range(2000):
        value = f"{rng.uniform(0, 1000):.{rng.randint(0, 17)}f}"
        suffix = rng.choice(list(units))
        assert parse_angle(value + suffix) == (float(value) * units[suffix]).to_value(u.deg)
        assert parse_angle(value, unit=u.arcmin) == (float(value) * u.arcmin).to_value(u.deg)
    assert parse_angle("3", unit=u.hourangle) == (3 * u.hourangle).to_value(u.deg)  # astropy


def test_decimal_degrees_are_bit_for_bit_what_astropy_gives():
    """Plain decimal degrees are read without astropy (start-up): exactly as its Angle and
    Latitude read them, -0 included."""
    rng = random.Random(5)
    cases = [("-0", "-0"), ("0", "+0"), (".5", "-.5"), ("359.999999999999", "90"),
             ("7", "-90.0")]
    for _ in range(2000):
        cases.append((f"{rng.uniform(0, 360):.{rng.randint(0, 17)}f}",
                      f"{rng.choice(['', '+', '-'])}{rng.uniform(0, 90):.{rng.randint(0, 17)}f}"))
    for lon, lat in cases:
        want = (float(Angle(lon, unit=u.deg).wrap_at(360 * u.deg).deg % 360.0),
                float(Latitude(lat, unit=u.deg).deg))
        assert repr(parse_position(lon, lat)) == repr(want), (lon, lat)
