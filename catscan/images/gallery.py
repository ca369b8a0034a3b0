"""An image gallery, like the 1998 2MASS Image Gallery: a list of objects becomes a web
page of J/H/Ks colour composites with captions.

The list is any table ``catscan.tablefile.read_targets`` reads (CSV, IPAC, VOTable, FITS;
RA/Dec found by name or UCD, in degrees or sexagesimal), with optional columns ``name``
(or ``object``, ``target``, ``id``), ``caption`` (or ``description``, ``comment``) and
``size`` (arcmin, or with a unit). Objects outside the loaded images are listed on the
page as not covered, not dropped silently.
"""

from __future__ import annotations

import html
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import CatscanError
from .errors import ImageError
from .extract import cutouts, size_arcmin
from .render import composite_png

NAME_COLUMNS = ("name", "object", "target", "id")
CAPTION_COLUMNS = ("caption", "description", "comment", "notes")
SIZE_COLUMNS = ("size", "size_arcmin")


@dataclass(frozen=True)
class GalleryObject:
    name: str
    ra: float
    dec: float
    caption: str = ""
    size: float | None = None            # arcmin; None: the gallery's size


@dataclass
class Gallery:
    page: Path
    pictures: list[Path] = field(default_factory=list)
    missing: list[tuple[str, str]] = field(default_factory=list)    # (name, why)


def _column(names: list[str], wanted: tuple[str, ...]) -> str | None:
    lower = {n.lower(): n for n in names}
    return next((lower[w] for w in wanted if w in lower), None)


def read_objects(path: str | Path) -> list[GalleryObject]:
    """The objects of a list file, in its order."""
    from ..tablefile import read_targets

    targets = read_targets(path)
    table = targets.table
    names = table.column_names
    name_col, caption_col = _column(names, NAME_COLUMNS), _column(names, CAPTION_COLUMNS)
    size_col = _column(names, SIZE_COLUMNS)
    objects = []
    for i, row in enumerate(table.to_pylist(), start=1):
        ra, dec = row[targets.ra], row[targets.dec]
        if ra is None or dec is None or not (math.isfinite(ra) and math.isfinite(dec)):
            raise ImageError(f"{path}: row {i}: no position")
        size = None
        if size_col and row[size_col] not in (None, ""):
            try:
                size = size_arcmin(row[size_col] if isinstance(row[size_col], str)
                                   else float(row[size_col]))
            except (ValueError, ImageError) as exc:
                raise ImageError(f"{path}: row {i}: column {size_col}: {exc}") from None
        name = str(row[name_col]).strip() if name_col and row[name_col] is not None else ""
        caption = str(row[caption_col]).strip() \
            if caption_col and row[caption_col] is not None else ""
        objects.append(GalleryObject(name or f"object {i}", float(ra), float(dec), caption,
                                     size))
    if not objects:
        raise ImageError(f"{path}: no objects")
    return objects


def _slug(name: str, index: int) -> str:
    text = re.sub(r"[^A-Za-z0-9+-]+", "_", name).strip("_")[:60]
    return f"{index:03d}_{text or 'object'}"


def _where(result) -> str:
    images = ", ".join(c.label for c in result.sources)
    return f"{'mosaic of ' if result.mosaic else ''}{images}"


def make_gallery(objects: list[GalleryObject], outdir: str | Path, *, db=None,
                 size: float = 5.0, grid: bool = True, title: str = "catscan image gallery",
                 on_object=None) -> Gallery:
    """Composites of every covered object and ``index.html`` in ``outdir``."""
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    gallery = Gallery(outdir / "index.html")
    figures = []
    for index, obj in enumerate(objects, start=1):
        extent = obj.size if obj.size is not None else size
        try:
            results = cutouts(obj.ra, obj.dec, extent, db=db)
            picture = composite_png(results, outdir / f"{_slug(obj.name, index)}.png",
                                    grid=grid)
        except CatscanError as exc:
            gallery.missing.append((obj.name, str(exc)))
            if on_object:
                on_object(obj, None, str(exc))
            continue
        gallery.pictures.append(picture)
        best = results[0]
        coverage = min(r.coverage for r in results)
        facts = (f"{obj.ra:.5f} {obj.dec:+.5f}, {extent:g}'x{extent:g}'; J/H/Ks = "
                 f"blue/green/red; {_where(best)}"
                 + (f"; {100 * (1 - coverage):.0f} % blank (no data)" if coverage < 1
                    else ""))
        figures.append(
            f'<figure><a href="{html.escape(picture.name)}"><img src="'
            f'{html.escape(picture.name)}" alt="{html.escape(obj.name)}" width="300"></a>'
            f"<figcaption><b>{html.escape(obj.name)}</b>"
            + (f"<br>{html.escape(obj.caption)}" if obj.caption else "")
            + f"<br><small>{html.escape(facts)}</small></figcaption></figure>")
        if on_object:
            on_object(obj, picture, None)
    missing = "".join(f"<li>{html.escape(name)}: {html.escape(why)}</li>"
                      for name, why in gallery.missing)
    page = (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        f"<title>{html.escape(title)}</title><style>"
        "body{background:#111;color:#ddd;font-family:sans-serif;margin:2em}"
        "figure{display:inline-block;vertical-align:top;width:300px;margin:1em}"
        "figcaption{font-size:90%;margin-top:.4em}a{color:#9cf}</style></head><body>"
        f"<h1>{html.escape(title)}</h1>"
        f"<p>{len(figures)} object(s); 2MASS Atlas Images, J blue, H green, Ks red, north "
        "up, east left"
        + (", J2000 grid" if grid else "") + ".</p>\n"
        + "\n".join(figures)
        + (f"\n<h2>Not covered</h2><ul>{missing}</ul>" if missing else "")
        + "\n</body></html>\n")
    gallery.page.write_text(page, encoding="utf-8")
    return gallery
