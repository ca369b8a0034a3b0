"""The survey operations subcommands of ``catscan``: status, qa and coverage
(docs/operations.md). Tables leave through ``catscan.results.write_result`` in every output
format, with their provenance; figures are PNGs drawn with Pillow."""

from __future__ import annotations

import argparse
import re
import sys
import time
from pathlib import Path

from .cli_query import PROVENANCE_HELP
from .errors import CatscanError

TABLE_FORMATS = ("table", "csv", "json", "ipac", "votable", "ecsv", "fits", "parquet")


def _output_options(png: bool = False) -> argparse.ArgumentParser:
    output = argparse.ArgumentParser(add_help=False)
    formats = TABLE_FORMATS + (("png",) if png else ())
    output.add_argument("--format", default=None, choices=formats, metavar="FORMAT",
                        help=f"{', '.join(formats)} (default: from --out's suffix, else a "
                        "table on the terminal)")
    output.add_argument("--out", metavar="FILE", default=None,
                        help="write the result to FILE (with its provenance, except CSV)" +
                        ("; a .png FILE is the map" if png else ""))
    output.add_argument("--provenance", action="store_true", help=PROVENANCE_HELP)
    return output


def _note(text: str, table_on_stdout: bool) -> None:
    """A message for people: on stderr when the data itself goes to stdout."""
    print(text, file=sys.stderr if table_on_stdout else sys.stdout, flush=True)


def _emit(table, args: argparse.Namespace, con, sql: str, started: float,
          parameters: dict | None = None, fmt: str | None = None) -> bool:
    """Write the rows as asked; returns whether they went to stdout."""
    from .results import Provenance, output_format, write_result

    fmt = fmt or args.format
    output_format(args.out, fmt)                       # a bad --out fails before writing
    provenance = Provenance.record(con, sql=sql.strip(), row_count=table.num_rows,
                                   elapsed_s=time.perf_counter() - started,
                                   query=_command_text(args), parameters=parameters)
    path = write_result(table, args.out, format=fmt, provenance=provenance,
                        provenance_file=args.provenance)
    if path is not None:
        print(f"{table.num_rows:,} row(s) written to {path}", file=sys.stderr)
    return path is None


def _command_text(args: argparse.Namespace) -> str:
    """The command for the provenance, rebuilt from its arguments (no --db, --out, ...)."""
    words = ["catscan", args.command]
    for name in ("night",):
        if getattr(args, name, None):
            words.append(getattr(args, name))
    for flag in ("history", "scans", "tiles"):
        if getattr(args, flag, False):
            words.append(f"--{flag}")
    if args.command == "coverage":
        words += ["--frame", args.frame]
        if args.region:
            words += ["--region", *args.region]
        if args.depth is not None:
            words += ["--depth", str(args.depth)]
    return " ".join(words)


# --- status ---------------------------------------------------------------------------------

def cmd_status(args: argparse.Namespace) -> int:
    from .db import connect
    from .operations import status

    started = time.perf_counter()
    con = connect(args.db)
    try:
        night = status.resolve_night(con, args.night) if args.night else None
        if args.history:
            table = status.night_history(con, night)
            sql, params = status.history_sql(night), {}
        elif night:
            table = status.scan_status(con, *night)
            sql, params = status.SCAN_STATUS_SQL, {}
        else:
            table = status.night_status(con)
            sql, params = status.NIGHT_STATUS_SQL, {}
        if night:
            params = {"night": status.night_name(*night)}
        on_stdout = _emit(table, args, con, sql, started, params)
        if night and not args.history:
            _night_note(con, night, on_stdout)
        elif not night and not args.history and table.num_rows == 0:
            _note("no nights loaded yet: `catscan load night DIR` loads a delivery", on_stdout)
    finally:
        con.close()
    return 0


def _night_note(con, night, on_stdout: bool) -> None:
    from .operations import status

    [row] = [r for r in status.night_status(con).to_pylist()
             if (r["date"], r["hemis"]) == night]
    events = f"{row['events']} processing events (--history)" if row["events"] > 1 else \
        "1 processing event"
    _note(f"night {row['night']} ({row['facility']}): 2MAPPS {row['version']} "
          f"{row['kind']}, processed {row['processed']}, {events}; {row['scans']} scans "
          f"(P {row['scans_p']}, F {row['scans_f']}, R {row['scans_r']}, - "
          f"{row['scans_dash']}), {row['loaded']} loaded; 24-h health summary "
          f"({row['qa_pass']} pass, {row['qa_warn']} warn, {row['qa_fail']} fail): "
          f"{row['health_command']}", on_stdout)


# --- qa -------------------------------------------------------------------------------------

