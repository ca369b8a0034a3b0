"""Region tests that are cheaper as Python than as SQL: the spherical polygon.

A polygon's exact test in SQL is an OR of ANDs with two trigonometric calls per edge, which
DuckDB spends milliseconds planning (2 ms for 10 vertices) and which grows with the vertex
count. As a vectorised UDF it is one call: ``sky_polygon_contains(ra, dec, spec)``, where
``spec`` is :attr:`catscan.polygon.SphericalPolygon.spec`, parsed and validated once per
process (cached). It only sees the rows the HEALPix ranges let through.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from catscan.polygon import from_spec


def polygon_contains_arrow(ra: pa.Array, dec: pa.Array, spec: pa.Array) -> pa.Array:
    """TRUE inside (boundary included), FALSE outside, NULL for a NULL position or spec."""
    ra_np = np.asarray(ra.to_numpy(zero_copy_only=False), dtype=float)
    dec_np = np.asarray(dec.to_numpy(zero_copy_only=False), dtype=float)
    out = np.zeros(len(ra_np), dtype=bool)
    if ra.null_count or dec.null_count or spec.null_count:
        null = np.asarray(pc.or_(pc.or_(pc.is_null(ra), pc.is_null(dec)), pc.is_null(spec)))
    else:
        null = np.zeros(len(ra_np), dtype=bool)
    first = spec[0].as_py() if len(spec) else None
    if spec.null_count == 0 and first is not None and pc.all(pc.equal(spec, first)).as_py():
        texts = [first]                                # one polygon: the usual case
    else:
        texts = pc.unique(spec).to_pylist()
    for text in texts:
        if text is None:
            continue
        if len(texts) == 1 and not null.any():
            out = from_spec(text).contains(ra_np, dec_np)
            break
        rows = np.asarray(pc.equal(spec, text).fill_null(False)) & ~null
        if rows.any():
            out[rows] = from_spec(text).contains(ra_np[rows], dec_np[rows])
    return pa.array(out, mask=null if null.any() else None)
