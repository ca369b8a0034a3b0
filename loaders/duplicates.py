"""Duplicate resolution in scan overlaps: recompute ``psc.dup_src`` and ``psc.use_src``.

Adjacent tiles overlap (≈51" in RA, 8.5' in Dec at the strip ends, 2mass_reference.md §3),
so a star there can be extracted by two or more scans. The release keeps every apparition
but flags them (§7.4, after S. Wheelock's dupflg/useflg pages): one apparition is selected
(``use_src`` = 1), the others are not, and ``dup_src`` says how clean the match was. The
flags of a source depend on its neighbours in other scans, so they must be recomputed when
a night is loaded, replaced or removed; :func:`resolve_duplicates` does that for the scans
that changed and gives exactly what a from-scratch resolution over all loaded scans gives,
whatever the order of the loads.

Rules (§7.4, made precise here):

1. Only scans with ``loaded = true`` and all four corners take part, with their PSC rows.
   Rows of other scans (not loaded, no corners, ``scan_key`` NULL or not in ``scans``) are
   their own scan without a footprint: ``dup_src`` 0, ``use_src`` 1.
2. A source is *in an overlap* when it lies inside the footprint of another taking-part
   scan at least 10" from each of that scan's edges (the great circles through its corners:
   point sources enter the catalogs only >10" from an edge, §3), by
   :meth:`Footprint.contains`.
3. Two sources in overlaps *match* when they belong to different scans and are at most 2"
   apart (great circle, §7.4). Groups are the connected components of the matches, so a
   chain A-B-C is one group.
4. ``dup_src``: 0 = not in an overlap, or in one without a match; 1 = the group is one
   apparition in each of two scans; 3 = two scans, one with 2+ apparitions (it split the
   source), the other with one; 4 = two scans, both with 2+; 5 = the group spans 3+ scans.
5. ``use_src``: 1 for sources not in an overlap. In a group, 1 for every apparition of the
   scan whose apparition is farthest from its own scan's edges, the edge distance being
   ``min(dist_edge_ns, dist_edge_ew)`` (NULL counts as nearest), ties broken by the
   smaller ``scan_key`` then ``pts_key``; 0 for the others. A source in an overlap without
   a match gets 0 (with ``dup_src`` 0: seen only once where two scans looked).

Incremental runs rely on what the catalogs guarantee: a scan's rows lie inside its own
footprint (>10" from its edges; up to ~25" outside is tolerated). Then only sources of the
changed scans and of the scans near them (footprints within 60") can change flags. Their
groups are completed pass by pass: every scan whose footprint comes within 60" of a group
member is read too, until none is missing, so a group is never cut, however long the chain
(crowded fields). A changed scan's corners must be those its removed rows were measured
against. A full run (``scan_keys`` None) does the same over batches of scans.

How: SQL reads the rows of the scans concerned (hpx29 ranges prune row groups of the
hpx29-sorted psc) and keeps those in an overlap; matching is a numpy equi-join on HEALPix
depth-15 cells (``hpx29 >> 28``, each with its 8 neighbours, cells >= 3" wide) then the
exact distance (as fast as the same join in DuckDB, without the round trip); groups by
label propagation. Updates are keyed by ``rowid``, which is stable inside the caller's
transaction and also covers rows without ``pts_key``.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import duckdb
import numpy as np
import pyarrow as pa
from astropy import units as u
from astropy.coordinates import Latitude, Longitude
from cdshealpix import nested

from catscan.geometry.footprint import Footprint, unit_vectors

MATCH_ARCSEC = 2.0          # §7.4: matching radius for point sources
EDGE_MARGIN_ARCSEC = 10.0   # §3: point sources enter the catalogs only >10" from an edge
NEAR_ARCSEC = 60.0          # footprints closer than this may share sources or matches
MATCH_DEPTH = 15            # HEALPix cells >= 3" wide: a 2" circle lies in a cell + its ring
COVER_DEPTH = 7             # 27' cells (a ring of them pads the footprint): zone-map pruning
MAX_RANGES = 32             # row groups hold ~10 deg2 of the full PSC: few ranges suffice
BATCH_ROWS = 4_000_000      # a full resolution reads the scans in batches of about this size
_SLACK = 1e-9               # the SQL pre-filter keeps a sliver more; Footprint.contains decides
_EDGES = ((0, 1), (2, 3), (0, 2), (1, 3))       # start, end, east, west (footprint.py)

_PAIRS, _ROWS, _UPDATES = "_dup_pairs", "_dup_rows", "_dup_updates"


@dataclass
class _Scans:
    """Geometry of every scan with corners, and which of them take part."""
    keys: np.ndarray                    # scan_key, ascending
    part: np.ndarray                    # loaded (takes part)
    corners: np.ndarray                 # (n, 4, 2) ra, dec of corners 1..4
    normals: np.ndarray                 # (n, 4, 3) inward edge normals
    box: np.ndarray                     # (n, 4) dec_lo, dec_hi, ra_centre, ra_half (padded)
    _near: dict[int, np.ndarray] = field(default_factory=dict)
    _fp: dict[int, Footprint] = field(default_factory=dict)
    _cover: dict[int, np.ndarray] = field(default_factory=dict)   # COVER_DEPTH cells
    _by_dec: tuple | None = None

    def index(self, keys: Iterable[int]) -> np.ndarray:
        """Positions of those of ``keys`` that have a footprint."""
        keys = np.asarray(sorted(set(keys)), dtype=np.int64)
        if len(keys) == 0 or len(self.keys) == 0:
            return np.zeros(0, np.int64)
        pos = np.minimum(np.searchsorted(self.keys, keys), len(self.keys) - 1)
        return pos[self.keys[pos] == keys]

    def near(self, i: int) -> np.ndarray:
        """Indices of the taking-part scans (other than ``i``) whose footprint comes within
        ``NEAR_ARCSEC`` of scan ``i``'s (bounding boxes: a superset is harmless)."""
        if i not in self._near:
            if self._by_dec is None:        # scans by lower Dec, to look at a band only
                order = np.argsort(self.box[:, 0], kind="stable")
                self._by_dec = (order, self.box[order, 0].copy(),
                                float((self.box[:, 1] - self.box[:, 0]).max(initial=0.0)))
            order, dec_lo, extent = self._by_dec
            lo, hi, ra_c, half = self.box[i]
            band = order[np.searchsorted(dec_lo, lo - extent):
                         np.searchsorted(dec_lo, hi, side="right")]
            b = self.box[band]
            dra = np.abs((b[:, 2] - ra_c + 180.0) % 360.0 - 180.0)
            hit = (b[:, 1] >= lo) & (dra <= b[:, 3] + half) & self.part[band] & (band != i)
            self._near[i] = np.sort(band[hit])
        return self._near[i]

    def near_all(self, idx: Iterable[int]) -> set[int]:
        out: set[int] = set()
        for i in idx:
            out.update(self.near(int(i)).tolist())
        return out

    def footprint(self, i: int) -> Footprint:
        if i not in self._fp:
            self._fp[i] = Footprint(tuple(map(tuple, self.corners[i].tolist())))
        return self._fp[i]


