"""SQL access to the 2MASS designation rule (the rule itself is ``catscan.designation``)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from catscan.designation import designations


def designation_arrow(ra: pa.Array, dec: pa.Array) -> pa.Array:
    """``tmass_designation(ra, dec)``: 16-character designation; NULL in, NULL out."""
    ra_np = ra.to_numpy(zero_copy_only=False)
    dec_np = dec.to_numpy(zero_copy_only=False)
    with np.errstate(invalid="ignore"):
        valid = np.isfinite(ra_np) & np.isfinite(dec_np)
    names = designations(np.where(valid, ra_np, 0.0), np.where(valid, dec_np, 0.0))
    return pa.array(names.to_pylist(), type=pa.string(), mask=~valid) if not valid.all() \
        else names
