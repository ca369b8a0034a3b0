"""The image subcommands of ``catscan``: cutout, composite and gallery (docs/images.md)."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from .errors import CatscanError
from .images.overlay import overlay_positions


def _position(args: argparse.Namespace) -> tuple[float, float]:
    from .findtile import parse_positions

    positions = parse_positions(args.position, None, args.frame)
    if len(positions) != 1:
        raise CatscanError(f"give one position (RA DEC), not {len(positions)}")
    return positions[0].ra, positions[0].dec


def _size(text: str) -> float:
    from .images.extract import size_arcmin

    return size_arcmin(text)


def _base_name(ra: float, dec: float, label: str) -> str:
    """``2MASS_J00424435+4116088_5arcmin``: the position as a 2MASS designation."""
    from .designation import designation

    return f"2MASS_J{designation(ra, dec)}_{label}"


def _describe(result) -> str:
    images = ", ".join(c.label for c in result.sources)
    where = f"mosaic of {images}" if result.mosaic else images
    ny, nx = result.data.shape
    blank = "" if result.coverage >= 1 else \
        f", {100 * (1 - result.coverage):.0f} % blank (no data there)"
    return f"{result.band.upper()}: {nx} x {ny} px, {where}{blank}"


def cmd_cutout(args: argparse.Namespace) -> int:
    from .images.extract import cutouts
    from .images.find import parse_bands
    from .images.render import band_png

    ra, dec = _position(args)
    size = _size(args.size)
    results = cutouts(ra, dec, size, bands=args.bands, whole=args.whole,
                      allow_large=args.allow_large, db=args.db)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    base = _base_name(ra, dec, "whole" if args.whole else f"{size:g}arcmin")
    for result in results:
        path = out / f"{base}_{result.band}.fits"
        path.write_bytes(result.fits_bytes())
        written = [path]
        if args.png:
            written.append(band_png(result, path.with_suffix(".png"), method=args.stretch))
        print(f"{_describe(result)} -> {', '.join(str(p) for p in written)}")
    missing = [b for b in parse_bands(args.bands) if b not in {r.band for r in results}]
    if missing:
        print(f"no data in {', '.join(b.upper() for b in missing)} here")
    return 0


def cmd_composite(args: argparse.Namespace) -> int:
    from .images.extract import cutouts
    from .images.render import composite_png
    from .safety import query_connection

    ra, dec = _position(args)
    size = _size(args.size)
    if not str(args.out).lower().endswith(".png"):
        raise CatscanError(f"--out {args.out}: the composite is a PNG file (name.png)")
    con = query_connection(args.db)
    try:
        overlay = None
        if args.overlay:
            radius = size * 60 / 2 * 2 ** 0.5                  # the picture's half-diagonal
            overlay = overlay_positions(con, ra, dec, radius, args.overlay)
        results = cutouts(ra, dec, size, bands="JHK", allow_large=args.allow_large, db=con)
    finally:
        con.close()
    path = composite_png(results, args.out, grid=args.grid, overlay=overlay, zoom=args.zoom)
    for result in results:
        print(_describe(result))
    circles = f", {len(overlay[0])} catalog source(s) circled" if overlay else ""
    print(f"composite (J blue, H green, Ks red{', J2000 grid' if args.grid else ''}"
          f"{circles}) -> {path}")
    return 0


def cmd_gallery(args: argparse.Namespace) -> int:
    from .images.gallery import make_gallery, read_objects

    objects = read_objects(args.objects)

    def report(obj, picture, problem) -> None:
        print(f"{obj.name}: {picture if picture else 'skipped: ' + problem}", flush=True)

    gallery = make_gallery(objects, args.out, db=args.db, size=_size(args.size),
                           grid=not args.no_grid, title=args.title, on_object=report)
    print(f"{len(gallery.pictures)} composite(s), {len(gallery.missing)} object(s) not "
          f"covered -> {gallery.page}")
    return 0


def _position_arguments(p: argparse.ArgumentParser) -> None:
    # negative sexagesimal Decs (-16:18:16) are positions, not unknown options
    p._negative_number_matcher = re.compile(r"^-\.?\d")
    p.add_argument("position", nargs="+", metavar="RA DEC",
                   help="the centre: 275.12297 -16.30449, 18:20:29.5 -16:18:16, or one "
                   "quoted argument")
    p.add_argument("--frame", choices=["icrs", "galactic"], default="icrs",
                   help="the position is ICRS RA Dec (default) or Galactic l b")


def add_parsers(sub, common: argparse.ArgumentParser) -> None:
    """Add cutout, composite and gallery to the catscan parser."""
    p = sub.add_parser("cutout", parents=[common],
                       help="J, H, Ks sub-images (up to 5'x5') or the whole Atlas Image "
                       "at a position, as FITS files")
    _position_arguments(p)
    p.add_argument("--size", default="5arcmin",
                   help="side of the square (default 5arcmin; a bare number is arcmin)")
    p.add_argument("--bands", default="JHK", help="J, H and/or K (default JHK)")
    p.add_argument("--whole", action="store_true",
                   help="the whole best Atlas Image holding the position instead")
    p.add_argument("--allow-large", action="store_true",
                   help="allow sizes above 5' (a mosaic, up to 30')")
    p.add_argument("--out", default=".", metavar="DIR",
                   help="directory for the files (default: the current one)")
    p.add_argument("--png", action="store_true", help="also a PNG picture of each band")
    p.add_argument("--stretch", choices=["asinh", "zscale"], default="asinh",
                   help="the PNG's stretch (default asinh)")
    p.set_defaults(handler=cmd_cutout)

    p = sub.add_parser("composite", parents=[common],
                       help="a J/H/Ks colour picture (PNG) with an optional J2000 grid and "
                       "catalog overlay")
    _position_arguments(p)
    p.add_argument("--size", default="5arcmin", help="side of the square (default 5arcmin)")
    p.add_argument("--grid", action="store_true", help="draw a labelled J2000 RA/Dec grid")
    p.add_argument("--overlay", metavar="CONDITION", default=None,
                   help="circle the PSC sources meeting a CatScan condition, e.g. "
                   "'clean and j_m < 15'")
    p.add_argument("--allow-large", action="store_true", help="allow sizes above 5'")
    p.add_argument("--zoom", type=int, default=None,
                   help="enlarge each pixel N times (default: about 600 px across)")
    p.add_argument("--out", required=True, metavar="FILE.png")
    p.set_defaults(handler=cmd_composite)

    p = sub.add_parser("gallery", parents=[common],
                       help="an HTML page of colour composites of a list of objects")
    p.add_argument("objects", metavar="OBJECTS",
                   help="CSV (or IPAC, VOTable, FITS) with ra, dec and optionally name, "
                   "caption, size")
    p.add_argument("--out", required=True, metavar="DIR")
    p.add_argument("--size", default="5arcmin", help="default size (default 5arcmin)")
    p.add_argument("--no-grid", action="store_true", help="pictures without the grid")
    p.add_argument("--title", default="catscan image gallery")
    p.set_defaults(handler=cmd_gallery)