def _load_scans(con: duckdb.DuckDBPyConnection) -> _Scans:
    cols = ", ".join(f"ra_{k}, dec_{k}" for k in range(1, 5))
    got = con.execute(f"SELECT scan_key, loaded, {cols} FROM scans WHERE scan_key IS NOT NULL "
                      f"AND ra_1 IS NOT NULL AND dec_1 IS NOT NULL AND ra_2 IS NOT NULL "
                      f"AND dec_2 IS NOT NULL AND ra_3 IS NOT NULL AND dec_3 IS NOT NULL "
                      f"AND ra_4 IS NOT NULL AND dec_4 IS NOT NULL ORDER BY scan_key"
                      ).fetchnumpy()
    keys = np.asarray(got["scan_key"], dtype=np.int64)
    corners = np.stack([np.stack([np.asarray(got[f"ra_{k}"], float),
                                  np.asarray(got[f"dec_{k}"], float)], axis=-1)
                        for k in range(1, 5)], axis=1).reshape(len(keys), 4, 2)
    vec = unit_vectors(corners[..., 0], corners[..., 1])              # (n, 4, 3)
    centre = vec.sum(axis=1)
    normals = np.empty_like(vec)
    for e, (a, b) in enumerate(_EDGES):
        n = np.cross(vec[:, a], vec[:, b])
        n /= np.maximum(np.linalg.norm(n, axis=1, keepdims=True), 1e-300)
        flip = np.einsum("ij,ij->i", n, centre) < 0
        normals[:, e] = np.where(flip[:, None], -n, n)
    return _Scans(keys, np.asarray(np.ma.filled(got["loaded"], False), bool), corners,
                  normals, _boxes(vec, centre, normals))


