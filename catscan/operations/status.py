"""The Data Processing Status and History page of 1998, computed from the database.

``night_status`` / ``scan_status`` are SQL views (schema/120_operations.sql), so the same
rows reach the CLI, Python and the CatScan language. The history of a night comes from
``processing_history`` with the audit row of the delivery each event loaded, which still
counts the scans of a delivery that a reprocessing has since replaced.
"""

from __future__ import annotations

import datetime as dt
import re

import duckdb
import pyarrow as pa

from ..errors import CatscanError

# 1998-04-16n, 1998-04-16 n, 19980416n, 980416n (delivery name); the hemisphere may be left
# out when only one hemisphere observed that night
_NIGHT = re.compile(r"^\s*(?:(\d{4})-?(\d{2})-?(\d{2})|(\d{2})(\d{2})(\d{2}))\s*"
                    r"(north|south|[ns]?)\s*$", re.IGNORECASE)

NIGHT_COLUMNS = ("night", "facility", "tape_received", "validated", "processed", "version",
                 "kind", "scans", "scans_p", "scans_f", "scans_r", "scans_dash", "loaded",
                 "scored", "mean_qa", "health", "qa_pass", "qa_warn", "qa_fail", "events",
                 "outcome", "first_processed", "date", "hemis", "computer", "load_id",
                 "health_command")
SCAN_COLUMNS = ("night", "scan", "status", "status_text", "tile", "tile_state", "scan_type",
                "direction", "qa_score", "qa_base", "qa_phot", "qa_sens", "loaded",
                "load_reason", "version", "ut", "seeing", "j_back", "h_back", "k_back",
                "j_zp_ap", "h_zp_ap", "k_zp_ap", "ra", "dec", "jdate", "date", "hemis",
                "scan_key", "health_command")

NIGHT_STATUS_SQL = f"SELECT {', '.join(NIGHT_COLUMNS)} FROM night_status ORDER BY date, hemis"
SCAN_STATUS_SQL = (f"SELECT {', '.join(SCAN_COLUMNS)} FROM scan_status "
                   "WHERE date = ? AND hemis = ? ORDER BY scan, scan_key")
HISTORY_SQL = """
SELECT strftime(h.date, '%Y-%m-%d') || h.hemis AS night, h.event_id AS event, h.kind,
       h.version, h.tape_received, h.validated, h.processed, h.outcome,
       h.event_id = max(h.event_id) OVER (PARTITION BY h.date, h.hemis) AS current,
       l.scans_accepted + l.scans_rejected AS scans, l.scans_accepted AS loaded,
       h.load_id, l.status AS load_status, l.replaced_by, h.note, h.date, h.hemis
FROM processing_history h LEFT JOIN loads l ON l.load_id = h.load_id{where}
ORDER BY h.date, h.hemis, h.event_id
"""


class NightError(CatscanError):
    """A night that cannot be read or is not in the database."""


def night_name(date: dt.date, hemis: str) -> str:
    """The name of a night as the views and the language write it: ``1998-04-16n``."""
    return f"{date:%Y-%m-%d}{hemis}"


def parse_night(text: str) -> tuple[dt.date, str | None]:
    """(date, hemisphere or None) from ``1998-04-16n``, ``19980416n``, ``980416n`` or
    ``1998-04-16 north`` (n, s, north, south, any case)."""
    match = _NIGHT.match(text)
    if not match:
        raise NightError(f"night {text!r}: write a date and hemisphere, e.g. 1998-04-16n "
                         "(n: Mt Hopkins, s: CTIO) or the delivery name 980416n")
    year, month, day, yy, mm, dd, hemis = match.groups()
    if yy is not None:                   # 2MASS observed 1997-2001: yy is 19yy or 20yy
        year, month, day = str((1900 if int(yy) >= 90 else 2000) + int(yy)), mm, dd
    try:
        date = dt.date(int(year), int(month), int(day))
    except ValueError as exc:
        raise NightError(f"night {text!r}: {exc}") from None
    return date, hemis[:1].lower() or None


def resolve_night(con: duckdb.DuckDBPyConnection, text: str) -> tuple[dt.date, str]:
    """The (date, hemis) of a night in the database; an error names the nights there are."""
    date, hemis = parse_night(text)
    rows = con.execute("SELECT hemis FROM nights WHERE date = ? ORDER BY hemis",
                       [date]).fetchall()
    found = [r[0] for r in rows]
    if hemis is None and len(found) == 1:
        return date, found[0]
    if hemis is None and len(found) > 1:
        raise NightError(f"night {text!r}: both hemispheres observed on {date}: write "
                         f"{night_name(date, 'n')} or {night_name(date, 's')}")
    if hemis in found:
        return date, hemis
    nearest = con.execute(
        "SELECT date, hemis FROM nights ORDER BY abs(date_diff('day', date, ?::DATE)), date, "
        "hemis LIMIT 5", [date]).fetchall()
    known = ", ".join(night_name(d, h) for d, h in sorted(nearest))
    where = f" (nearest: {known})" if known else " (the database has no nights yet)"
    wanted = night_name(date, hemis) if hemis else str(date)
    raise NightError(f"no night {wanted} in the database{where}")


def night_status(con: duckdb.DuckDBPyConnection) -> pa.Table:
    """One row per night (the ``night_status`` view), in date order."""
    return con.sql(NIGHT_STATUS_SQL).to_arrow_table()


def scan_status(con: duckdb.DuckDBPyConnection, date: dt.date, hemis: str) -> pa.Table:
    """Every scan of one night (the ``scan_status`` view), in scan order."""
    return con.sql(SCAN_STATUS_SQL, params=[date, hemis]).to_arrow_table()


def history_sql(night: tuple[dt.date, str] | None = None) -> str:
    return HISTORY_SQL.format(where="\nWHERE h.date = ? AND h.hemis = ?" if night else "")


def night_history(con: duckdb.DuckDBPyConnection,
                  night: tuple[dt.date, str] | None = None) -> pa.Table:
    """Every processing event (of one night, or of all), oldest first, with the scans its
    delivery brought and loaded (from its ``loads`` audit row) and whether it is current."""
    return con.sql(history_sql(night), params=list(night) if night else None).to_arrow_table()
