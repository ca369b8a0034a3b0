"""What a query can name: its sources (tables), their columns (read from the database), the
survey terms reachable without a join, column presets and the functions allowed. Rules as
data: adding a source or a preset is one entry here."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..loaders.schema_info import table_columns


@dataclass(frozen=True)
class Source:
    """A name after ``from``: the table behind it and how positions and scans are found."""

    table: str
    ra: str | None = "ra"           # position columns (None: no regions on this source)
    dec: str | None = "dec"
    index: str | None = "hpx29"     # HEALPix order-29 column the table is sorted by
    scan_key: str | None = None     # column joining to scans (survey terms)
    hidden: tuple[str, ...] = ("hpx29", "hpx11", "load_id")     # left out of select *
    presets: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # rows that cover an area (Atlas Images): the corner columns for the SQL macro
    # atlas_edge_distance, and how far (deg) a footprint reaches from its (ra, dec)
    footprint: tuple[str, ...] | None = None
    reach_deg: float = 0.0
    # rows lie inside their scan's footprint and the table is kept in hpx29 order: the
    # survey words add the hpx29 ranges of their scans' sky (catscan.language.sky)
    scan_sky: bool = False


PSC_PRESETS = {
    "basic": ("designation", "ra", "dec", "j_m", "h_m", "k_m", "ph_qual"),
    "photometry": ("designation", "j_m", "j_cmsig", "j_msigcom", "j_snr", "h_m", "h_cmsig",
                   "h_msigcom", "h_snr", "k_m", "k_cmsig", "k_msigcom", "k_snr", "ph_qual",
                   "rd_flg"),
    "flags": ("designation", "ph_qual", "rd_flg", "bl_flg", "cc_flg", "ndet", "gal_contam",
              "mp_flg", "dup_src", "use_src"),
}
XSC_PRESETS = {
    "basic": ("designation", "ra", "dec", "r_k20fe", "j_m_k20fe", "h_m_k20fe", "k_m_k20fe"),
    "photometry": ("designation", "r_k20fe", "j_m_k20fe", "j_msig_k20fe", "j_flg_k20fe",
                   "h_m_k20fe", "h_msig_k20fe", "h_flg_k20fe", "k_m_k20fe", "k_msig_k20fe",
                   "k_flg_k20fe"),
    "flags": ("designation", "cc_flg", "dup_src", "use_src"),
}

SOURCES: dict[str, Source] = {
    "psc": Source("psc", scan_key="scan_key", presets=PSC_PRESETS, scan_sky=True),
    "xsc": Source("xsc", scan_key="scan_key", presets=XSC_PRESETS, scan_sky=True),
    "scans": Source("scans", scan_key="scan_key", presets={
        "basic": ("date", "hemis", "scan", "tile", "scan_type", "status", "qa_score",
                  "loaded")}),
    "nights": Source("nights", ra=None, dec=None, index=None, presets={
        "basic": ("date", "hemis", "facility", "processed", "version", "kind")}),
    "tiles": Source("tiles", presets={"basic": ("tile", "hemis", "ra", "dec", "status",
                                                "quality")}),
    "images": Source("atlas_images", ra="crval1", dec="crval2", scan_key="scan_key",
                     hidden=("hpx29", "load_id", "fits", "raw_bytes"),
                     footprint=("ra_1", "dec_1", "ra_2", "dec_2", "ra_3", "dec_3", "ra_4",
                                "dec_4"), reach_deg=0.5, presets={
                         "basic": ("coadd_key", "band", "date", "hemis", "scan", "image",
                                   "fname", "crval1", "crval2")}),
    "history": Source("processing_history", ra=None, dec=None, index=None),
    # the operations views (schema 120, docs/operations.md)
    "night_status": Source("night_status", ra=None, dec=None, index=None,
                           hidden=("load_id", "health_command"), presets={"basic": (
                               "night", "facility", "processed", "version", "kind", "scans",
                               "loaded", "mean_qa", "health")}),
    "scan_status": Source("scan_status", scan_key="scan_key",
                          hidden=("hpx29", "load_id", "health_command"), presets={"basic": (
                              "night", "scan", "status", "tile", "tile_state", "scan_type",
                              "qa_score", "loaded", "load_reason")}),
    "night_qa": Source("night_qa", ra=None, dec=None, index=None),
}

# Survey terms: columns of the scan a row comes from, reachable without writing a join.
# name -> SQL over the joined scans row (alias ``s``); used when the source lacks the column.
SURVEY_TERMS: dict[str, str] = {
    "date": "date", "hemis": "hemis", "scan": "scan", "tile": "tile",
    "score": "qa_score", "version": "version", "scan_type": "scan_type",
    "night": "night",               # 'yyyy-mm-dd' || hemis, built by the compiler
}

FUNCTIONS = {
    # scalar maths
    "abs", "sqrt", "cbrt", "exp", "ln", "log", "log10", "log2", "pow", "power", "round",
    "floor", "ceil", "sign", "sin", "cos", "tan", "asin", "acos", "atan", "atan2", "radians",
    "degrees", "pi", "greatest", "least", "coalesce", "nullif", "mod",
    # text
    "upper", "lower", "length", "substr", "substring", "concat", "trim", "strftime", "year",
    "month", "day",
    # astronomy
    "ang_sep",
}
AGGREGATES = {"count", "count_if", "sum", "avg", "min", "max", "stddev", "stddev_samp",
              "variance", "median", "quantile_cont", "mode", "any_value", "arg_min", "arg_max"}
FUNCTIONS |= AGGREGATES

# (fewest, most) arguments of each function (None: no most), as DuckDB takes them: the
# compiler refuses other counts at the call, before sqlglot or DuckDB see it
ARITY: dict[str, tuple[int, int | None]] = {
    **dict.fromkeys(("abs", "sqrt", "cbrt", "exp", "ln", "log10", "log2", "floor", "ceil",
                     "sign", "sin", "cos", "tan", "asin", "acos", "atan", "radians", "degrees",
                     "upper", "lower", "length", "year", "month", "day"), (1, 1)),
    **dict.fromkeys(("log", "round", "trim"), (1, 2)),
    **dict.fromkeys(("pow", "power", "atan2", "nullif", "mod", "strftime"), (2, 2)),
    **dict.fromkeys(("greatest", "least", "coalesce", "concat"), (1, None)),
    **dict.fromkeys(("substr", "substring"), (2, 3)),
    "pi": (0, 0), "ang_sep": (4, 4),
    "count": (0, 1),
    **dict.fromkeys(("count_if", "sum", "avg", "min", "max", "stddev", "stddev_samp",
                     "variance", "median", "mode", "any_value"), (1, 1)),
    **dict.fromkeys(("quantile_cont", "arg_min", "arg_max"), (2, 2)),
}

BANDS = {"j": 1, "h": 2, "k": 3, "ks": 3}
QUALITY_ORDER = "ABCDEFUX"          # ph_qual, best first (2MASS Explanatory Supplement 1.4)


@dataclass(frozen=True)
class Catalog:
    """The columns of every source table, as the database has them."""

    columns: dict[str, tuple[str, ...]]

    @classmethod
    def from_connection(cls, con) -> Catalog:
        return cls({s.table: tuple(c.name for c in table_columns(con, s.table))
                    for s in SOURCES.values()})

    def of(self, source: Source) -> tuple[str, ...]:
        return self.columns.get(source.table, ())