def _boxes(vec: np.ndarray, centre: np.ndarray, normals: np.ndarray) -> np.ndarray:
    """Dec range and RA centre/half-width of each footprint, padded by ``NEAR_ARCSEC``;
    edges are sampled because great circles bulge poleward between corners."""
    t = np.linspace(0.0, 1.0, 33)[None, :, None]
    pts = np.concatenate([vec[:, a, None] * (1 - t) + vec[:, b, None] * t for a, b in _EDGES],
                         axis=1)
    pts /= np.linalg.norm(pts, axis=2, keepdims=True)
    dec = np.degrees(np.arcsin(np.clip(pts[..., 2], -1, 1)))
    ra = np.degrees(np.arctan2(pts[..., 1], pts[..., 0]))
    c = np.degrees(np.arctan2(centre[:, 1], centre[:, 0]))
    rel = (ra - c[:, None] + 180.0) % 360.0 - 180.0
    pad = NEAR_ARCSEC / 3600.0
    lo, hi = dec.min(axis=1) - pad, dec.max(axis=1) + pad
    ra_c = c + (rel.max(axis=1) + rel.min(axis=1)) / 2
    cos_max = np.cos(np.radians(np.minimum(np.maximum(np.abs(lo), np.abs(hi)), 90.0)))
    half = (rel.max(axis=1) - rel.min(axis=1)) / 2 + pad / np.maximum(cos_max, 1e-9)
    # a footprint holding a pole reaches it; one within ~1 deg of a pole: any RA
    hi = np.where((normals[:, :, 2] > 0).all(axis=1), 90.0, hi)
    lo = np.where((normals[:, :, 2] < 0).all(axis=1), -90.0, lo)
    half = np.where((hi > 89.0) | (lo < -89.0), 180.0, np.minimum(half, 180.0))
    return np.stack([lo, hi, ra_c % 360.0, half], axis=1)


def _cover_points(corners: np.ndarray) -> np.ndarray:
    """Unit vectors on a grid over a footprint, at most 10' apart."""
    v = unit_vectors(corners[:, 0], corners[:, 1])
    step = np.radians(10.0 / 60.0)
    along = max(np.linalg.norm(v[0] - v[2]), np.linalg.norm(v[1] - v[3]))
    across = max(np.linalg.norm(v[0] - v[1]), np.linalg.norm(v[2] - v[3]))
    t = np.linspace(0.0, 1.0, int(np.ceil(along / step)) + 2)[:, None, None]
    w = np.linspace(0.0, 1.0, int(np.ceil(across / step)) + 2)[None, :, None]
    p = ((1 - w) * (1 - t) * v[0] + w * (1 - t) * v[1] + (1 - w) * t * v[2] + w * t * v[3])
    p = p.reshape(-1, 3)
    return p / np.linalg.norm(p, axis=1, keepdims=True)


