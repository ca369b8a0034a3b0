"""The image pages of 1998, served from the compressed store through catscan.images:

- the Survey Visualizer (``/images``): images by coordinates, night and scan, tile, or a
  click on the sky map; the whole Atlas Image or a subimage, one band or the J/H/Ks
  composite, with the J2000 grid and PSC circles from a CatScan condition; FITS downloads;
- the Image Atlas Server (``/atlas``): J, H and Ks subimages up to 5'x5', or the whole
  Atlas Image holding a position, as FITS;
- the Image Gallery (``/gallery``): composites of the fields with images.

Pictures and FITS files are made per request (a 5' composite takes ~0.1 s)."""

from __future__ import annotations

import io
import math
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..errors import CatscanError, shown
from ..positions import PositionError, parse_position
from .guard import pool_for, team_only
from .pages import render

BAND_CHOICES = ("JHK", "J", "H", "K")
DEFAULT_SIZE = 5.0
GALLERY_SIZE, GALLERY_MAX = 4.0, 12


def picture_size(params) -> float:
    """``size=``: arcminutes, a positive finite number (DEFAULT_SIZE when not given)."""
    text = params.get("size") or str(DEFAULT_SIZE)
    try:
        size = float(text)
    except ValueError:
        size = math.nan
    if not (math.isfinite(size) and size > 0):
        raise CatscanError(f"size={shown(text)!r}: arcminutes, a positive number, e.g. 5")
    return size


@dataclass(frozen=True)
class PictureRequest:
    """What a picture or cutout URL asks for, checked."""

    ra: float
    dec: float
    size: float
    bands: str
    whole: bool
    grid: bool
    overlay: str

    @classmethod
    def of(cls, params) -> PictureRequest:
        try:
            ra, dec = parse_position(params.get("pos", "")) if params.get("pos") else \
                parse_position(params["ra"], params["dec"])
        except KeyError:
            raise CatscanError("give the position as pos=... or ra= and dec= "
                               "(degrees)") from None
        except PositionError as exc:
            raise CatscanError(str(exc)) from None
        size = picture_size(params)
        bands = (params.get("bands") or "JHK").upper()
        if bands not in BAND_CHOICES:
            raise CatscanError(f"bands={bands!r}: choose JHK, J, H or K")
        return cls(ra, dec, size, bands, params.get("whole") in ("1", "on", "true"),
                   params.get("grid") in ("1", "on", "true"), params.get("overlay", "").strip())

    def query(self, **changes) -> str:
        from urllib.parse import urlencode

        values = {"ra": f"{self.ra:.6f}", "dec": f"{self.dec:+.6f}", "size": f"{self.size:g}",
                  "bands": self.bands, "whole": int(self.whole), "grid": int(self.grid),
                  "overlay": self.overlay} | changes
        return urlencode(values)


def picture_png(ses, req: PictureRequest) -> bytes:
    """The PNG a picture request asks for: one band or the composite, grid, overlay."""
    from ..images.extract import cutouts
    from ..images.overlay import overlay_positions
    from ..images.render import (
        band_picture,
        composite_picture,
        decorate,
        default_zoom,
    )

    results = cutouts(req.ra, req.dec, req.size, bands=req.bands, whole=req.whole,
                      db=ses.con)
    first = results[0]
    zoom = 1 if req.whole else default_zoom(first.data.shape)
    overlay = None
    if req.overlay:
        half_diagonal = max(first.data.shape) * abs(float(first.cards.get("CDELT2"))) * 3600
        overlay = overlay_positions(ses, req.ra, req.dec, half_diagonal * 0.75,
                                    req.overlay)
    image = composite_picture(results, zoom) if req.bands == "JHK" and len(results) == 3 \
        else band_picture(first, "asinh", zoom)
    image = decorate(image, first, zoom, grid=req.grid, overlay=overlay)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def cutout_fits(ses, req: PictureRequest, band: str) -> bytes:
    from ..images.extract import cutouts

    [result] = cutouts(req.ra, req.dec, req.size, bands=band, whole=req.whole, db=ses.con)
    return result.fits_bytes()


@team_only
async def picture(request: Request) -> Response:
    try:
        req = PictureRequest.of(request.query_params)
        png = await pool_for(request).run(lambda ses: picture_png(ses, req))
    except CatscanError as exc:
        return Response(str(exc) + "\n", status_code=400, media_type="text/plain")
    return Response(png, media_type="image/png")


