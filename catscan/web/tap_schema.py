"""What TAP clients may query, described once: the survey tables of schema ``main`` with
their columns (VOTable types, units and descriptions from the schema's comments, UCDs from
``ucds.py``), their keys, and the TAP_SCHEMA tables built from that description.

The query connections are read-only, with external access off and the configuration locked,
so TAP_SCHEMA cannot be a schema in the file: its five tables are Arrow tables registered on
each connection under plain names (``tap_schema__tables``...) that the ADQL translator
substitutes for ``TAP_SCHEMA.tables``. The VOTable type of a column is a function of its Arrow
type (catscan.votable_types, the one typing of every VOTable catscan writes), so that result
FIELDs agree with TAP_SCHEMA as TAP 1.1 asks. Nothing outside ``main`` (the schema
``private`` holds the team password's hash) and no bookkeeping table is described.

TAP names are ADQL-safe: a column whose name is an ADQL reserved word is offered under
another name (``date`` as ``xdate``, as IRSA's 2MASS tables do; ``night_qa.value`` as
``metric_value``), which the translator maps back (``ColumnInfo.sql_name``); the CLI keeps
the database names. Internal columns (the HEALPix keys, ``load_id``: the CatScan sources'
``hidden`` columns) are not offered at all. Units are VOUnit (``day`` becomes ``d``) and
text is ``char``, with the fixed widths of the release formats where they have one, so that
a column's FIELD is the same in every answer, empty or not.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import duckdb
import pyarrow as pa

from ..language.catalog import SOURCES, Source
from ..loaders.schema_info import column_comments
from ..votable_types import TEXT_WIDTHS, votable_type, vounit
from .ucds import ucd

SCHEMA = "main"
TAP_SCHEMA = "TAP_SCHEMA"
REGISTERED_PREFIX = "tap_schema__"           # TAP_SCHEMA.tables is read as tap_schema__tables
# the survey's tables, in the order clients list them; views of main follow
SURVEY_TABLES = ("psc", "xsc", "scans", "nights", "tiles", "atlas_images",
                 "processing_history", "night_qa")
WITHHELD_COLUMNS = {"atlas_images": ("fits",)}   # pixels: never read by a TAP query
INTERNAL_COLUMNS = Source("").hidden             # hidden of tables without a CatScan source
TABLE_DESCRIPTIONS = {
    "psc": "2MASS Point Source Catalog: one row per source, sorted by the HEALPix index "
           "hpx29 (spatial constraints with CONTAINS or DISTANCE use it)",
    "xsc": "2MASS Extended Source Catalog: one row per galaxy or extended source",
    "scans": "Survey scans: position, photometric zero points, QA scores, load status",
    "nights": "Observing nights: facility, tape receipt, validation, processing",
    "tiles": "Survey tiles (6 deg x 8.5 arcmin): corners, status and the chosen scan",
    "atlas_images": "Atlas Image metadata: one row per image and band (J, H, Ks), with its "
                    "WCS; the pixels come from the image endpoints",
    "processing_history": "Every processing event of a night",
    "night_qa": "24-hour health QA metrics of each night, with their limits",
}
SCHEMA_DESCRIPTIONS = {
    SCHEMA: "The 2MASS survey: Point and Extended Source Catalogs, scans, nights, tiles, "
            "Atlas Image metadata and processing history",
    TAP_SCHEMA: "Descriptions of the tables and columns of this service (TAP 1.1)",
}
# join keys the schema does not declare (it holds no FOREIGN KEYs): (from, target, columns)
RELATIONS = (
    ("psc", "scans", (("scan_key", "scan_key"),)),
    ("psc", "xsc", (("ext_key", "ext_key"),)),
    ("xsc", "scans", (("scan_key", "scan_key"),)),
    ("scans", "nights", (("xdate", "xdate"), ("hemis", "hemis"))),
    ("scans", "tiles", (("tile", "tile"),)),
    ("tiles", "scans", (("chosen_scan_key", "scan_key"),)),
    ("atlas_images", "scans", (("scan_key", "scan_key"),)),
    ("processing_history", "nights", (("xdate", "xdate"), ("hemis", "hemis"))),
    ("night_qa", "nights", (("xdate", "xdate"), ("hemis", "hemis"))),
)
# column names an ADQL query must quote (TAP 1.1 names "size" so, in lower case)
QUOTED_NAMES = frozenset({"size"})
# ADQL names of survey columns whose database names are ADQL reserved words
ADQL_NAMES = {"date": "xdate", "value": "metric_value"}
# ADQL 2.1 reserved words (section 2.1.2): SQL-92's and ADQL's own; a column so named
# would need quotes in every query
RESERVED_WORDS = frozenset("""
ABSOLUTE ACTION ADD ALL ALLOCATE ALTER AND ANY ARE AS ASC ASSERTION AT AUTHORIZATION AVG
BEGIN BETWEEN BIT BIT_LENGTH BOTH BY CASCADE CASCADED CASE CAST CATALOG CHAR CHARACTER
CHAR_LENGTH CHARACTER_LENGTH CHECK CLOSE COALESCE COLLATE COLLATION COLUMN COMMIT CONNECT
CONNECTION CONSTRAINT CONSTRAINTS CONTINUE CONVERT CORRESPONDING COUNT CREATE CROSS CURRENT
CURRENT_DATE CURRENT_TIME CURRENT_TIMESTAMP CURRENT_USER CURSOR DATE DAY DEALLOCATE DECIMAL
DECLARE DEFAULT DEFERRABLE DEFERRED DELETE DESC DESCRIBE DESCRIPTOR DIAGNOSTICS DISCONNECT
DISTINCT DOMAIN DOUBLE DROP ELSE END END-EXEC ESCAPE EXCEPT EXCEPTION EXEC EXECUTE EXISTS
EXTERNAL EXTRACT FALSE FETCH FIRST FLOAT FOR FOREIGN FOUND FROM FULL GET GLOBAL GO GOTO GRANT
GROUP HAVING HOUR IDENTITY IMMEDIATE IN INDICATOR INITIALLY INNER INPUT INSENSITIVE INSERT
INT INTEGER INTERSECT INTERVAL INTO IS ISOLATION JOIN KEY LANGUAGE LAST LEADING LEFT LEVEL
LIKE LOCAL LOWER MATCH MAX MIN MINUTE MODULE MONTH NAMES NATIONAL NATURAL NCHAR NEXT NO NOT
NULL NULLIF NUMERIC OCTET_LENGTH OF ON ONLY OPEN OPTION OR ORDER OUTER OUTPUT OVERLAPS PAD
PARTIAL POSITION PRECISION PREPARE PRESERVE PRIMARY PRIOR PRIVILEGES PROCEDURE PUBLIC READ
REAL REFERENCES RELATIVE RESTRICT REVOKE RIGHT ROLLBACK ROWS SCHEMA SCROLL SECOND SECTION
SELECT SESSION SESSION_USER SET SIZE SMALLINT SOME SPACE SQL SQLCODE SQLERROR SQLSTATE
SUBSTRING SUM SYSTEM_USER TABLE TEMPORARY THEN TIME TIMESTAMP TIMEZONE_HOUR TIMEZONE_MINUTE TO
TRAILING TRANSACTION TRANSLATE TRANSLATION TRIM TRUE UNION UNIQUE UNKNOWN UPDATE UPPER USAGE
USER USING VALUE VALUES VARCHAR VARYING VIEW WHEN WHENEVER WHERE WITH WORK WRITE YEAR ZONE
ABS ACOS ASIN ATAN ATAN2 CEILING COS COT DEGREES EXP FLOOR LOG LOG10 MOD PI POWER RADIANS RAND
ROUND SIN SQRT TAN TOP TRUNCATE AREA BOX CENTROID CIRCLE CONTAINS COORD1 COORD2 COORDSYS
DISTANCE INTERSECTS POINT POLYGON REGION ILIKE OFFSET IN_UNIT
""".lower().split())


def adql_name(table: str, column: str) -> str:
    """The name TAP offers a survey column under: its own, unless a reserved word."""
    if column.lower() not in RESERVED_WORDS:
        return column
    return ADQL_NAMES.get(column.lower(), f"x{column}")


@dataclass(frozen=True)
class ColumnInfo:
    """A column as TAP offers it: ``name`` in ADQL, ``sql_name`` in the database (they
    differ for reserved words: xdate, "date"); ``width``: the fixed width of a text column."""

    name: str
    type: pa.DataType
    description: str | None = None
    unit: str | None = None
    ucd: str | None = None
    indexed: bool = False
    principal: bool = True
    std: bool = False
    sql_name: str = ""
    width: int | None = None
    xtype: str | None = None            # of a text column (an upload's timestamps)

    def __post_init__(self) -> None:
        if not self.sql_name:
            object.__setattr__(self, "sql_name", self.name)

    @property
    def adql_name(self) -> str:
        return f'"{self.name}"' if self.name in QUOTED_NAMES else self.name

    @property
    def votable(self) -> tuple[str, str | None, str | None]:
        datatype, arraysize, xtype = votable_type(self.type)
        if datatype == "char" and xtype is None:
            xtype = self.xtype
        if self.width is not None and datatype == "char":
            arraysize = str(self.width)
        return datatype, arraysize, xtype


@dataclass(frozen=True)
class TableInfo:
    """A table as TAP shows it. ``sql_name``: what the SQL reads (the table itself, or the
    registered Arrow table of a TAP_SCHEMA table); ``position``: (ra, dec, HEALPix index)
    columns when spatial constraints can use the index; ``hidden``: columns of the
    database table that TAP does not show (the rewrites may still read them: the HEALPix
    keys); ``withheld``: those no query may read (pixels)."""

    schema: str
    name: str                    # as queried: "psc", "TAP_SCHEMA.tables"
    sql_name: str
    kind: str                    # "table" or "view"
    description: str | None
    columns: tuple[ColumnInfo, ...]
    position: tuple[str, str, str] | None = None
    hidden: tuple[str, ...] = ()
    withheld: tuple[str, ...] = ()

    def column(self, name: str) -> ColumnInfo | None:
        name = name.lower()
        return next((c for c in self.columns if c.name.lower() == name), None)

    @functools.cached_property
    def lookup(self) -> dict[str, ColumnInfo]:
        """Columns by lower-case name: ADQL names, then database names where they differ."""
        out = {c.sql_name.lower(): c for c in self.columns}
        out.update((c.name.lower(), c) for c in self.columns)
        return out

    @functools.cached_property
    def names(self) -> list[str]:
        """The names a query may use: ADQL names, then database names where they differ."""
        return [c.name for c in self.columns] + [c.sql_name for c in self.columns
                                                 if c.sql_name != c.name]

    def by_sql_name(self, name: str) -> ColumnInfo | None:
        """The column stored under ``name`` in the database (``date`` for xdate)."""
        return next((c for c in self.columns if c.sql_name == name), None)

    @property
    def short_name(self) -> str:
        return self.name.rpartition(".")[2]


@dataclass(frozen=True)
class Key:
    key_id: str
    from_table: str
    target_table: str
    columns: tuple[tuple[str, str], ...]
    description: str | None = None


# ---- TAP_SCHEMA's own tables ---------------------------------------------------------------

_TAP_SCHEMA_COLUMNS: dict[str, list[tuple[str, pa.DataType, str]]] = {
    "schemas": [
        ("schema_name", pa.string(), "schema name, as used in queries"),
        ("utype", pa.string(), "data model type of the schema"),
        ("description", pa.string(), "what the schema holds"),
        ("schema_index", pa.int32(), "recommended order of the schemas in listings")],
    "tables": [
        ("schema_name", pa.string(), "schema the table belongs to"),
        ("table_name", pa.string(), "table name, as used in queries"),
        ("table_type", pa.string(), "table or view"),
        ("utype", pa.string(), "data model type of the table"),
        ("description", pa.string(), "what the table holds"),
        ("table_index", pa.int32(), "recommended order of the tables in listings"),
        ("irsa_dbms", pa.int32(), "21 for the positional catalogs (read by astroquery's "
                                  "Irsa.list_catalogs)"),
        ("irsa_pos", pa.string(), "y when the table has ra and dec columns (read by "
                                  "astroquery's Irsa.list_catalogs)")],
    "columns": [
        ("table_name", pa.string(), "table the column belongs to"),
        ("column_name", pa.string(), "column name, as used in queries"),
        ("datatype", pa.string(), "VOTable datatype of the column's values"),
        ("arraysize", pa.string(), "VOTable arraysize (* for variable-length text)"),
        ("xtype", pa.string(), "VOTable xtype (timestamp for dates)"),
        ("size", pa.int32(), "arraysize as a number where it is one (TAP 1.0)"),
        ("description", pa.string(), "what the column holds"),
        ("utype", pa.string(), "data model type of the column"),
        ("unit", pa.string(), "unit of the values (VOUnit)"),
        ("ucd", pa.string(), "Unified Content Descriptor (UCD1+)"),
        ("indexed", pa.int32(), "1 when constraints on the column are fast"),
        ("principal", pa.int32(), "1 for the columns worth showing first"),
        ("std", pa.int32(), "1 when a standard defines the column"),
        ("column_index", pa.int32(), "recommended order of the columns in listings")],
    "keys": [
        ("key_id", pa.string(), "key identifier (joins TAP_SCHEMA.key_columns)"),
        ("from_table", pa.string(), "table holding the key's columns"),
        ("target_table", pa.string(), "table the key refers to"),
        ("description", pa.string(), "what the key links"),
        ("utype", pa.string(), "data model type of the key")],
    "key_columns": [
        ("key_id", pa.string(), "key identifier (TAP_SCHEMA.keys)"),
        ("from_column", pa.string(), "column of the from_table"),
        ("target_column", pa.string(), "column of the target_table")],
}
_TAP_SCHEMA_KEYS = (
    ("tables", "schemas", (("schema_name", "schema_name"),)),
    ("columns", "tables", (("table_name", "table_name"),)),
    ("keys", "tables", (("from_table", "table_name"),)),
    ("keys", "tables", (("target_table", "table_name"),)),
    ("key_columns", "keys", (("key_id", "key_id"),)),
)


def _tap_schema_tables() -> list[TableInfo]:
    return [TableInfo(TAP_SCHEMA, f"{TAP_SCHEMA}.{name}", REGISTERED_PREFIX + name, "table",
                      f"TAP 1.1 metadata: {name}",
                      tuple(ColumnInfo(c, t, text, std=True) for c, t, text in columns))
            for name, columns in _TAP_SCHEMA_COLUMNS.items()]


# ---- the catalog ---------------------------------------------------------------------------

@dataclass(frozen=True)
class TapCatalog:
    """Every table a TAP query may read, and the TAP_SCHEMA data describing them."""

    tables: tuple[TableInfo, ...]
    keys: tuple[Key, ...]

    @classmethod
    def from_connection(cls, con: duckdb.DuckDBPyConnection) -> TapCatalog:
        tables = [t for t in (_survey_table(con, name, kind) for name, kind in
                              _survey_names(con)) if t is not None]
        tables += _tap_schema_tables()
        by_name = {t.name: t for t in tables}
        keys = []
        for n, (source, target, pairs) in enumerate(
                [(f"{TAP_SCHEMA}.{a}", f"{TAP_SCHEMA}.{b}", c) for a, b, c in _TAP_SCHEMA_KEYS]
                + list(RELATIONS), start=1):
            a, b = by_name.get(source), by_name.get(target)
            if a is None or b is None or not all(a.column(x) and b.column(y) for x, y in pairs):
                continue
            keys.append(Key(f"k{n}_{a.short_name}_{b.short_name}", source, target, pairs,
                            f"{source}.{', '.join(x for x, _ in pairs)} -> {target}"))
        return cls(tuple(tables), tuple(keys))

    def table(self, schema: str | None, name: str) -> TableInfo | None:
        """The table ``schema.name`` (no schema or ``main``: the survey's), case-folded."""
        schema = (schema or SCHEMA).lower()
        name = name.lower()
        return next((t for t in self.tables if t.schema.lower() == schema
                     and t.short_name.lower() == name), None)

    def schemas(self) -> list[str]:
        return list(dict.fromkeys(t.schema for t in self.tables))

    @functools.cached_property
    def renamed(self) -> frozenset[str]:
        """Lower-case ADQL names that differ from a database name somewhere (xdate)."""
        return frozenset(c.name.lower() for t in self.tables for c in t.columns
                         if c.sql_name != c.name)

    def keys_from(self, table: TableInfo) -> list[Key]:
        return [k for k in self.keys if k.from_table == table.name]

    @property
    def registered(self) -> dict[str, pa.Table]:
        """The TAP_SCHEMA tables by the names the SQL reads them under."""
        data = self.__dict__.get("_registered")
        if data is None:
            data = {REGISTERED_PREFIX + name: table for name, table in _schema_data(self).items()}
            object.__setattr__(self, "_registered", data)
        return data

    def register(self, con: duckdb.DuckDBPyConnection) -> None:
        for name, table in self.registered.items():
            con.register(name, table)


def _survey_names(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str]]:
    """(name, table|view) of the survey tables present, then every view of main."""
    tables = {r[0] for r in con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database() "
        "AND schema_name = 'main' AND NOT temporary AND NOT internal").fetchall()}
    views = [r[0] for r in con.execute(
        "SELECT view_name FROM duckdb_views() WHERE database_name = current_database() "
        "AND schema_name = 'main' AND NOT temporary AND NOT internal "
        "ORDER BY view_name").fetchall()]
    return [(t, "table") for t in SURVEY_TABLES if t in tables] + [(v, "view") for v in views]


