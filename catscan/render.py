"""Human-readable output on the terminal (rich tables). Data outputs live elsewhere."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from .info import SKY_DEG2, DatabaseInfo


def _size(n: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return str(n)


def print_info(info: DatabaseInfo, console: Console | None = None) -> None:
    console = console or Console()
    console.print(f"[bold]{info.path}[/bold]: catscan {info.catscan_version}, schema version "
                  f"{info.schema_version}, {_size(info.file_bytes)}")
    nights = ", ".join(f"{n} {'north' if h == 'n' else 'south'}" for h, n in info.nights.items())
    console.print(f"nights: {sum(info.nights.values())}" + (f" ({nights})" if nights else ""))
    if info.versions:
        console.print("2MAPPS versions: " + ", ".join(f"{v}: {n} night(s)"
                                                      for v, n in info.versions.items()))
    scans = Table(title="scans by processing status", title_justify="left")
    for col in ("status", "loaded", "not loaded"):
        scans.add_column(col, justify="right")
    for status in ("P", "F", "R", "-"):
        loaded = info.scans_by_status.get((status, True), 0)
        other = info.scans_by_status.get((status, False), 0)
        scans.add_row(status, f"{loaded:,}", f"{other:,}")
    console.print(scans)
    rows = Table(title="rows per table", title_justify="left")
    rows.add_column("table")
    rows.add_column("rows", justify="right")
    for table, n in info.rows.items():
        rows.add_row(table, f"{n:,}")
    console.print(rows)
    console.print(f"sky covered by loaded scans: {info.scan_area_deg2:,.2f} deg² "
                  f"({100 * info.scan_area_deg2 / SKY_DEG2:.4f}% of the sky)")
    console.print(f"sky holding catalogued sources (3.4' HEALPix cells): "
                  f"{info.source_area_deg2:,.2f} deg²")
    if info.last_loads:
        loads = Table(title="last loads", title_justify="left")
        for col in ("load", "kind", "file", "rows", "status", "finished (UTC)"):
            loads.add_column(col)
        for load_id, kind, path, rows_, status, finished in info.last_loads:
            loads.add_row(str(load_id), kind, path, f"{rows_:,}", status,
                          finished.strftime("%Y-%m-%d %H:%M:%S"))
        console.print(loads)