def cmd_qa(args: argparse.Namespace) -> int:
    from .db import connect
    from .operations import health, status

    started = time.perf_counter()
    if args.plot is not None and Path(args.plot).suffix.lower() != ".png":
        raise CatscanError(f"--plot {args.plot}: the plot is a PNG; name it FILE.png")
    con = connect(args.db)
    try:
        date, hemis = status.resolve_night(con, args.night)
        name = status.night_name(date, hemis)
        summary = health.health_summary(con, date, hemis)
        trends = health.scan_trends(con, date, hemis)
        table, sql = (trends, health.TREND_SQL) if args.scans else \
            (summary, health.SUMMARY_SQL)
        on_stdout = _emit(table, args, con, sql, started, {"night": name})
        if args.plot is not None:
            [(facility, version)] = con.execute(
                "SELECT facility, version FROM nights WHERE date = ? AND hemis = ?",
                [date, hemis]).fetchall()
            drawn = health.trend_plot(name, facility, version, summary, trends, args.plot)
            _note(f"health trends of {drawn.scans} scans drawn in {drawn.path}", on_stdout)
    finally:
        con.close()
    if summary.num_rows == 0:
        _note(f"night {name} has no health summary (no night_qa rows)", on_stdout)
    else:
        counts = health.status_counts(summary)
        _note(f"night {name}: {counts['pass']} pass, {counts['warn']} warn, "
              f"{counts['fail']} fail" + ("" if args.plot else
                                          f"; trends as a PNG: catscan qa {name} --plot "
                                          "qa.png"), on_stdout)
    return 0


# --- coverage -------------------------------------------------------------------------------

def _region(args: argparse.Namespace):
    from astropy import units as u

    from .geometry.footprint import unit_vectors
    from .operations import projection
    from .operations.skymap import Region
    from .positions import parse_angle, parse_position

    lon_text, lat_text, size_text = args.region
    frame = "galactic" if args.frame == "galactic" else "icrs"
    ra, dec = parse_position(lon_text, lat_text, frame=frame)
    lon, lat = ra, dec
    if args.frame == "galactic":
        vector = projection.to_frame(unit_vectors([ra], [dec]), "galactic")
        lon, lat = (float(c[0]) for c in projection.lonlat(vector))
    size = parse_angle(size_text, unit=u.deg)
    if not 0 < size <= 60:
        raise CatscanError(f"--region size {size_text}: give 0 to 60 degrees (e.g. 2, 30arcmin)")
    return Region(lon, lat, size, args.frame)


def cmd_coverage(args: argparse.Namespace) -> int:
    import numpy as np

    from .content import database_file
    from .db import connect
    from .operations import coverage, projection

    started = time.perf_counter()
    region = _region(args) if args.region else None
    fmt = args.format
    map_path = args.plot
    if fmt == "png" or (args.out and Path(args.out).suffix.lower() == ".png" and fmt is None):
        if args.out is None:
            raise CatscanError("--format png: give the map's file with --out FILE.png")
        if args.plot is not None:
            raise CatscanError("give the map once: --out FILE.png or --plot FILE.png")
        map_path = args.out
    if map_path is not None and Path(map_path).suffix.lower() != ".png":
        option = "--plot" if map_path == args.plot else "--out"
        raise CatscanError(f"{option} {map_path}: the map is a PNG; name it FILE.png")
    if args.width is not None and not 400 <= args.width <= 10000:
        raise CatscanError(f"--width {args.width}: give 400 to 10000 pixels")
    table_wanted = map_path is None or map_path == args.plot
    con = connect(args.db)
    try:
        db_file = database_file(con)
        tiles = coverage.load_tiles(con)
        if len(tiles) == 0:
            raise CatscanError("the tiles table is empty: `catscan init` fills the tile grid")
        shown = tiles
        if region is None:
            summary = coverage.whole_sky_summary(con, tiles, args.depth)
        else:
            corners = region.corners_icrs()
            cover = coverage.compute_coverage(tiles, args.depth, region=corners)
            shown = tiles.subset(np.flatnonzero(projection.overlapping(tiles.corners,
                                                                       corners)))
            counts = {(h, s): int(np.count_nonzero((shown.state == s) &
                                                   ((shown.hemis == h) | (h == "all"))))
                      for h in coverage.HEMISPHERES for s in coverage.STATES}
            summary = coverage.coverage_table(cover, counts)
        depth = summary.column("moc_depth")[0].as_py()
        on_stdout = False
        if table_wanted:
            table = coverage.tile_rows(shown) if args.tiles else summary
            params = {"frame": args.frame, "moc_depth": depth}
            if region is not None:
                params["region"] = " ".join(args.region)
            on_stdout = _emit(table, args, con, coverage.TILES_SQL, started, params,
                              fmt=None if fmt == "png" else fmt)
    finally:
        con.close()
    headline = _headline(summary, region, depth)
    if map_path is not None:
        from .operations import skymap  # astropy's WCS and Pillow: only for a map

        if region is None:            # kept beside the database (operations/livemap.py)
            from .operations import livemap, plot

            live = livemap.map_of(db_file, tiles, frame=args.frame, width=args.width or 1800,
                                  title=f"catscan sky coverage ({args.frame}, "
                                  f"Hammer-Aitoff): {headline[0]}")
            drawn = skymap.SkyMap(plot.save_file(live.png, map_path), live.size, args.frame)
        else:
            drawn = skymap.region_map(tiles, region, map_path, width=args.width or 1000,
                                      title=f"{skymap.region_title(region)}: "
                                      f"{headline[0]}")
        _note(f"map ({drawn.size[0]} x {drawn.size[1]} px) written to {drawn.path}",
              on_stdout)
    _note("; ".join(headline), on_stdout)
    return 0


