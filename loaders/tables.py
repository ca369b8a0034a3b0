"""Per-table loading rules, as data: keys, aliases and what release lines must not leave null.

Everything else about a table (column names, order, types, NOT NULL and CHECK constraints)
is read from the schema in the database, so ``schema/*.sql`` stays the single source.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from catscan.spatial import MATCH_CELL_COLUMN, match_cell_sql

# Columns a loader computes instead of reading: never present in input files. The value is
# SQL over the staging table (the readers add ``hpx29`` while staging, see readers.py;
# load.py derives the cross-match cell from whichever ``hpx29`` it inserts).
DERIVED_COLUMNS = {
    "hpx29": "hpx29",
    MATCH_CELL_COLUMN: match_cell_sql("hpx29"),
    "load_id": "$load_id",
    "loaded": "scan_key IN (SELECT scan_key FROM psc)",
    "load_reason": "CASE WHEN scan_key IN (SELECT scan_key FROM psc) THEN 'sources loaded' "
                   "ELSE 'scan information only: no sources loaded' END",
}

# After sources arrive, their scans count as loaded (SQL run in the load transaction, with
# the table and the load_id filled in).
_MARK_SCANS_LOADED = (
    "UPDATE scans SET loaded = true, load_reason = 'sources loaded' WHERE NOT loaded "
    "AND scan_key IN (SELECT DISTINCT scan_key FROM {table} WHERE load_id = {load_id})")


@dataclass(frozen=True)
class TableRules:
    table: str
    key: str | None                           # unique record key across the table
    aliases: dict[str, str] = field(default_factory=dict)  # Gator/DVD name -> ours
    release_required: tuple[str, ...] = ()    # "null? no" columns of the release format
    check_designation: bool = False
    sorted_by_hpx29: bool = False             # big tables kept in hpx29 order (zone maps)
    after_insert: str | None = None           # SQL run in the load transaction afterwards
    may_be_empty: bool = False                # an empty file is fine (a scan without galaxies)
    alphabets: dict[str, tuple[str, str]] = field(default_factory=dict)
    # text column -> (RE2 pattern the whole value must match, what it means in words)


# 2mass_reference.md §1.3: the PSC columns that are never null in the release files.
_PSC_REQUIRED = (
    "ra", "dec", "err_maj", "err_min", "err_ang", "designation", "ph_qual", "rd_flg",
    "bl_flg", "cc_flg", "ndet", "prox", "pxcntr", "gal_contam", "mp_flg", "pts_key", "hemis",
    "date", "scan", "glon", "glat", "x_scan", "jdate", "dist_edge_ns", "dist_edge_ew",
    "dist_edge_flg", "dup_src", "use_src", "a", "nopt_mchs", "scan_key", "coadd_key", "coadd",
)

# 2mass_reference.md §1.3-1.5, §2: what the text columns may hold. Three-character flags are
# one character per band J, H, Ks. bl_flg: the reference gives at most 7 components; any
# digit is accepted. Designations: 16 characters by the truncation rule (checked against
# ra/dec separately), then a blank (release files pad to 17) or a suffix letter, or nothing
# (Gator tables do not pad).
_DESIGNATION = ("[0-9]{8}[+-][0-9]{7}[ A-Z]?", "hhmmssss+ddmmsss and a blank or a letter")
_EDGE_FLAG = ("[ns][ew]", "n or s, then e or w")
_PSC_ALPHABETS = {
    "designation": _DESIGNATION,
    "ph_qual": ("[XUFEABCD]{3}", "3 of X U F E A B C D (J, H, Ks)"),
    "rd_flg": ("[0123469]{3}", "3 of 0 1 2 3 4 6 9 (J, H, Ks)"),
    "bl_flg": ("[0-9]{3}", "3 digits (J, H, Ks)"),
    "cc_flg": ("[pcdsb0]{3}", "3 of p c d s b 0 (J, H, Ks)"),
    "ndet": ("[0-9]{6}", "6 digits NMNMNM (J, H, Ks)"),
    "dist_edge_flg": _EDGE_FLAG,
    "a": ("[0TU]", "0, T or U"),
}
_XSC_ALPHABETS = {
    "designation": _DESIGNATION,
    "cc_flg": ("[UCAazZ0]", "one of U C A a z Z 0"),
    "dist_edge_flg": _EDGE_FLAG,
}

_COMMON_ALIASES = {"decl": "dec", "xdate": "date"}

RULES: dict[str, TableRules] = {
    "psc": TableRules(
        "psc", key="pts_key", aliases={**_COMMON_ALIASES, "cntr": "pts_key"},
        release_required=_PSC_REQUIRED, check_designation=True, sorted_by_hpx29=True,
        after_insert=_MARK_SCANS_LOADED, alphabets=_PSC_ALPHABETS),
    "xsc": TableRules(
        "xsc", key="ext_key", aliases={**_COMMON_ALIASES, "cntr": "ext_key"},
        release_required=("jdate", "designation", "ra", "dec", "ext_key"),
        check_designation=True, sorted_by_hpx29=True, after_insert=_MARK_SCANS_LOADED,
        alphabets=_XSC_ALPHABETS),
    "scans": TableRules(
        "scans", key="scan_key", aliases={**_COMMON_ALIASES, "cntr": "scan_key",
                                          "tile_id": "tile"}),
    "night_qa": TableRules("night_qa", key=None, may_be_empty=True),
}