@team_only
async def cutout_file(request: Request) -> Response:
    band = request.query_params.get("band", "J").upper()
    try:
        if band not in ("J", "H", "K"):
            raise CatscanError(f"band={band!r}: one of J, H, K")
        req = PictureRequest.of(request.query_params)
        data = await pool_for(request).run(lambda ses: cutout_fits(ses, req, band))
    except CatscanError as exc:
        return Response(str(exc) + "\n", status_code=400, media_type="text/plain")
    name = f"2mass_{band.lower()}_{req.ra:.5f}{req.dec:+.5f}.fits"
    return Response(data, media_type="application/fits",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


# ---- the Survey Visualizer ----------------------------------------------------------------

def _found_images(ses, params, clicked, pixel_deg: float = 0.0):
    """(position or None, images found, what was asked) from the visualizer's form. A click
    on the sky map is as precise as a pixel of it (~0.36 deg, more than an Atlas Image is
    wide): it finds the images within a pixel and centres the picture on the best one
    when the click itself is outside them."""
    from ..images.find import find_images, images_at, images_near

    if clicked is not None:
        found = images_near(ses.con, *clicked, pixel_deg)
        held = images_at(ses.con, *clicked)
        if not held and found:
            clicked = (found[0].crval1, found[0].crval2)
        return clicked, found, "the position clicked on the map"
    pos = (params.get("pos") or "").strip()
    if pos:
        try:
            ra, dec = parse_position(pos)
        except PositionError as exc:
            raise CatscanError(str(exc)) from None
        return (ra, dec), images_at(ses.con, ra, dec), pos
    night, scan, tile = (params.get(k, "").strip() for k in ("night", "scan", "tile"))
    if night or tile:
        from ..operations.status import resolve_night

        date = hemis = None
        if night:
            date, hemis = resolve_night(ses.con, night)
        found = find_images(ses.con, date=date, hemis=hemis,
                            scan=int(scan) if scan else None,
                            tile=int(tile) if tile else None)
        what = " ".join(filter(None, [f"night {night}" if night else "",
                                      f"scan {scan}" if scan else "",
                                      f"tile {tile}" if tile else ""]))
        return None, found, what
    return None, [], ""


@team_only
async def visualizer(request: Request) -> Response:
    from .survey_pages import coverage_map

    params = request.query_params

    def work(ses):
        picture_size(params)                      # refused before any work
        drawn = coverage_map(ses)
        clicked = None
        if "map.x" in params and "map.y" in params:
            clicked = drawn.position(float(params["map.x"]), float(params["map.y"]))
            if clicked is None:
                raise CatscanError("that click is off the sky")
        return _found_images(ses, params, clicked, drawn.scale)

    context = {"params": params, "sizes": (1, 2, 3, 4, 5), "bands": BAND_CHOICES}
    try:
        position, found, what = await pool_for(request).run(work)
    except (CatscanError, ValueError) as exc:
        return render(request, "images.html", status=400, error=str(exc), images=[],
                      position=None, **context)
    picture_query = None
    if position is not None and found:
        size = picture_size(params)
        req = PictureRequest(position[0], position[1], size,
                             (params.get("bands") or "JHK").upper(),
                             params.get("whole") in ("1", "on"),
                             params.get("grid", "on") in ("1", "on"),
                             params.get("overlay", "").strip())
        picture_query = req.query()
    from .sia import did

    return render(request, "images.html", images=found, position=position, what=what,
                  picture_query=picture_query, did=did, **context)


# ---- the Image Atlas Server -----------------------------------------------------------------

@team_only
async def atlas(request: Request) -> Response:
    params = request.query_params
    context = {"params": params}
    if not params.get("pos"):
        return render(request, "atlas.html", results=None, **context)
    try:
        req = PictureRequest.of(params)
    except CatscanError as exc:
        return render(request, "atlas.html", status=400, error=str(exc), results=None,
                      **context)

    def work(ses):
        from ..images.extract import cutouts

        return cutouts(req.ra, req.dec, req.size, bands=req.bands, whole=req.whole,
                       db=ses.con)

    try:
        results = await pool_for(request).run(work)
    except CatscanError as exc:
        return render(request, "atlas.html", status=400, error=str(exc), results=None,
                      **context)
    rows = [{"band": r.band.upper(), "label": r.best.label, "mosaic": r.mosaic,
             "coverage": r.coverage, "shape": r.data.shape,
             "fits": req.query(bands=r.band.upper()) + f"&band={r.band.upper()}",
             "preview": req.query(bands=r.band.upper(), grid=1)} for r in results]
    return render(request, "atlas.html", results=rows, req=req, **context)


# ---- the Image Gallery ----------------------------------------------------------------------

@team_only
async def gallery(request: Request) -> Response:
    def work(ses):
        rows = ses.con.execute(
            "SELECT any_value(crval1), any_value(crval2), date, hemis, scan, image "
            "FROM atlas_images GROUP BY coadd_key, date, hemis, scan, image "
            "ORDER BY date, hemis, scan, image LIMIT ?", [GALLERY_MAX]).fetchall()
        return rows

    rows = await pool_for(request).run(work)
    figures = [{"caption": f"{date:%y%m%d}{hemis} scan {scan} image {image}: "
                           f"{ra:.4f} {dec:+.4f}",
                "query": PictureRequest(ra, dec, GALLERY_SIZE, "JHK", False, True,
                                        "").query()}
               for ra, dec, date, hemis, scan, image in rows]
    return render(request, "gallery.html", figures=figures, size=GALLERY_SIZE)


ROUTES = [
    Route("/images", visualizer, name="visualizer"),
    Route("/images/picture.png", picture, name="picture"),
    Route("/images/cutout.fits", cutout_file, name="cutout_file"),
    Route("/atlas", atlas, name="atlas"),
    Route("/gallery", gallery, name="gallery"),
]
NAV = [("visualizer", "Visualizer"), ("atlas", "Image Atlas"), ("gallery", "Gallery")]
TOOLS = [
    ("visualizer", "Survey Visualizer", "Atlas Images by position, night and scan, tile or a "
     "click on the sky map; composites with the J2000 grid and catalog circles"),
    ("atlas", "Image Atlas Server", "J, H and Ks subimages up to 5'x5', or the whole Atlas "
     "Image holding a position, as FITS"),
    ("gallery", "Image Gallery", "colour composites of the fields with images"),
]
