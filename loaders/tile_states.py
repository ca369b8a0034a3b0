"""Tiles: the whole-sky grid in the database, and each tile's state from its scans.

The grid comes from ``catscan.geometry.tiles`` (docs/tiles.md); calibration fields, which are
not in it, are added from their scans. A tile's state is recomputed from all of its scans
whenever a night touches it, so it never depends on the order of loads.
"""

from __future__ import annotations

import duckdb


def ensure_tiles(con: duckdb.DuckDBPyConnection) -> None:
    """Fill ``tiles`` with the whole-sky grid the first time it is needed."""
    if con.execute("SELECT count(*) FROM tiles").fetchall()[0][0]:
        return
    from catscan.geometry.tiles import tile_grid

    con.register("catscan_grid", tile_grid())
    try:
        con.execute("INSERT INTO tiles (tile, hemis, ra, dec, ra_1, dec_1, ra_2, dec_2, ra_3, "
                    "dec_3, ra_4, dec_4, hpx29) SELECT tile, hemis, ra, dec, ra_1, dec_1, ra_2, "
                    "dec_2, ra_3, dec_3, ra_4, dec_4, hpx29(ra, dec) FROM catscan_grid")
    finally:
        con.unregister("catscan_grid")


# A tile's state, from all of its scans: loaded if any scan is loaded; otherwise "rescan"
# when its latest scored scan asks for one (QA score 0); "rejected" when Quality Review
# turned its scans down; "processed" / "observed" when scans exist but none was scored /
# processed. The chosen scan is the loaded one with the best score (latest on ties).
_TILE_STATE = """
UPDATE tiles SET status = s.state, chosen_scan_key = s.chosen, quality = s.best, scans = s.n
FROM (
    SELECT tile, count(*) AS n,
        CASE WHEN bool_or(loaded) THEN 'loaded'
             WHEN arg_max(qa_score = 0, jdate) FILTER (WHERE qa_score IS NOT NULL)
                 THEN 'rescan'
             WHEN bool_or(qa_score IS NOT NULL) THEN 'rejected'
             WHEN bool_or(status = 'P') THEN 'processed'
             ELSE 'observed' END AS state,
        arg_max(scan_key, (qa_score, jdate)) FILTER (WHERE loaded) AS chosen,
        max(qa_score) AS best
    FROM scans WHERE tile IN (SELECT tile FROM scans WHERE scan_key IN ({keys}))
    GROUP BY tile
) s WHERE tiles.tile = s.tile
"""


def update_tiles(con, scan_keys: list[int] | None) -> None:
    """Tile states after the scans ``scan_keys`` changed (None: every scan)."""
    if scan_keys is not None and not scan_keys:
        return
    keys = "SELECT scan_key FROM scans" if scan_keys is None else \
        ", ".join(str(int(k)) for k in scan_keys)
    # calibration fields are not in the grid: add them from their first scan's corners
    con.execute(f"""
        INSERT INTO tiles (tile, hemis, ra, dec, ra_1, dec_1, ra_2, dec_2, ra_3, dec_3, ra_4,
                           dec_4, hpx29)
        SELECT tile, arg_min(hemis, scan_key), arg_min(ra, scan_key), arg_min(dec, scan_key),
               arg_min(ra_1, scan_key), arg_min(dec_1, scan_key), arg_min(ra_2, scan_key),
               arg_min(dec_2, scan_key), arg_min(ra_3, scan_key), arg_min(dec_3, scan_key),
               arg_min(ra_4, scan_key), arg_min(dec_4, scan_key), arg_min(hpx29, scan_key)
        FROM scans WHERE scan_key IN ({keys}) AND tile IS NOT NULL AND ra IS NOT NULL
          AND tile NOT IN (SELECT tile FROM tiles)
        GROUP BY tile""")
    con.execute(_TILE_STATE.format(keys=keys))
    # tiles whose every scan went away (a reprocessed night dropped them) are planned again
    con.execute("UPDATE tiles SET status = 'planned', chosen_scan_key = NULL, quality = NULL, "
                "scans = 0 WHERE scans > 0 AND tile NOT IN (SELECT tile FROM scans "
                "WHERE tile IS NOT NULL)")
