"""The 2MASS designation of a position: ``hhmmssss±ddmmsss``, truncated, never rounded.

RA is given to 0.01 s of time and Dec to 0.1 arcsec, both truncated (IAU rule; 2mass_reference.md
§1.5). Positions are first taken at the published precision (6 decimals of a degree) and the
truncation is then done in exact integer arithmetic: plain floating-point ``floor`` gets a few
of the real designations wrong.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

_CS_PER_DAY = 24 * 3600 * 100  # hundredths of a second of time in 24 h


def designation_parts(ra, dec) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Truncated (RA in 0.01 s of time, Dec sign is negative, |Dec| in 0.1 arcsec)."""
    ra = np.asarray(ra, dtype=np.float64)
    dec = np.asarray(dec, dtype=np.float64)
    ra_micro = np.rint(ra * 1e6).astype(np.int64)           # the published 6 decimals
    dec_micro = np.rint(np.abs(dec) * 1e6).astype(np.int64)
    ra_cs = (ra_micro * 24 // 1000) % _CS_PER_DAY             # floor(ra * 24000)
    dec_ds = dec_micro * 36 // 1000                           # floor(|dec| * 36000)
    return ra_cs, np.signbit(dec), dec_ds


def _digits(values: np.ndarray, width: int) -> pa.Array:
    return pc.utf8_lpad(pc.cast(pa.array(values), pa.string()), width=width, padding="0")


def designations(ra, dec) -> pa.Array:
    """Vectorised designations (16 characters, no suffix letter) as an Arrow string array."""
    ra_cs, negative, dec_ds = designation_parts(np.atleast_1d(ra), np.atleast_1d(dec))
    sign = pa.array(np.where(negative, "-", "+"))
    return pc.binary_join_element_wise(
        _digits(ra_cs // 360000, 2), _digits(ra_cs // 6000 % 60, 2), _digits(ra_cs % 6000, 4),
        sign,
        _digits(dec_ds // 36000, 2), _digits(dec_ds // 600 % 60, 2), _digits(dec_ds % 600, 3),
        "")


def designation_matches_sql(designation: str, ra: str, dec: str) -> str:
    """DuckDB SQL for "the first 16 characters of ``designation`` are the designation of
    (``ra``, ``dec``)" by the rule of :func:`designation_parts` (the same rounding, then exact
    integer arithmetic), for ra in [0, 360): true, false, or NULL when an argument is NULL,
    not finite or ra is outside [0, 360). Loaders check millions of rows with it in plain
    SQL, on every core, where the ``tmass_designation`` UDF holds the GIL per batch."""
    ra_cs = f"(TRY_CAST(round_even({ra} * 1e6, 0) AS BIGINT) * 24 // 1000 % {_CS_PER_DAY})"
    dec_ds = f"(TRY_CAST(round_even(abs({dec}) * 1e6, 0) AS BIGINT) * 36 // 1000)"
    equal = (f"TRY_CAST(substr({designation}, 1, 8) AS INTEGER) = {ra_cs} // 360000 * 1000000 "
             f"+ {ra_cs} // 6000 % 60 * 10000 + {ra_cs} % 6000 "
             f"AND substr({designation}, 9, 1) = CASE WHEN signbit({dec}) THEN '-' ELSE '+' END "
             f"AND TRY_CAST(substr({designation}, 10, 7) AS INTEGER) = {dec_ds} // 36000 * 100000 "
             f"+ {dec_ds} // 600 % 60 * 1000 + {dec_ds} % 600 "
             f"AND length({designation}) >= 16")
    return (f"(CASE WHEN isfinite({ra}) AND isfinite({dec}) AND {ra} >= 0 AND {ra} < 360 "
            f"AND {designation} IS NOT NULL THEN coalesce({equal}, false) END)")


def designation(ra: float, dec: float) -> str:
    """The designation of one position, e.g. ``designation(10.538223, 41.18528)`` ->
    ``'00420917+4111070'`` (prefix ``2MASS J`` for the full name)."""
    return designations(ra, dec)[0].as_py()
