"""Random rows for any catscan table, typed by the schema: for round trips of every column.

Values are drawn per SQL type (with nulls where the column allows them) at the precision
the release format prints, and ra/dec/designation are made consistent. Seeded.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa

from catscan.designation import designations
from catscan.loaders.schema_info import file_columns
from catscan.loaders.tables import RULES

_FIXED = {
    "hemis": ["n", "s"], "ph_qual": ["AAA", "ABU", "UUC", "XDE"], "rd_flg": ["222", "120"],
    "bl_flg": ["111", "010"], "cc_flg": ["000", "cds"], "ndet": ["666666", "060600"],
    "dist_edge_flg": ["ne", "sw"], "a": ["0", "T", "U"], "cc_flg_xsc": ["0", "U", "Z"],
    "status": ["P", "F", "R", "-"], "scan_type": ["sci", "cal"], "direction": ["n", "s"],
    "fg_flg": ["000000", "1a2b3c"], "id_cat": ["NGC 0201", "UGC 00426  padded"],
}


def random_rows(con, table: str, n: int, seed: int = 0, null_fraction: float = 0.2) -> pa.Table:
    rng = np.random.default_rng(seed)
    ra = np.round(rng.uniform(0, 360, n), 6) % 360
    dec = np.round(np.degrees(np.arcsin(rng.uniform(-1, 1, n))), 6)
    cols = {}
    required = set(RULES[table].release_required)
    for col in file_columns(con, table):
        nullable = not col.not_null and col.name not in required
        nulls = (rng.random(n) < null_fraction) if nullable else np.zeros(n, bool)
        name = col.name
        if name == "ra":
            values = pa.array(ra)
        elif name == "dec":
            values = pa.array(dec)
        elif name == "designation":
            desig = designations(ra, dec).to_pylist()
            suffix = rng.choice(np.array([" ", "A", "B"]), n, p=[0.8, 0.1, 0.1])
            values = pa.array([d + s for d, s in zip(desig, suffix, strict=True)])
            nulls[:] = False
        elif name in ("hemis", "status") or name in _FIXED and col.type == "VARCHAR":
            key = "cc_flg_xsc" if (table == "xsc" and name == "cc_flg") else name
            choices = _FIXED[key]
            values = pa.array([choices[i] for i in rng.integers(0, len(choices), n)],
                              mask=nulls if nullable else None)
        elif col.type == "DOUBLE":
            values = pa.array(np.round(rng.uniform(-200, 10000, n), rng.integers(1, 7)),
                              mask=nulls)
        elif col.type in ("INTEGER", "BIGINT"):
            values = pa.array(rng.integers(-5, 2_000_000, n), mask=nulls)
        elif col.type == "SMALLINT":
            lo, hi = (1, 999) if name == "scan" else (-2, 360)
            values = pa.array(rng.integers(lo, hi, n).astype(np.int16), mask=nulls)
        elif col.type == "DATE":
            start = dt.date(1997, 6, 7)
            values = pa.array([start + dt.timedelta(days=int(d))
                               for d in rng.integers(0, 1350, n)], mask=nulls)
        elif col.type == "VARCHAR":
            alphabet = np.array(list("abcXYZ019 _-."))
            words = ["".join(rng.choice(alphabet, rng.integers(1, 9))).strip() or "x"
                     for _ in range(n)]
            values = pa.array(words, mask=nulls)
        elif col.type == "BOOLEAN":
            values = pa.array(rng.random(n) < 0.5, mask=nulls)
        else:
            raise AssertionError(f"no generator for {col.type}")
        cols[name] = values
    key = {"psc": "pts_key", "xsc": "ext_key", "scans": "scan_key"}[table]
    cols[key] = pa.array(np.arange(1, n + 1) + seed * 1_000_000)
    return pa.table(cols)
