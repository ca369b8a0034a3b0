"""UCDs of the catalog columns: UCD1+ for TAP_SCHEMA and VOTables, and the UCD1 names that
Simple Cone Search 1.03 clients look for (ID_MAIN, POS_EQ_RA_MAIN, POS_EQ_DEC_MAIN)."""

from __future__ import annotations

UCD1_SCS = {"ID_MAIN": "designation", "POS_EQ_RA_MAIN": "ra", "POS_EQ_DEC_MAIN": "dec"}

_BANDS = {"j": "em.IR.J", "h": "em.IR.H", "k": "em.IR.K"}

UCDS: dict[str, dict[str, str]] = {
    "psc": {
        "designation": "meta.id;meta.main", "ra": "pos.eq.ra;meta.main",
        "dec": "pos.eq.dec;meta.main", "err_maj": "stat.error;pos.errorEllipse",
        "err_min": "stat.error;pos.errorEllipse", "glon": "pos.galactic.lon",
        "glat": "pos.galactic.lat", "ph_qual": "meta.code.qual;phot",
        "rd_flg": "meta.code;phot", "bl_flg": "meta.code;phot", "cc_flg": "meta.code",
        "use_src": "meta.code", "dup_src": "meta.code.multip", "pts_key": "meta.id",
        "date": "time.epoch;obs", "jdate": "time.epoch", "scan": "meta.id;obs.sequence",
        **{f"{b}_m": f"phot.mag;{band}" for b, band in _BANDS.items()},
        **{f"{b}_msigcom": f"stat.error;phot.mag;{band}" for b, band in _BANDS.items()},
        **{f"{b}_cmsig": f"stat.error;phot.mag;{band}" for b, band in _BANDS.items()},
        **{f"{b}_snr": f"stat.snr;{band}" for b, band in _BANDS.items()},
    },
    "xsc": {
        "designation": "meta.id;meta.main", "ra": "pos.eq.ra;meta.main",
        "dec": "pos.eq.dec;meta.main", "ext_key": "meta.id", "r_k20fe": "phys.angSize",
        "k_ba": "phys.size.axisRatio", "k_phi": "pos.posAng", "cc_flg": "meta.code",
        **{f"{b}_m_k20fe": f"phot.mag;{band}" for b, band in _BANDS.items()},
        **{f"{b}_msig_k20fe": f"stat.error;phot.mag;{band}" for b, band in _BANDS.items()},
    },
}


def ucd(table: str, column: str) -> str | None:
    return UCDS.get(table, {}).get(column)