def _survey_table(con: duckdb.DuckDBPyConnection, name: str, kind: str) -> TableInfo | None:
    try:
        schema = con.sql(f'SELECT * FROM "{name}" LIMIT 0').to_arrow_table().schema
    except duckdb.Error:                     # a view that cannot bind on this database
        return None
    comments = column_comments(con, name)
    source = next((s for s in SOURCES.values() if s.table == name), None)
    names = {f.name for f in schema}
    hidden = tuple(n for n in (source.hidden if source else INTERNAL_COLUMNS) if n in names)
    withheld = tuple(n for n in WITHHELD_COLUMNS.get(name, ()) if n in names)
    hidden += tuple(n for n in withheld if n not in hidden)
    principal = set(source.presets.get("basic", ())) if source else set()
    position = None
    if source is not None and source.ra and source.index and source.index in names:
        position = (source.ra, source.dec, source.index)
    widths = TEXT_WIDTHS.get(name, {})
    columns = []
    for field in schema:
        if field.name in hidden:
            continue
        unit, text = comments.get(field.name, ("", ""))
        columns.append(ColumnInfo(
            adql_name(name, field.name), field.type, text or None, vounit(unit),
            ucd(name, field.name) or _positional_ucd(field.name, names),
            indexed=position is not None and field.name in position[:2],
            principal=field.name in principal if principal else True,
            sql_name=field.name, width=widths.get(field.name)))
    description = con.execute(
        "SELECT comment FROM duckdb_tables() WHERE database_name = current_database() AND "
        "schema_name = 'main' AND table_name = ? UNION ALL SELECT comment FROM duckdb_views() "
        "WHERE database_name = current_database() AND schema_name = 'main' AND view_name = ?",
        [name, name]).fetchall()
    text = (description[0][0] if description else None) or TABLE_DESCRIPTIONS.get(name) or (
        f"view {name}" if kind == "view" else None)
    return TableInfo(SCHEMA, name, name, kind, text, tuple(columns), position, hidden,
                     withheld)


