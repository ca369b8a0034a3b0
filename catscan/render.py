"""Human-readable output on the terminal (rich tables). Data outputs live elsewhere."""

from __future__ import annotations

import locale
import os
import shutil
import subprocess

import pyarrow as pa
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from .info import SKY_DEG2, DatabaseInfo, resolution_arcsec


def _size(n: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return str(n)


def print_info(info: DatabaseInfo, console: Console | None = None) -> None:
    console = console or Console()
    console.print(f"[bold]{info.path}[/bold]: catscan {info.catscan_version}, schema version "
                  f"{info.schema_version}, {_size(info.file_bytes)}", soft_wrap=True)
    nights = ", ".join(f"{n} {'north' if h == 'n' else 'south'}" for h, n in info.nights.items())
    console.print(f"nights: {sum(info.nights.values())}" + (f" ({nights})" if nights else ""),
                  soft_wrap=True)
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
    cell = resolution_arcsec(info.scan_area_depth)
    console.print(f"sky covered by loaded scans: {info.scan_area_deg2:,.2f} deg² "
                  f"({100 * info.scan_area_deg2 / SKY_DEG2:.4f}% of the sky; MOC depth "
                  f"{info.scan_area_depth}, {cell:.3g}\" cells)")
    console.print(f"sky holding catalogued sources (3.4' HEALPix cells): "
                  f"{info.source_area_deg2:,.2f} deg²")
    if info.unsorted:
        console.print(f"[bold]not in hpx29 order[/bold]: {', '.join(info.unsorted)} (a load's "
                      "settle of its sky cells, or a re-sort, was interrupted; spatial queries "
                      "read more than they need): run `catscan optimize`, or any `catscan "
                      "load`, to finish it")
    from .loaders.compact import COMPACT_HINT  # the loaders: only when info prints

    if info.fresh_bytes and info.file_bytes > COMPACT_HINT * info.fresh_bytes:
        console.print(f"[bold]file {info.file_bytes / info.fresh_bytes:.1f}x a fresh copy"
                      f"[/bold]: `catscan compact` would bring {info.file_bytes / 2**20:,.0f} "
                      f"MiB to about {info.fresh_bytes / 2**20:,.0f} MiB")
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
               console: Console | None = None, last: tuple[str, ...] = ()) -> None:
    """A pyarrow table as a text table: the first ``max_rows`` rows of the chosen columns
    (those that fit the terminal; the ``last`` ones always, at the end), and how many rows
    and columns were left out."""
    console = console or Console()
    chosen = [c for c in columns or table.column_names if c not in last]
    width, shown = sum(max(len(name), 10) + 3 for name in last), []
    for name in chosen:                      # ~ header or 10 characters a column, 3 of padding
        width += max(len(name), 10) + 3
        if shown and width > console.width:
            break
        shown.append(name)
    shown += list(last)
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


NULL_TEXT = "null"
BOLD, RESET = "\x1b[1m", "\x1b[0m"


def _texts(column: pa.ChunkedArray) -> list[str]:
    """A column's values as text, floats to 7 digits like ``print_rows``, one line each."""
    values = column.to_pylist()
    if pa.types.is_floating(column.type):
        return [NULL_TEXT if v is None else f"{v:.7g}" for v in values]
    return [NULL_TEXT if v is None else str(v).replace("\n", "\\n") for v in values]


def text_table(table: pa.Table, *, width: int | None = None, units: bool = True
               ) -> tuple[list[str], list[str], int]:
    """A pyarrow table as fixed-width text: (header lines, row lines, columns left out to fit
    ``width``). Plain string work, so 10^5 rows take a second where a rich Table takes a
    minute; units (field metadata) go under the names."""
    columns: list[tuple[str, str, list[str], int, bool]] = []
    used = 0
    for field in table.schema:
        texts = _texts(table.column(field.name))
        unit = (field.metadata or {}).get(b"unit", b"").decode() if units else ""
        unit = f"[{unit}]" if unit else ""
        size = max([len(field.name), len(unit), *map(len, texts)])
        if width is not None and columns and used + size > width:
            break
        used += size + 2
        numeric = pa.types.is_integer(field.type) or pa.types.is_floating(field.type) or \
            pa.types.is_decimal(field.type)
        columns.append((field.name, unit, texts, size, numeric))

    def line(cells) -> str:
        return "  ".join(c.rjust(size) if right else c.ljust(size)
                         for c, (_, _, _, size, right) in zip(cells, columns, strict=True)
                         ).rstrip()

    header = [line([c[0] for c in columns])]
    if any(c[1] for c in columns):
        header.append(line([c[1] for c in columns]))
    header.append("  ".join("─" * c[3] for c in columns))
    rows = [line(cells) for cells in zip(*(c[2] for c in columns), strict=True)]
    return header, rows, table.num_columns - len(columns)


def pager_command() -> str | None:
    """What a long terminal table goes through: ``$PAGER``, else ``less -FRX`` (quits when
    the text fits, keeps colours, leaves the text on the screen) when installed."""
    pager = os.environ.get("PAGER", "").strip()
    if pager:
        return pager
    return "less -FRX" if shutil.which("less") else None


def run_pager(command: str, text: str) -> None:
    """Show ``text`` through a pager (a shell command, as git runs $PAGER)."""
    env = {**os.environ, "LESS": os.environ.get("LESS", "FRX")}
    data = text.encode(locale.getpreferredencoding(False), errors="replace")
    subprocess.run(command, shell=True, input=data, env=env, check=False)


def print_text_table(table: pa.Table, *, console: Console | None = None,
                     pager: str | None = None) -> None:
    """A query result as text. To a pipe or file: every row and column. On a terminal:
    the columns that fit the width, and when the rows do not fit the height, all of them
    through ``pager`` (see ``pager_command``), else the first screenful and a notice."""
    console = console or Console()
    terminal = console.is_terminal
    header, rows, hidden = text_table(table, width=console.width if terminal else None)
    left_out = [f"{hidden} more columns"] if hidden else []
    screen = max(console.height - len(header) - 3, 1)
    if terminal and len(rows) > screen and pager:
        notes = [f"... {left_out[0]}: use --out FILE to get them all"] if left_out else []
        console.file.flush()
        run_pager(pager, "\n".join([BOLD + h + RESET for h in header] + rows + notes) + "\n")
        return
    hint = "use --out FILE to get them all"
    if terminal and len(rows) > screen:
        left_out.insert(0, f"{len(rows) - screen:,} more rows")
        rows = rows[:screen]
        hint = "set $PAGER or use --out FILE to see them all"
    console.print("\n".join(header), style="bold", markup=False, highlight=False,
                  soft_wrap=True)
    if rows:
        console.print("\n".join(rows), markup=False, highlight=False, soft_wrap=True)
    if left_out:
        console.print(f"... {' and '.join(left_out)}: {hint}", style="dim", markup=False,
                      highlight=False, soft_wrap=True)