def _hpx_predicate(scans: _Scans, idx: Iterable[int]) -> str:
    """An OR of hpx29 ranges covering the scans' footprints with a ring of 27' cells, so
    that DuckDB's zone maps skip the rest of the hpx29-sorted psc."""
    idx = sorted({int(i) for i in idx})
    todo = [i for i in idx if i not in scans._cover]
    if todo:
        pts = [_cover_points(scans.corners[i]) for i in todo]
        owner = np.repeat(np.arange(len(todo)), [len(p) for p in pts])
        p = np.concatenate(pts)
        lon = np.degrees(np.arctan2(p[:, 1], p[:, 0])) % 360.0
        lat = np.degrees(np.arcsin(np.clip(p[:, 2], -1.0, 1.0)))
        cell = nested.lonlat_to_healpix(Longitude(lon, u.deg), Latitude(lat, u.deg),
                                        COVER_DEPTH).astype(np.int64)
        ring = nested.neighbours(cell.astype(np.uint64), COVER_DEPTH).astype(np.int64)
        bounds = np.flatnonzero(np.diff(owner)) + 1
        for i, grown in zip(todo, np.split(ring, bounds), strict=True):
            grown = grown.ravel()
            scans._cover[i] = np.unique(grown[grown >= 0])
    if not idx:
        return "false"
    cells = np.unique(np.concatenate([scans._cover[i] for i in idx]))
    shift = 2 * (29 - COVER_DEPTH)
    breaks = np.flatnonzero(np.diff(cells) > 1)
    lo = cells[np.r_[0, breaks + 1]] << shift
    hi = (cells[np.r_[breaks, len(cells) - 1]] + 1) << shift
    if len(lo) > MAX_RANGES:            # merge across the smallest gaps
        keep = np.ones(len(lo) - 1, bool)
        keep[np.argsort(lo[1:] - hi[:-1], kind="stable")[: len(lo) - MAX_RANGES]] = False
        lo, hi = lo[np.r_[True, keep]], hi[np.r_[keep, True]]
    return "(" + " OR ".join(f"(hpx29 >= {a} AND hpx29 < {b})"
                             for a, b in zip(lo.tolist(), hi.tolist(), strict=True)) + ")"


@contextmanager
def _registered(con: duckdb.DuckDBPyConnection, name: str, table: pa.Table) -> Iterator[None]:
    """An Arrow table visible to SQL for one step; on an error the original is raised (an
    aborted transaction also refuses the unregister)."""
    con.register(name, table)
    try:
        yield
    except BaseException:
        try:
            con.unregister(name)
        except duckdb.Error:
            pass
        raise
    con.unregister(name)


def _in_list(values: Iterable[int]) -> str:
    return "(" + ", ".join(str(int(v)) for v in values) + ")"


