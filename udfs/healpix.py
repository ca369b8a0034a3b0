"""HEALPix NESTED order-29 index (``hpx29``) with cdshealpix: the key big tables sort by.

Order 29 is the finest that fits a BIGINT and is the same key as HATS ``_healpix_29``.
The index and every later cover must come from the same library (design notes §8).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
from astropy import units as u
from astropy.coordinates import Latitude, Longitude
from cdshealpix import nested

HPX_ORDER = 29
# Below this many positions one thread: cdshealpix otherwise starts a thread pool per call,
# which cost a load 4x the index's own CPU time, batch after batch of 2,048 rows.
_ONE_THREAD_BELOW = 100_000

try:    # the Rust function behind nested.lonlat_to_healpix, called without astropy's wrapping
    from cdshealpix import cdshealpix as _rust
except ImportError:     # pragma: no cover - a cdshealpix without it takes the public path
    _rust = None


def hpx29(ra, dec) -> np.ndarray:
    """NESTED order-29 HEALPix index of positions in degrees (numpy in, int64 out)."""
    ra = np.atleast_1d(np.asarray(ra, dtype=np.float64))
    dec = np.atleast_1d(np.asarray(dec, dtype=np.float64))
    if ra.size == 0:
        return np.zeros(0, dtype=np.int64)
    threads = 1 if ra.size < _ONE_THREAD_BELOW else 0
    if _rust is not None and ra.shape == dec.shape and ra.ndim == 1 \
            and bool(np.all((ra >= 0) & (ra < 360) & (np.abs(dec) <= 90))):
        # positions astropy would neither wrap nor refuse: the same radians (np.radians is
        # astropy's deg -> rad factor), the same call, the same cells (tests/test_spatial.py)
        ipix = np.empty(ra.size, dtype=np.uint64)
        offsets = np.empty(ra.size), np.empty(ra.size)
        _rust.lonlat_to_healpix(np.full(ra.size, HPX_ORDER, np.uint8), np.radians(ra),
                                np.radians(dec), ipix, *offsets, np.uint16(threads))
        return ipix.astype(np.int64)
    return nested.lonlat_to_healpix(Longitude(ra, u.deg), Latitude(dec, u.deg),
                                    HPX_ORDER, num_threads=threads).astype(np.int64)


def hpx29_arrow(ra: pa.Array, dec: pa.Array) -> pa.Array:
    """Arrow UDF wrapper: NULL for NULL or impossible positions (the loaders report those)."""
    ra_np = ra.to_numpy(zero_copy_only=False)
    dec_np = dec.to_numpy(zero_copy_only=False)
    with np.errstate(invalid="ignore"):
        valid = np.isfinite(ra_np) & np.isfinite(dec_np) & (np.abs(dec_np) <= 90)
    out = np.zeros(len(ra_np), dtype=np.int64)
    if valid.any():
        out[valid] = hpx29(ra_np[valid], dec_np[valid])
    return pa.array(out, mask=~valid)