def _percent(value: float | None) -> str:
    if value is None:
        return "n/a"
    return f"{value:.3g}%" if value < 10 else f"{value:.1f}%"


def _headline(summary, region, depth: int) -> list[str]:
    """The loaded fractions: of the sky (or region) and of each hemisphere."""
    from .operations.coverage import resolution_arcsec

    rows = {(r["hemisphere"], r["state"]): r for r in summary.to_pylist()}
    where = "of the region" if region is not None else "of the sky"
    loaded = rows[("all", "loaded")]
    parts = [f"loaded {_percent(loaded['percent'])} {where} ({loaded['area']:.4g} sq. deg, "
             f"{loaded['tiles']:,} tiles)"]
    hemispheres = [f"{name} {_percent(rows[(h, 'loaded')]['percent'])}"
                   for h, name in (("n", "north (Mt Hopkins)"), ("s", "south (CTIO)"))
                   if rows[(h, "loaded")]["domain_area"]]
    if hemispheres:
        whose = "its hemisphere" if len(hemispheres) == 1 else "their hemispheres"
        inside = " in the region" if region is not None else ""
        parts.append(f"{', '.join(hemispheres)} of {whose}{inside}")
    parts.append(f"MOC depth {depth} ({resolution_arcsec(depth):.3g}\" cells)")
    return parts


def add_parsers(sub, common: argparse.ArgumentParser) -> None:
    """Add status, qa and coverage to the ``catscan`` parser."""
    p = sub.add_parser("status", parents=[common, _output_options()],
                       help="processing status and history: one row per night, or every "
                       "scan of a night")
    p.add_argument("night", nargs="?", metavar="NIGHT",
                   help="a night, e.g. 1998-04-16n or 980416n: its scans with status, "
                   "tile, QA score and factors, loaded flag and reason")
    p.add_argument("--history", action="store_true",
                   help="every processing event (of NIGHT, or of all nights), not only the "
                   "current one")
    p.set_defaults(handler=cmd_status)

    p = sub.add_parser("qa", parents=[common, _output_options()],
                       help="a night's 24-h telescope/camera health summary, and its trends "
                       "as a PNG")
    p.add_argument("night", metavar="NIGHT", help="e.g. 1998-04-16n or 980416n")
    p.add_argument("--plot", metavar="FILE.png", default=None,
                   help="draw seeing, backgrounds and zero points of each scan through the "
                   "night")
    p.add_argument("--scans", action="store_true",
                   help="the per-scan values the plot draws, instead of the summary")
    p.set_defaults(handler=cmd_qa)

    p = sub.add_parser("coverage", parents=[common, _output_options(png=True)],
                       help="sky coverage by tile state: areas on the sphere, and an all-sky "
                       "or regional map")
    # --region takes a Dec such as -16:18:16 or -16.3: a coordinate, not an option
    p._negative_number_matcher = re.compile(r"^-\.?\d")
    p.add_argument("--plot", metavar="FILE.png", default=None,
                   help="also draw the map into FILE.png (the table still goes to --out or "
                   "the terminal)")
    p.add_argument("--frame", choices=["equatorial", "galactic"], default="equatorial",
                   help="map coordinates, and those of --region (default equatorial)")
    p.add_argument("--region", nargs=3, metavar=("RA", "DEC", "SIZE"), default=None,
                   help="zoom to a SIZE x SIZE square (e.g. 2, 30arcmin; at most 60 deg) "
                   "around RA DEC (l b with --frame galactic): tile outlines and ids, "
                   "areas within the square")
    p.add_argument("--tiles", action="store_true",
                   help="one row per tile (in the region) instead of the areas per state")
    p.add_argument("--width", type=int, default=None,
                   help="map width in pixels (default 1800 all-sky, 1000 region)")
    p.add_argument("--depth", type=int, default=None,
                   help="HEALPix depth of the MOCs (default: 14 for a few hundred tiles "
                   "outside the commonest state, coarser for more)")
    p.set_defaults(handler=cmd_coverage)
