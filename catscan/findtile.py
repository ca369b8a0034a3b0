"""``catscan findtile``: the tiles holding a position, their survey state, quality and scans.

The 1998 FindTile tool took an RA and Dec and returned the Tile Database entry: the tile(s)
in which the position falls and whether they had been observed. Here every tile whose
footprint holds the position (tiles overlap; calibration fields count) comes with its state,
its centre, its quality (defined in :func:`tile_quality`, docs/tiles.md) and every scan of
it with the processing and Quality Review outcome.

Positions come from arguments (:func:`pair_arguments`) or a file (:func:`read_position_file`)
in any form :func:`catscan.positions.parse_position` reads. Nothing here prints: the CLI
renders :class:`FindTileResult` as text (``catscan.render``) or as rows (:func:`write_rows`).
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from .errors import CatscanError, LoadError
from .positions import PositionError, parse_position
from .spatial import tiles_containing

FORMATS = ("text", "csv", "json")
CALIBRATION_IDS = 100_000       # calibration fields have 5-digit ids 9xxxx, survey tiles 6
_SEPARATOR = re.compile(r"[\s,]")


@dataclass(frozen=True)
class Position:
    index: int                  # 1-based, in the order given
    text: str                   # as given (two arguments joined by one space)
    ra: float                   # ICRS degrees
    dec: float
    frame: str = "icrs"         # the frame the text is in


@dataclass(frozen=True)
class Scan:
    scan_key: int
    date: dt.date
    hemis: str
    scan: int
    scan_type: str | None
    status: str                 # P processed, F failed, R running, - not processed
    qa_score: float | None
    loaded: bool
    load_reason: str | None
    version: str | None         # 2MAPPS version that processed the scan
    jdate: float | None

    def label(self) -> str:
        return f"{self.date.isoformat()} {self.hemis} scan {self.scan}"


@dataclass
class Tile:
    tile: int
    hemis: str
    ra: float                   # centre
    dec: float
    state: str                  # planned observed processed loaded rescan rejected
    scans: list[Scan] = field(default_factory=list)
    quality: float | None = None
    quality_scan: Scan | None = None

    @property
    def observed(self) -> bool:
        return bool(self.scans) or self.state != "planned"

    @property
    def calibration(self) -> bool:
        return self.tile < CALIBRATION_IDS


@dataclass
class FindTileResult:
    position: Position
    tiles: list[Tile]


# --- positions ------------------------------------------------------------------------------

def _coordinate_names(frame: str) -> tuple[str, str]:
    return ("l", "b") if frame == "galactic" else ("RA", "Dec")


def pair_arguments(args: list[str], frame: str = "icrs") -> list[str]:
    """Position texts from command-line arguments: an argument holding a blank or a comma is
    a whole position ("00:42:44.3 +41:16:09"); the others pair up in order (RA DEC)."""
    lon, lat = _coordinate_names(frame)
    texts: list[str] = []
    pending: str | None = None
    for arg in args:
        if _SEPARATOR.search(arg.strip()):
            if pending is not None:
                raise PositionError(f"the {lon} {pending!r} has no {lat}: give {lon} {lat} "
                                    f"pairs, or quote each whole position")
            texts.append(arg.strip())
        elif pending is None:
            pending = arg
        else:
            texts.append(f"{pending} {arg}")
            pending = None
    if pending is not None:
        raise PositionError(f"the {lon} {pending!r} has no {lat}: give {lon} {lat} pairs, "
                            f"or quote each whole position")
    return texts


def _parse(text: str, frame: str) -> tuple[float, float]:
    return parse_position(text.replace(",", " "), frame=frame)


def read_position_file(path: str | Path, frame: str = "icrs",
                       first_index: int = 1) -> list[Position]:
    """One position per line; blank lines and ``#`` comments are skipped; ``-`` is stdin.
    A line that is not a position raises :class:`LoadError` naming the file and line."""
    name = "<stdin>" if str(path) == "-" else str(path)
    try:
        if str(path) == "-":
            lines = sys.stdin.read().splitlines()
        else:
            lines = Path(path).read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise CatscanError(f"cannot read the position file {name}: "
                           f"{exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise LoadError(name, f"not a text file (UTF-8): {exc.reason}") from None
    positions = []
    for number, line in enumerate(lines, 1):
        text = line.split("#", 1)[0].strip()
        if not text:
            continue
        try:
            ra, dec = _parse(text, frame)
        except PositionError as exc:
            raise LoadError(name, str(exc), line=number) from None
        positions.append(Position(first_index + len(positions), text, ra, dec, frame))
    return positions


def parse_positions(args: list[str] | None = None, file: str | Path | None = None,
                    frame: str = "icrs") -> list[Position]:
    """The positions of the arguments, then those of the file."""
    texts = pair_arguments(list(args or []), frame)
    positions = []
    for i, text in enumerate(texts, 1):
        try:
            ra, dec = _parse(text, frame)
        except PositionError as exc:
            prefix = f"position {i}: " if len(texts) > 1 else ""
            raise PositionError(f"{prefix}{exc}") from None
        positions.append(Position(i, text, ra, dec, frame))
    if file is not None:
        from_file = read_position_file(file, frame, first_index=len(positions) + 1)
        if not from_file:
            raise CatscanError(f"{'<stdin>' if str(file) == '-' else file}: no positions "
                               "(only blank lines and # comments)")
        positions += from_file
    if not positions:
        raise CatscanError("no position: give RA DEC (e.g. 10.68479 +41.26906 or "
                           "'00:42:44.3 +41:16:09') or --file FILE")
    return positions


# --- tiles ----------------------------------------------------------------------------------

def _scan_order(scan: Scan) -> tuple:
    return (scan.jdate if scan.jdate is not None else float("-inf"), scan.date, scan.scan_key)


def tile_quality(state: str, scans: list[Scan],
                 chosen_scan_key: int | None = None) -> tuple[float | None, Scan | None]:
    """The quality of a tile and the scan it comes from: the QA score of the scan that
    decides the tile's state.

    - ``loaded``: the chosen scan, the loaded scan with the best QA score (latest on ties);
    - ``rescan``: the latest scored scan, which asked for the rescan (score 0);
    - ``rejected``: the best-scoring of the scans Quality Review turned down;
    - ``planned``, ``observed``, ``processed``: none (no scan of the tile has a QA score).
    """
    if state == "loaded":
        loaded = [s for s in scans if s.loaded]
        chosen = [s for s in loaded if s.scan_key == chosen_scan_key]
        if not chosen and loaded:
            chosen = [max(loaded, key=lambda s: (_score(s), *_scan_order(s)))]
        return (chosen[0].qa_score, chosen[0]) if chosen else (None, None)
    scored = [s for s in scans if s.qa_score is not None]
    if not scored:
        return None, None
    if state == "rescan":
        scan = max(scored, key=_scan_order)
    elif state == "rejected":
        scan = max(scored, key=lambda s: (_score(s), *_scan_order(s)))
    else:
        return None, None
    return scan.qa_score, scan


def _score(scan: Scan) -> float:
    return scan.qa_score if scan.qa_score is not None else float("-inf")


def tile_count(con) -> int:
    return con.execute("SELECT count(*) FROM tiles").fetchall()[0][0]


def find_tiles(con, positions: list[Position]) -> list[FindTileResult]:
    """For each position, every tile holding it (in tile id order) with its scans."""
    found = [(p, tiles_containing(con, p.ra, p.dec)) for p in positions]
    ids = sorted({t for _, tiles in found for t in tiles})
    tiles: dict[int, tuple] = {}
    scans: dict[int, list[Scan]] = {t: [] for t in ids}
    if ids:
        for row in con.execute(
                "SELECT tile, hemis, ra, dec, status, chosen_scan_key FROM tiles "
                "WHERE list_contains(?, tile)", [ids]).fetchall():
            tiles[row[0]] = row
        for row in con.execute(
                "SELECT tile, scan_key, date, hemis, scan, scan_type, status, qa_score, "
                "loaded, load_reason, version, jdate FROM scans WHERE list_contains(?, tile) "
                "ORDER BY date, hemis, scan, scan_key", [ids]).fetchall():
            scans[row[0]].append(Scan(*row[1:]))
    results = []
    for position, ids_here in found:
        entries = []
        for t in ids_here:
            tile, hemis, ra, dec, state, chosen = tiles[t]
            quality, quality_scan = tile_quality(state, scans[t], chosen)
            entries.append(Tile(tile, hemis, ra, dec, state, list(scans[t]), quality,
                                quality_scan))
        results.append(FindTileResult(position, entries))
    return results


# --- rows for scripts -----------------------------------------------------------------------

ROW_COLUMNS = (
    "index", "input", "ra", "dec",
    "tile", "calibration", "tile_state", "observed", "tile_ra", "tile_dec", "tile_scans",
    "tile_quality", "quality_scan_key",
    "scan_key", "date", "hemis", "scan", "scan_type", "status", "qa_score", "loaded",
    "load_reason", "version", "quality_scan",
)


def result_rows(results: list[FindTileResult]) -> list[dict]:
    """One row per position x tile x scan; a tile without scans gives one row with empty scan
    columns, a position in no tile one row with empty tile columns."""
    rows = []
    for result in results:
        p = result.position
        base = {c: None for c in ROW_COLUMNS} | {
            "index": p.index, "input": p.text, "ra": p.ra, "dec": p.dec}
        if not result.tiles:
            rows.append(base)
        for tile in result.tiles:
            key = tile.quality_scan.scan_key if tile.quality_scan else None
            with_tile = base | {
                "tile": tile.tile, "calibration": tile.calibration, "tile_state": tile.state,
                "observed": tile.observed, "tile_ra": tile.ra, "tile_dec": tile.dec,
                "tile_scans": len(tile.scans), "tile_quality": tile.quality,
                "quality_scan_key": key}
            if not tile.scans:
                rows.append(with_tile)
            for s in tile.scans:
                rows.append(with_tile | {
                    "scan_key": s.scan_key, "date": s.date.isoformat(), "hemis": s.hemis,
                    "scan": s.scan, "scan_type": s.scan_type, "status": s.status,
                    "qa_score": s.qa_score, "loaded": s.loaded, "load_reason": s.load_reason,
                    "version": s.version, "quality_scan": s.scan_key == key})
    return rows


def _csv_value(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    return str(value)


def write_rows(results: list[FindTileResult], fmt: str, out: TextIO) -> None:
    """``csv`` (a header, empty = null, true/false) or ``json`` (an array of objects)."""
    rows = result_rows(results)
    if fmt == "csv":
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(ROW_COLUMNS)
        for row in rows:
            writer.writerow([_csv_value(row[c]) for c in ROW_COLUMNS])
    elif fmt == "json":
        json.dump(rows, out, indent=1)
        out.write("\n")
    else:
        raise CatscanError(f"unknown format {fmt!r}: choose {', '.join(FORMATS)}")
