"""Human-readable output on the terminal (rich tables). Data outputs live elsewhere."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
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


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


def _score(value) -> str:
    return "" if value is None else f"{value:g}"


def print_findtile(results, grid_tiles: int, console: Console | None = None) -> None:
    """``catscan findtile`` as text: per position, each tile holding it with its state,
    centre and quality, and a table of its scans (* marks the scan giving the quality)."""
    if console is None:
        console = Console()
        if not console.is_terminal:          # into a file or a pipe: do not fold the reasons
            console = Console(width=160)
    for n, result in enumerate(results):
        p = result.position
        if n:
            console.print()
        frame = " (Galactic l b)" if p.frame == "galactic" else ""
        console.print(f"[bold]{p.index}. {escape(p.text)}[/bold]{frame}: "
                      f"RA {p.ra:.6f} Dec {p.dec:+.6f} (ICRS)")
        if not result.tiles:
            hint = ("the tiles table is empty: run `catscan init` to lay out the tile grid"
                    if grid_tiles == 0 else "outside every tile of the grid")
            console.print(f"  in no tile ({hint})")
            continue
        count = len(result.tiles)
        console.print(f"  in {count} tile{'s' if count > 1 else ''}: "
                      + ", ".join(str(t.tile) for t in result.tiles))
        for tile in result.tiles:
            kind = "calibration field" if tile.calibration else "tile"
            side = "north" if tile.hemis == "n" else "south"
            scans = len(tile.scans)
            if tile.quality_scan:
                quality = f", quality {_score(tile.quality)} from {tile.quality_scan.label()}"
            elif tile.observed:
                quality = ", no quality yet"
            else:
                quality = ", not observed yet"
            console.print(f"  [bold]{kind} {tile.tile}[/bold]: {tile.state}{quality}")
            seen = f"; observed, {scans} scan{'s' if scans != 1 else ''}" if scans else ""
            console.print(f"    {side}; centre RA {tile.ra:.6f} Dec {tile.dec:+.6f}{seen}")
            if not tile.scans:
                continue
            table = Table(box=None, padding=(0, 2, 0, 0), pad_edge=False)
            table.add_column("    date")
            for col in ("n/s", "scan", "type", "status", "QA", "loaded", "2MAPPS"):
                table.add_column(col, justify="right" if col in ("scan", "QA") else "left")
            table.add_column("reason", overflow="fold")
            for s in tile.scans:
                mark = "*" if s is tile.quality_scan else " "
                table.add_row(f"    {s.date.isoformat()}", s.hemis, str(s.scan),
                              s.scan_type or "", s.status, _score(s.qa_score) + mark,
                              _yes(s.loaded), s.version or "", escape(s.load_reason or ""))
            console.print(table)


def _cell(value) -> str:
    if value is None:
        return "[dim]null[/dim]"
    if isinstance(value, float):
        return f"{value:.7g}"
    return escape(str(value))


def print_rows(table, *, max_rows: int = 50, columns: list[str] | None = None,
               console: Console | None = None) -> None:
    """A pyarrow table as a text table: the first ``max_rows`` rows of the chosen columns
    (those that fit the terminal), and how many rows and columns were left out."""
    console = console or Console()
    chosen = list(columns or table.column_names)
    width, shown = 0, []
    for name in chosen:                      # ~ header or 10 characters a column, 3 of padding
        width += max(len(name), 10) + 3
        if shown and width > console.width:
            break
        shown.append(name)
    hidden = table.num_columns - len(shown)
    table = table.select(shown)
    out = Table(show_edge=False, header_style="bold")
    for name in table.column_names:
        out.add_column(escape(name), overflow="fold")
    for row in table.slice(0, max_rows).to_pylist():
        out.add_row(*[_cell(v) for v in row.values()])
    console.print(out)
    left_out = [f"{table.num_rows - max_rows:,} more rows"] if table.num_rows > max_rows else []
    left_out += [f"{hidden} more columns"] if hidden else []
    if left_out:
        console.print(f"[dim]... {' and '.join(left_out)}: use --out FILE to get them all[/dim]")
