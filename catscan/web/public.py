"""Released nights: data the team has made public. A visitor without the team password may
query the catalogs and images, but sees only the rows of released nights (``catscan release
NIGHT``): every table a query names is replaced by the same table restricted to released
nights, in the SQL that is about to run (after the safety checks; the restriction adds only
catscan's own tables). Bookkeeping tables are empty for visitors; the tile grid is public,
like the coverage map."""

from __future__ import annotations

import sqlglot
from sqlglot import exp

RELEASED_SCANS = ("scan_key IN (SELECT rs.scan_key FROM main.scans rs JOIN main.nights rn "
                  "ON rn.date = rs.date AND rn.hemis = rs.hemis WHERE rn.released)")
RELEASED_NIGHTS = ("(date, hemis) IN (SELECT rn.date, rn.hemis FROM main.nights rn "
                   "WHERE rn.released)")
RESTRICTIONS = {
    **dict.fromkeys(("psc", "xsc", "atlas_images", "scans", "scan_status"), RELEASED_SCANS),
    **dict.fromkeys(("nights", "night_qa", "processing_history", "night_status"),
                    RELEASED_NIGHTS),
    **dict.fromkeys(("loads", "schema_version", "catalog_state"), "false"),
}
PUBLIC_TABLES = {"tiles"}


def released_nights(con) -> list[tuple]:
    """(date, hemis) of every released night, in date order."""
    return con.execute("SELECT date, hemis FROM nights WHERE released "
                       "ORDER BY date, hemis").fetchall()


def public_sql(sql: str) -> str:
    """``sql`` (one checked query) with every catscan table restricted to released nights.
    Tables that are not catscan's (TAP_SCHEMA, uploads) are left as they are."""
    tree = sqlglot.parse_one(sql, dialect="duckdb")
    ctes = {cte.alias_or_name.lower() for cte in tree.find_all(exp.CTE)}
    for table in list(tree.find_all(exp.Table)):
        name = table.name.lower()
        schema = (table.db or "main").lower()
        if schema != "main" or name in ctes or name in PUBLIC_TABLES:
            continue
        condition = RESTRICTIONS.get(name)
        if condition is None:
            continue
        inner = sqlglot.parse_one(f'SELECT * FROM main."{name}" WHERE {condition}',
                                  dialect="duckdb")
        alias = table.alias or table.name
        table.replace(exp.Subquery(this=inner, alias=exp.TableAlias(
            this=exp.to_identifier(alias, quoted=True))))
    return tree.sql(dialect="duckdb")