def _overlap_rows(con: duckdb.DuckDBPyConnection, scans: _Scans, idx: list[int]) -> dict:
    """The rows of scans ``idx`` that lie in an overlap (rule 2), as numpy columns.

    SQL keeps rows within the 10" margin of a neighbour by dot products with its edge normals
    (plus a sliver of slack), then Footprint.contains decides exactly on that small set."""
    near = [scans.near(i) for i in idx]
    xk_a = np.repeat(scans.keys[idx], [len(z) for z in near])
    yi_a = np.concatenate(near) if near else np.zeros(0, np.int64)
    n = scans.normals[yi_a]
    pairs = {"xk": xk_a.astype(np.int64), "yi": yi_a.astype(np.int64),
             "dlo": scans.box[yi_a, 0], "dhi": scans.box[yi_a, 1]}
    for e in range(4):
        for c, axis in enumerate("xyz"):
            pairs[f"n{e}{axis}"] = n[:, e, c]
    limit = float(np.sin(np.radians(EDGE_MARGIN_ARCSEC / 3600.0)) - _SLACK)
    dots = " AND ".join(f"p.x * q.n{e}x + p.y * q.n{e}y + p.z * q.n{e}z >= {limit!r}"
                        for e in range(4))
    sql = f"""
        WITH p AS (
            SELECT rowid AS rid, scan_key, ra, dec, hpx29, pts_key, dup_src, use_src,
                   coalesce(least(dist_edge_ns, dist_edge_ew), -1) AS edge,
                   cos(radians(dec)) * cos(radians(ra)) AS x,
                   cos(radians(dec)) * sin(radians(ra)) AS y, sin(radians(dec)) AS z
            FROM psc WHERE scan_key IN {_in_list(scans.keys[idx])}
              AND {_hpx_predicate(scans, idx)})
        SELECT p.rid, p.scan_key, p.ra, p.dec, p.hpx29, p.pts_key, p.dup_src, p.use_src,
               p.edge, q.yi
        FROM p JOIN {_PAIRS} q ON q.xk = p.scan_key AND p.dec BETWEEN q.dlo AND q.dhi
            AND {dots}"""
    with _registered(con, _PAIRS, pa.table(pairs)):
        got = con.execute(sql).fetchnumpy()
    ok = np.zeros(len(got["rid"]), bool)
    yi = np.asarray(got["yi"])
    ra, dec = np.asarray(got["ra"], float), np.asarray(got["dec"], float)
    order = np.argsort(yi, kind="stable")
    bounds = np.flatnonzero(np.diff(yi[order])) + 1
    for part in np.split(order, bounds) if len(order) else []:
        ok[part] = scans.footprint(int(yi[part[0]])).contains(
            ra[part], dec[part], EDGE_MARGIN_ARCSEC)
    rid = np.asarray(got["rid"], np.int64)[ok]
    _, first = np.unique(rid, return_index=True)
    sel = np.flatnonzero(ok)[first]
    return {
        "rid": np.asarray(got["rid"], np.int64)[sel],
        "scan": np.asarray(got["scan_key"], np.int64)[sel],
        "ra": ra[sel], "dec": dec[sel], "hpx29": np.asarray(got["hpx29"], np.int64)[sel],
        "pts": np.ma.filled(got["pts_key"], np.iinfo(np.int64).max).astype(np.int64)[sel],
        "dup": np.ma.filled(got["dup_src"], -1).astype(np.int16)[sel],
        "use": np.ma.filled(got["use_src"], -1).astype(np.int16)[sel],
        "edge": np.asarray(got["edge"], np.int64)[sel],
    }


def _concat(parts: list[dict]) -> dict:
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}