def _positional_ucd(column: str, names: set[str]) -> str | None:
    """pos.eq.ra / pos.eq.dec for the ra, dec pair of tables ucds.py does not cover."""
    if {"ra", "dec"} <= names and column in ("ra", "dec"):
        return f"pos.eq.{column}"
    return None


def _size(arraysize: str | None) -> int | None:
    digits = (arraysize or "").rstrip("*")
    return int(digits) if digits.isdigit() else None


def _schema_data(catalog: TapCatalog) -> dict[str, pa.Table]:
    """The five TAP_SCHEMA tables as Arrow tables (types as declared above)."""
    rows: dict[str, list[tuple]] = {name: [] for name in _TAP_SCHEMA_COLUMNS}
    for i, schema in enumerate(catalog.schemas(), start=1):
        rows["schemas"].append((schema, None, SCHEMA_DESCRIPTIONS.get(schema), i))
    for i, table in enumerate(catalog.tables, start=1):
        names = {c.name for c in table.columns}
        positional = table.schema == SCHEMA and {"ra", "dec"} <= names
        rows["tables"].append((table.schema, table.name, table.kind, None, table.description,
                               i, 21 if positional else None, "y" if positional else "n"))
        for j, column in enumerate(table.columns, start=1):
            datatype, arraysize, xtype = column.votable
            rows["columns"].append((
                table.name, column.adql_name, datatype, arraysize, xtype, _size(arraysize),
                column.description, None, column.unit, column.ucd, int(column.indexed),
                int(column.principal), int(column.std), j))
    for key in catalog.keys:
        rows["keys"].append((key.key_id, key.from_table, key.target_table, key.description,
                             None))
        rows["key_columns"] += [(key.key_id, a, b) for a, b in key.columns]
    out = {}
    for name, columns in _TAP_SCHEMA_COLUMNS.items():
        schema = pa.schema([(c, t) for c, t, _ in columns])
        data = list(zip(*rows[name], strict=True)) if rows[name] else [[] for _ in columns]
        out[name] = pa.table([pa.array(list(values), type=t) for values, (_, t, _) in
                              zip(data, columns, strict=True)], schema=schema)
    return out