def _matches(ra: np.ndarray, dec: np.ndarray, scan: np.ndarray,
             hpx29: np.ndarray | None = None) -> np.ndarray:
    """(m, 2) index pairs i < j from different scans within ``MATCH_ARCSEC``: an equi-join
    on HEALPix cells (each cell with its 8 neighbours), then the exact distance."""
    n = len(ra)
    if n < 2:
        return np.zeros((0, 2), np.int64)
    if hpx29 is None:
        cell = nested.lonlat_to_healpix(Longitude(ra, u.deg), Latitude(dec, u.deg),
                                        MATCH_DEPTH).astype(np.int64)
    else:
        cell = np.asarray(hpx29, np.int64) >> (2 * (29 - MATCH_DEPTH))
    order = np.argsort(cell, kind="stable")
    ucell, start, count = np.unique(cell[order], return_index=True, return_counts=True)
    ring = nested.neighbours(ucell.astype(np.uint64), MATCH_DEPTH).astype(np.int64)
    a = np.repeat(np.arange(len(ucell)), ring.shape[1])
    other = ring.ravel()
    pos = np.minimum(np.searchsorted(ucell, other), len(ucell) - 1)
    hit = (other >= 0) & (ucell[pos] == other)
    # each pair of occupied cells once, whichever of the two listed the other
    lo, hi = np.minimum(a[hit], pos[hit]), np.maximum(a[hit], pos[hit])
    cell_pairs = np.unique(lo * len(ucell) + hi)
    a, b = cell_pairs // len(ucell), cell_pairs % len(ucell)
    na, nb = count[a], count[b]
    sizes = na * nb
    pair = np.repeat(np.arange(len(a)), sizes)
    off = np.arange(sizes.sum()) - np.repeat(np.cumsum(sizes) - sizes, sizes)
    i = order[start[a][pair] + off // nb[pair]]
    j = order[start[b][pair] + off % nb[pair]]
    keep = (scan[i] != scan[j]) & ((a[pair] != b[pair]) | (i < j))
    i, j = i[keep], j[keep]
    v = unit_vectors(ra, dec)
    chord2 = ((v[i] - v[j]) ** 2).sum(axis=1)
    limit = 2.0 * np.sin(np.radians(MATCH_ARCSEC / 3600.0) / 2.0)
    keep = chord2 <= limit * limit
    return np.sort(np.stack([i[keep], j[keep]], axis=1), axis=1)


def _components(n: int, pairs: np.ndarray) -> np.ndarray:
    """Connected-component label (smallest member index) of each of ``n`` nodes."""
    label = np.arange(n)
    if len(pairs) == 0:
        return label
    i, j = pairs[:, 0], pairs[:, 1]
    while True:
        m = np.minimum(label[i], label[j])
        new = label.copy()
        np.minimum.at(new, i, m)
        np.minimum.at(new, j, m)
        while True:                      # pointer jumping
            jumped = new[new]
            if np.array_equal(jumped, new):
                break
            new = jumped
        if np.array_equal(new, label):
            return label
        label = new


def _flags(label: np.ndarray, scan: np.ndarray, edge: np.ndarray,
           pts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """dup_src and use_src of rows in overlaps from their group labels (rules 4 and 5)."""
    if len(label) == 0:
        return np.zeros(0, np.int16), np.zeros(0, np.int16)
    _, comp = np.unique(label, return_inverse=True)
    size = np.bincount(comp)
    scan_ids, scan_rank = np.unique(scan, return_inverse=True)
    _, per_scan_id = np.unique(comp * len(scan_ids) + scan_rank, return_inverse=True)
    per_scan = np.bincount(per_scan_id)                       # apparitions of (group, scan)
    first = np.unique(per_scan_id, return_index=True)[1]      # one row per (group, scan)
    g = comp[first]
    nscans = np.bincount(g, minlength=len(size))
    split = np.bincount(g, weights=per_scan[per_scan_id[first]] >= 2,
                        minlength=len(size)).astype(int)
    dup_g = np.select([size == 1, nscans >= 3, split == 0, split == 1], [0, 5, 1, 3], 4)
    best = np.lexsort((pts, scan, -edge, comp))               # first row of each group wins
    winner = np.empty(len(size), np.int64)
    is_first = np.r_[True, comp[best][1:] != comp[best][:-1]]
    winner[comp[best][is_first]] = scan[best][is_first]
    use = (size[comp] >= 2) & (scan == winner[comp])
    return dup_g[comp].astype(np.int16), use.astype(np.int16)


def _unread_neighbours(scans: _Scans, cand: set[int], rows: dict,
                       member: np.ndarray) -> set[int]:
    """Scans not read yet that may hold a match of a group member: those whose footprint
    comes within ``NEAR_ARCSEC`` of the member (its matches lie inside their own scans)."""
    missing: set[int] = set()
    scan = rows["scan"][member]
    ra, dec = rows["ra"][member], rows["dec"][member]
    for key in np.unique(scan).tolist():
        at = scan == key
        for z in scans.near(int(scans.index([key])[0])).tolist():
            if z not in cand and z not in missing and scans.footprint(z).contains(
                    ra[at], dec[at], -NEAR_ARCSEC).any():
                missing.add(z)
    return missing


def _resolve(con: duckdb.DuckDBPyConnection, scans: _Scans, write: set[int],
             stats: dict) -> None:
    """Recompute the flags of every row of the ``write`` scans (and of their groups)."""
    if not write:
        return
    cand: set[int] = set(write)
    parts = [_overlap_rows(con, scans, sorted(cand))]
    write_keys = scans.keys[sorted(write)]
    while True:
        rows = _concat(parts)
        pairs = _matches(rows["ra"], rows["dec"], rows["scan"], rows["hpx29"])
        label = _components(len(rows["rid"]), pairs)
        mine = np.isin(rows["scan"], write_keys)
        member = np.isin(label, label[mine])
        missing = _unread_neighbours(scans, cand, rows, member)
        if not missing:
            break
        stats["passes"] += 1
        cand |= missing
        parts.append(_overlap_rows(con, scans, sorted(missing)))
    stats["scans_recomputed"] += len(write)
    stats["scans_read"] += len(cand)
    stats["candidates"] += len(rows["rid"])
    stats["pairs"] += len(pairs)
    sel = np.flatnonzero(member)
    dup, use = _flags(label[sel], rows["scan"][sel], rows["edge"][sel], rows["pts"][sel])
    stats["groups"] += int((np.unique(label[sel], return_counts=True)[1] >= 2).sum())
    changed = (dup != rows["dup"][sel]) | (use != rows["use"][sel])
    stats["rows_updated"] += _apply(con, rows["rid"][sel][changed], dup[changed],
                                    use[changed])
    # the other rows of the write scans are not in an overlap: dup_src 0, use_src 1
    with _registered(con, _ROWS, pa.table({"rid": rows["rid"][mine]})):
        where = (f"scan_key IN {_in_list(write_keys)} "
                 f"AND {_hpx_predicate(scans, sorted(write))}")
        stats["rows_examined"] += con.execute(
            f"SELECT count(*) FROM psc WHERE {where}").fetchone()[0]
        stats["rows_updated"] += con.execute(
            f"UPDATE psc SET dup_src = 0, use_src = 1 WHERE {where} "
            f"AND (dup_src IS DISTINCT FROM 0 OR use_src IS DISTINCT FROM 1) "
            f"AND rowid NOT IN (SELECT rid FROM {_ROWS})").fetchone()[0]


def _apply(con: duckdb.DuckDBPyConnection, rid: np.ndarray, dup: np.ndarray,
           use: np.ndarray) -> int:
    """UPDATE psc from a registered Arrow table keyed by rowid (stable inside the caller's
    transaction, and unique even where pts_key is missing)."""
    if len(rid) == 0:
        return 0
    with _registered(con, _UPDATES, pa.table({"rid": rid, "dup_src": dup, "use_src": use})):
        return con.execute(f"UPDATE psc SET dup_src = d.dup_src, use_src = d.use_src "
                           f"FROM {_UPDATES} d WHERE psc.rowid = d.rid").fetchone()[0]


def _reset_outsiders(con: duckdb.DuckDBPyConnection, scans: _Scans,
                     keys: list[int] | None) -> int:
    """Rule 1: rows of scans that take no part get dup_src 0, use_src 1. ``keys`` None
    means every such row of psc, else the rows of those scans."""
    off = "(dup_src IS DISTINCT FROM 0 OR use_src IS DISTINCT FROM 1)"
    if keys is None:
        with _registered(con, _ROWS, pa.table({"k": scans.keys[scans.part]})):
            return con.execute(f"UPDATE psc SET dup_src = 0, use_src = 1 WHERE {off} AND "
                               f"(scan_key IS NULL OR scan_key NOT IN (SELECT k FROM {_ROWS}))"
                               ).fetchone()[0]
    if not keys:
        return 0
    idx = scans.index(keys)
    spatial = _hpx_predicate(scans, idx.tolist()) if len(idx) == len(keys) else "true"
    return con.execute(f"UPDATE psc SET dup_src = 0, use_src = 1 WHERE {off} AND "
                       f"scan_key IN {_in_list(keys)} AND {spatial}").fetchone()[0]


def _batches(con: duckdb.DuckDBPyConnection, scans: _Scans, batch_rows: int) -> list[set[int]]:
    """Taking-part scans in (Dec, RA) order cut into runs of about ``batch_rows`` rows:
    stretches of a declination strip, compact on the sky (fewer neighbours to read)."""
    got = con.execute("SELECT scan_key, count(*) AS n FROM psc WHERE scan_key IS NOT NULL "
                      "GROUP BY scan_key").fetchnumpy()
    got_keys = np.asarray(got["scan_key"], np.int64)
    rows = np.zeros(len(scans.keys), np.int64)
    if len(scans.keys) and len(got_keys):
        pos = np.minimum(np.searchsorted(scans.keys, got_keys), len(scans.keys) - 1)
        known = scans.keys[pos] == got_keys
        rows[pos[known]] = np.asarray(got["n"], np.int64)[known]
    part = np.flatnonzero(scans.part & (rows > 0))
    box = scans.box[part]
    part = part[np.lexsort((box[:, 2], np.round((box[:, 0] + box[:, 1]) / 2, 3)))]
    out, current, size = [], set(), 0
    for i in part.tolist():
        current.add(i)
        size += rows[i]
        if size >= batch_rows:
            out.append(current)
            current, size = set(), 0
    if current:
        out.append(current)
    return out


def neighbours(con: duckdb.DuckDBPyConnection, scan_keys: Iterable[int]) -> set[int]:
    """Keys of the taking-part scans whose footprints come near those of ``scan_keys``
    (read now, e.g. before a reprocessing deletes the scans): after the scans are dropped,
    resolving these gives the same flags as a resolution of everything."""
    scans = _load_scans(con)
    near = scans.near_all(scans.index(scan_keys).tolist())
    return {int(k) for k in scans.keys[sorted(near)]}


def sky_of_scans(con: duckdb.DuckDBPyConnection, scan_keys: Iterable[int]) -> str:
    """An SQL predicate on hpx29 covering the footprints of ``scan_keys`` (``true`` when a
    scan has no corners): added to a filter on ``scan_key``, it lets the zone maps of the
    hpx29-clustered psc and xsc skip the rest of the sky."""
    keys = sorted({int(k) for k in scan_keys})
    scans = _load_scans(con)
    idx = scans.index(keys)
    return _hpx_predicate(scans, idx.tolist()) if len(idx) == len(keys) else "true"


def resolve_duplicates(con: duckdb.DuckDBPyConnection, scan_keys: Iterable[int] | None = None,
                       *, batch_rows: int = BATCH_ROWS) -> dict:
    """Recompute ``psc.dup_src``/``use_src`` after the sources of ``scan_keys`` changed
    (loaded, replaced or removed; their ``scans`` rows still present), or of every scan when
    None. Runs inside the caller's transaction; updates only rows whose flags change.

    Returns statistics: scans changed/recomputed/read, rows examined, candidates (rows in
    overlaps read), pairs, groups (of 2+), rows updated, passes, seconds.
    """
    started = time.perf_counter()
    stats = {"scans_changed": 0, "scans_recomputed": 0, "scans_read": 0, "rows_examined": 0,
             "candidates": 0, "pairs": 0, "groups": 0, "rows_updated": 0, "passes": 0}
    scans = _load_scans(con)
    if scan_keys is None:
        stats["rows_updated"] += _reset_outsiders(con, scans, None)
        for batch in _batches(con, scans, batch_rows):
            stats["passes"] += 1
            _resolve(con, scans, batch, stats)
    else:
        keys = sorted({int(k) for k in scan_keys})
        stats["scans_changed"] = len(keys)
        idx = scans.index(keys)
        taking_part = {int(i) for i in idx if scans.part[i]}
        outsiders = sorted(set(keys) - set(scans.keys[sorted(taking_part)].tolist()))
        stats["rows_updated"] += _reset_outsiders(con, scans, outsiders)
        # changed scans' footprints, whether still loaded or not, reach their neighbours
        write = taking_part | scans.near_all(idx.tolist())
        if write:
            stats["passes"] += 1
            _resolve(con, scans, write, stats)
    stats["seconds"] = round(time.perf_counter() - started, 3)
    return stats
