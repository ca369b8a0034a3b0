"""The coverage map as a PNG: every tile's footprint coloured by its state, drawn with Pillow.

All-sky: the Hammer-Aitoff (FITS AIT) projection, east to the left, centred on RA 0 (or
l 0), with a 30 deg graticule, the Galactic plane, a legend and the counts per state in
the title; loaded tiles are green as on the 1998 maps. A region: a gnomonic (TAN) view,
astropy's WCS, where tile edges (great circles) are straight, drawn as outlines over a
light fill with their ids. The 56,774 tiles of the grid draw in well under a second.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image, ImageDraw

from ..geometry.footprint import unit_vectors
from . import plot, projection
from .coverage import STATE_TEXT, STATES, Tiles

if TYPE_CHECKING:          # astropy's WCS: imported by region maps only (~1 s)
    from astropy.wcs import WCS

STATE_COLOURS: dict[str, plot.Colour] = {
    "planned": (205, 205, 205), "observed": (235, 190, 20), "processed": (50, 110, 220),
    "loaded": (20, 160, 50), "rescan": (245, 120, 20), "rejected": (200, 20, 40)}
# the states that need attention last, on top: tiles under a pixel wide share pixels
DRAW_ORDER = ("planned", "loaded", "processed", "observed", "rescan", "rejected")
GRATICULE: plot.Colour = (110, 110, 110)
REGION_GRATICULE: plot.Colour = (40, 60, 150)
GALACTIC_PLANE: plot.Colour = (190, 0, 190)
BACKGROUND = plot.WHITE
TOP, BOTTOM, SIDE = 74, 56, 44            # all-sky layout: title, legend, side margins [px]


@dataclass
class SkyMap:
    """What was drawn, for callers and tests: the file, its size, the legend's swatches and
    the projection (all-sky: FITS AIT centre pixel and scale; region: an astropy WCS)."""

    path: Path
    size: tuple[int, int]
    frame: str
    legend: dict[str, plot.Box] = field(default_factory=dict)
    title: str = ""
    centre_px: tuple[float, float] = (0.0, 0.0)   # all-sky: pixel of (0, 0), 0-based
    scale: float = 1.0                            # all-sky: degrees per pixel at the centre
    wcs: WCS | None = None                        # region
    labelled: list[int] = field(default_factory=list)   # region: tiles whose id is shown
    image: Image.Image | None = field(default=None, repr=False)   # all-sky: what was drawn

    def allsky_pixel(self, lon, lat) -> tuple[np.ndarray, np.ndarray]:
        """Pixel (x, y), 0-based, of longitude/latitude in the map's frame."""
        x, y = projection.hammer_aitoff(projection.wrap(lon), np.asarray(lat, float))
        return self.centre_px[0] - x / self.scale, self.centre_px[1] - y / self.scale


def _frame_lonlat(corners_or_vectors: np.ndarray, frame: str) -> tuple[np.ndarray, np.ndarray]:
    return projection.lonlat(projection.to_frame(corners_or_vectors, frame))


def _galactic_plane(frame: str, step: float = 0.5) -> tuple[np.ndarray, np.ndarray]:
    """Points of b = 0 (l from 0 to 360) as (lon, lat) in ``frame``."""
    l_deg = np.arange(0.0, 360.0 + step, step)
    galactic = unit_vectors(l_deg, np.zeros_like(l_deg))
    return projection.lonlat(projection.to_frame(projection.from_frame(galactic, "galactic"),
                                                 frame))


def _title(draw: ImageDraw.ImageDraw, first: str, second: str) -> None:
    draw.text((SIDE, 10), first, fill=plot.BLACK, font=plot.font(20))
    draw.text((SIDE, 40), second, fill=plot.INK, font=plot.font(15))


def counts_line(counts: dict[str, int]) -> str:
    return "tiles: " + ", ".join(f"{STATE_TEXT[s]} {counts.get(s, 0):,}" for s in STATES)


def _legend(draw: ImageDraw.ImageDraw, y: int, counts: dict[str, int]) -> dict[str, plot.Box]:
    items = [(f"{STATE_TEXT[s]} ({counts.get(s, 0):,})", STATE_COLOURS[s]) for s in STATES]
    boxes = plot.legend(draw, (SIDE, y), items + [("Galactic plane", GALACTIC_PLANE)])
    return {s: boxes[label] for s, (label, _) in zip(STATES, items, strict=True)} | {
        "galactic plane": boxes["Galactic plane"]}


# --- all sky --------------------------------------------------------------------------------

@dataclass(frozen=True)
class AllskyLayout:
    """Where an all-sky map of ``width`` pixels puts the sky: image size, the FITS AIT
    centre pixel (0-based) and degrees per pixel at the centre."""

    size: tuple[int, int]
    centre_px: tuple[float, float]
    scale: float


def allsky_layout(width: int) -> AllskyLayout:
    if width < 400:
        raise ValueError("the map needs a width of at least 400 pixels")
    map_width = width - 2 * SIDE
    scale = 2 * projection.AIT_HALF_WIDTH / map_width
    map_height = int(round(2 * projection.AIT_HALF_HEIGHT / scale))
    return AllskyLayout((width, TOP + map_height + 12 + BOTTOM),
                        (SIDE + map_width / 2 - 0.5, TOP + map_height / 2 - 0.5), scale)


@dataclass
class TileOutlines:
    """Each tile's outline in pixels as Pillow takes it (x0, y0, x1, y1, ...: (n, 2k)
    float64), and for the tiles that cross the map's edge (``crosses``) the copy shifted by
    -360 deg drawn on the other side. A tile's values do not depend on the other tiles
    given: the live map (livemap.py) projects a few and draws what a whole map would."""

    polygons: np.ndarray
    shifted: np.ndarray
    crosses: np.ndarray


def tile_outlines(corners: np.ndarray, layout: AllskyLayout, frame: str,
                  steps: int) -> TileOutlines:
    """Every tile's outline, projected at once."""
    outline = projection.to_frame(projection.outlines(corners, steps), frame)
    lon, lat = projection.lonlat(outline)                       # (n, 4 steps)
    rel = projection.wrap(lon)
    crosses = rel.max(axis=1) - rel.min(axis=1) > 180.0
    unwrapped = np.where(crosses[:, None] & (rel < 0), rel + 360.0, rel)

    def pixels(shift: float) -> np.ndarray:
        x, y = projection.hammer_aitoff(unwrapped + shift, lat)
        px = layout.centre_px[0] - x / layout.scale
        py = layout.centre_px[1] - y / layout.scale
        return np.stack([px, py], axis=-1).reshape(px.shape[0], 2 * px.shape[1])

    polygons = pixels(0.0)
    shifted = pixels(-360.0) if crosses.any() else np.full_like(polygons, np.nan)
    return TileOutlines(polygons, shifted, crosses)


def draw_tiles(image: Image.Image, states: np.ndarray, outlines: TileOutlines) -> None:
    """The tiles filled with their states' colours, the states that need attention last;
    within a state in the order given (a pixel takes the colour of the last tile on it)."""
    draw = ImageDraw.Draw(image)
    for state in DRAW_ORDER:
        colour = STATE_COLOURS[state]
        rows = np.flatnonzero(states == state)
        polygons = outlines.polygons[rows].tolist()
        for j, i in enumerate(rows):
            draw.polygon(polygons[j], fill=colour, outline=colour)
            if outlines.crosses[i]:     # drawn on both sides of the map's edge
                draw.polygon(outlines.shifted[i].tolist(), fill=colour, outline=colour)


def blank_allsky(layout: AllskyLayout) -> Image.Image:
    return Image.new("RGB", layout.size, BACKGROUND)


def finish_allsky(tiles_drawn: Image.Image, layout: AllskyLayout, frame: str,
                  counts: dict[str, int], title: str, path: str | Path) -> SkyMap:
    """The map from its drawn tiles (a copy of them is finished): the sky's edge, the
    graticule, the title with the counts per state and the legend."""
    image = tiles_drawn.copy()
    result = SkyMap(Path(path), layout.size, frame, centre_px=layout.centre_px,
                    scale=layout.scale)
    _mask_outside(image, result)
    draw = ImageDraw.Draw(image)
    _allsky_graticule(draw, result, frame)
    _title(draw, title or f"catscan sky coverage ({frame}, Hammer-Aitoff)", counts_line(counts))
    result.legend = _legend(draw, layout.size[1] - BOTTOM + 14, counts)
    result.title = title
    result.image = image
    return result


def allsky_map(tiles: Tiles, path: str | Path, *, frame: str = "equatorial",
               width: int = 1800, title: str = "", steps: int = 4) -> SkyMap:
    """The whole sky; ``title`` is the first line (the counts per state follow it)."""
    layout = allsky_layout(width)
    image = blank_allsky(layout)
    draw_tiles(image, tiles.state, tile_outlines(tiles.corners, layout, frame, steps))
    result = finish_allsky(image, layout, frame, tiles.counts(), title, path)
    plot.save_png(result.image, result.path)
    return result


def _mask_outside(image: Image.Image, sky: SkyMap) -> None:
    """Paint everything outside the projection's ellipse with the background (tiles that
    cross the map's edge are drawn on both sides, a little beyond it), and fill the odd
    pixel inside it that no tile painted: Pillow rounds vertices to whole pixels, so tiles
    under a pixel wide that overlap by 51" can leave a pixel between them. Such a pixel
    takes the colour of a painted neighbour."""
    width, height = image.size
    inside = _inside_ellipse(width, height, sky.centre_px, sky.scale)
    pixels = np.asarray(image).copy()
    for _ in range(2):
        gap = inside & (pixels == BACKGROUND).all(axis=2)
        if not gap.any():
            break
        for dy, dx in ((0, 1), (0, -1), (1, 0), (-1, 0)):
            gy, gx = np.nonzero(gap)
            ny, nx = np.clip(gy + dy, 0, height - 1), np.clip(gx + dx, 0, width - 1)
            painted = ~(pixels[ny, nx] == BACKGROUND).all(axis=1)
            pixels[gy[painted], gx[painted]] = pixels[ny[painted], nx[painted]]
            gap[gy[painted], gx[painted]] = False
    pixels[~inside] = BACKGROUND
    image.paste(Image.fromarray(pixels))


@lru_cache(maxsize=4)
def _inside_ellipse(width: int, height: int, centre_px: tuple[float, float],
                    scale: float) -> np.ndarray:
    """Which pixels lie inside the projection's ellipse (the same for every map of a size)."""
    ys, xs = np.ogrid[0:height, 0:width]
    x = (centre_px[0] - xs) * scale
    y = (centre_px[1] - ys) * scale
    inside = (x / projection.AIT_HALF_WIDTH) ** 2 + (y / projection.AIT_HALF_HEIGHT) ** 2 <= 1
    inside.flags.writeable = False
    return inside


def _polyline(draw: ImageDraw.ImageDraw, px: np.ndarray, py: np.ndarray, colour: plot.Colour,
              width: int = 1, jump: float = 200.0) -> None:
    """A line through the points, broken where it jumps across the map (the seam)."""
    if len(px) < 2:
        return
    breaks = np.flatnonzero(np.hypot(np.diff(px), np.diff(py)) > jump) + 1
    for x, y in zip(np.split(px, breaks), np.split(py, breaks), strict=True):
        if len(x) > 1:
            draw.line(np.column_stack([x, y]).ravel().tolist(), fill=colour, width=width)


def _allsky_graticule(draw: ImageDraw.ImageDraw, sky: SkyMap, frame: str) -> None:
    lat = np.linspace(-90, 90, 361)
    for lon in range(0, 360, 30):
        if lon == 180:
            continue                      # the ellipse's edge
        x, y = sky.allsky_pixel(np.full_like(lat, lon), lat)
        _polyline(draw, x, y, GRATICULE)
    lon = np.linspace(-179.999, 179.999, 721)
    for parallel in (-60, -30, 0, 30, 60):
        x, y = sky.allsky_pixel(lon, np.full_like(lon, parallel))
        _polyline(draw, x, y, GRATICULE, width=2 if parallel == 0 else 1)
    half_w = projection.AIT_HALF_WIDTH / sky.scale
    half_h = projection.AIT_HALF_HEIGHT / sky.scale
    cx, cy = sky.centre_px
    draw.ellipse([cx - half_w, cy - half_h, cx + half_w, cy + half_h], outline=plot.INK,
                 width=2)
    g_lon, g_lat = _galactic_plane(frame)
    x, y = sky.allsky_pixel(g_lon, g_lat)
    _polyline(draw, x, y, GALACTIC_PLANE, width=2)
    size = 13
    for lon in range(0, 360, 30):          # longitude labels just above the equator
        text = f"{lon // 15}h" if frame == "equatorial" else f"{lon}°"
        x, y = sky.allsky_pixel(lon, 0.0)
        w, h = plot.text_size(draw, text, size)
        if lon == 180:
            continue
        draw.text((float(x) + 3, float(y) - h - 6), text, fill=plot.INK, font=plot.font(size))
    name = "Dec" if frame == "equatorial" else "b"
    for parallel in (-60, -30, 30, 60):     # latitude labels at the left edge
        x, y = sky.allsky_pixel(179.9, float(parallel))
        text = f"{name} {parallel:+d}°"
        w, h = plot.text_size(draw, text, size)
        draw.text((float(x) - w - 6, float(y) - h / 2 - 2), text, fill=plot.INK,
                  font=plot.font(size))


# --- a region -------------------------------------------------------------------------------

@dataclass(frozen=True)
class Region:
    """A square ``size`` degrees on a side centred on (lon, lat) in ``frame``, as the
    gnomonic projection sees it: its sides are great circles."""

    lon: float
    lat: float
    size: float
    frame: str = "equatorial"

    def wcs(self, pixels: int) -> WCS:
        from astropy.wcs import WCS

        w = WCS(naxis=2)
        w.wcs.ctype = ["RA---TAN", "DEC--TAN"] if self.frame == "equatorial" else \
            ["GLON-TAN", "GLAT-TAN"]
        w.wcs.crval = [self.lon, self.lat]
        w.wcs.crpix = [(pixels + 1) / 2, (pixels + 1) / 2]
        scale = math.degrees(2 * math.tan(math.radians(self.size / 2))) / pixels
        w.wcs.cdelt = [-scale, scale]
        return w

    def corners_icrs(self) -> np.ndarray:
        """(4, 2) ICRS (lon, lat) of its corners, in order around."""
        w = self.wcs(1000)
        px = np.array([-0.5, 999.5, 999.5, -0.5])
        py = np.array([-0.5, -0.5, 999.5, 999.5])
        lon, lat = w.wcs_pix2world(px, py, 0)
        v = projection.from_frame(unit_vectors(lon, lat), self.frame)
        return np.column_stack(projection.lonlat(v))


def region_map(tiles: Tiles, region: Region, path: str | Path, *, width: int = 1000,
               title: str = "", subtitle: str = "") -> SkyMap:
    """The tiles overlapping ``region``: translucent fill by state, outlines, ids."""
    if width < 400:
        raise ValueError("the map needs a width of at least 400 pixels")
    pixels = width - 2 * SIDE - 20
    height = TOP + pixels + 34 + BOTTOM
    image = Image.new("RGB", (width, height), BACKGROUND)
    wcs = region.wcs(pixels)
    result = SkyMap(Path(path), (width, height), region.frame, wcs=wcs)
    x0, y0 = SIDE + 20, TOP
    inside = projection.overlapping(tiles.corners, region.corners_icrs())
    shown = tiles.subset(np.flatnonzero(inside))
    overlay = Image.new("RGBA", (pixels, pixels), (0, 0, 0, 0))
    lines = ImageDraw.Draw(overlay)
    lon, lat = _frame_lonlat(unit_vectors(shown.corners[..., 0], shown.corners[..., 1]),
                             region.frame)
    px, py = wcs.wcs_world2pix(lon.ravel(), lat.ravel(), 0)
    px, py = px.reshape(lon.shape), pixels - 1 - py.reshape(lon.shape)   # FITS y is up
    order = np.argsort([DRAW_ORDER.index(s) for s in shown.state], kind="stable")
    for i in order:
        colour = STATE_COLOURS[shown.state[i]]
        polygon = np.column_stack([px[i], py[i]]).ravel().tolist()
        lines.polygon(polygon, fill=colour + (90,))
    across = np.hypot(px[:, 1] - px[:, 0], py[:, 1] - py[:, 0])
    line_width = 2 if len(shown) and np.median(across) >= 12 else 1
    for i in order:
        colour = tuple(int(c * 0.7) for c in STATE_COLOURS[shown.state[i]])
        lines.line(np.column_stack([np.append(px[i], px[i][0]),
                                    np.append(py[i], py[i][0])]).ravel().tolist(),
                   fill=colour + (255,), width=line_width)
    canvas = Image.new("RGBA", (pixels, pixels), BACKGROUND + (255,))
    canvas.alpha_composite(overlay)
    draw = ImageDraw.Draw(canvas)
    _region_graticule(draw, region, wcs, pixels)
    result.labelled = _tile_ids(canvas, shown, px, py, pixels)
    image.paste(canvas.convert("RGB"), (x0, y0))
    frame_draw = ImageDraw.Draw(image)
    frame_draw.rectangle([x0 - 1, y0 - 1, x0 + pixels, y0 + pixels], outline=plot.INK)
    _region_labels(frame_draw, region, wcs, pixels, (x0, y0))
    counts = shown.counts()
    _title(frame_draw, title or region_title(region), subtitle or counts_line(counts))
    result.legend = _legend(frame_draw, height - BOTTOM + 14, counts)
    result.title = title
    # tests and callers locate sky positions on the whole image: shift the WCS
    result.wcs = _shifted(wcs, x0, y0, pixels)
    plot.save_png(image, result.path)
    return result


def _shifted(wcs: WCS, x0: int, y0: int, pixels: int) -> WCS:
    """The map's WCS for image pixels (x right, y down from the image's top left)."""
    out = wcs.deepcopy()
    out.wcs.crpix = [wcs.wcs.crpix[0] + x0, pixels + 1 - wcs.wcs.crpix[1] + y0]
    out.wcs.cdelt = [wcs.wcs.cdelt[0], -wcs.wcs.cdelt[1]]
    return out


def region_title(region: Region) -> str:
    names = ("RA", "Dec") if region.frame == "equatorial" else ("l", "b")
    return (f"catscan coverage: {names[0]} {region.lon:.4f} {names[1]} {region.lat:+.4f}, "
            f"{region.size:g}° x {region.size:g}° ({region.frame}, gnomonic)")


def _tile_ids(canvas: Image.Image, shown: Tiles, px: np.ndarray, py: np.ndarray,
              pixels: int) -> list[int]:
    """Each tile's id at the middle of its visible part: across the tile when it is wide
    enough, else along its length (tiles are 8.5' wide and 6 deg long)."""
    draw = ImageDraw.Draw(canvas)
    labelled = []
    size = 13
    for i in range(len(shown)):
        corners = np.column_stack([px[i], py[i]])            # 1, 2, 4, 3: 1-2 is an end
        clipped = _clip(corners, pixels)
        if len(clipped) < 3:
            continue
        text = str(int(shown.tile[i]))
        w, h = plot.text_size(draw, text, size)
        across = min(np.hypot(*(corners[1] - corners[0])), np.hypot(*(corners[3] - corners[2])))
        axis = (corners[2] + corners[3] - corners[0] - corners[1]) / 2
        axis = axis / (np.hypot(*axis) or 1.0)
        visible = np.ptp(clipped @ axis)
        cx, cy = _centroid(clipped)
        spans = np.ptp(clipped, axis=0)
        if across >= w + 4 and spans[0] >= w + 4:
            draw.text((cx - w / 2, cy - h / 2 - 2), text, fill=plot.BLACK + (255,),
                      font=plot.font(size))
        elif across >= h + 4 and visible >= w + 8:
            angle = math.degrees(math.atan2(-axis[1], axis[0]))
            angle = (angle + 90) % 180 - 90                   # readable: left to right-ish
            label = Image.new("RGBA", (w + 2, h + 6), (0, 0, 0, 0))
            ImageDraw.Draw(label).text((1, -1), text, fill=plot.BLACK + (255,),
                                       font=plot.font(size))
            label = label.rotate(angle, expand=True, resample=Image.BICUBIC)
            canvas.alpha_composite(label, (int(round(cx - label.width / 2)),
                                           int(round(cy - label.height / 2))))
        else:
            continue
        labelled.append(int(shown.tile[i]))
    return labelled


def _clip(polygon: np.ndarray, pixels: int) -> np.ndarray:
    """Sutherland-Hodgman: the polygon's part inside the square [0, pixels - 1]."""
    out = polygon
    for axis, bound, keep_below in ((0, 0, False), (0, pixels - 1, True), (1, 0, False),
                                    (1, pixels - 1, True)):
        if len(out) == 0:
            break
        points, result = out, []
        for j in range(len(points)):
            a, b = points[j - 1], points[j]
            a_in = a[axis] <= bound if keep_below else a[axis] >= bound
            b_in = b[axis] <= bound if keep_below else b[axis] >= bound
            if b_in:
                if not a_in:
                    result.append(_cross(a, b, axis, bound))
                result.append(b)
            elif a_in:
                result.append(_cross(a, b, axis, bound))
        out = np.array(result)
    return out


def _cross(a: np.ndarray, b: np.ndarray, axis: int, bound: float) -> np.ndarray:
    t = (bound - a[axis]) / (b[axis] - a[axis])
    return a + t * (b - a)


def _centroid(polygon: np.ndarray) -> tuple[float, float]:
    x, y = polygon[:, 0], polygon[:, 1]
    cross = x * np.roll(y, -1) - np.roll(x, -1) * y
    area = cross.sum() / 2
    if abs(area) < 1e-9:
        return float(x.mean()), float(y.mean())
    return (float(((x + np.roll(x, -1)) * cross).sum() / (6 * area)),
            float(((y + np.roll(y, -1)) * cross).sum() / (6 * area)))


def _grid_step(size: float) -> float:
    """A graticule step giving 3-6 lines: degrees, or arcminutes for small regions."""
    for step in (30, 15, 10, 5, 2, 1, 0.5, 0.25, 10 / 60, 5 / 60, 2 / 60, 1 / 60):
        if size / step >= 3:
            return step
    return 1 / 60


def _region_lines(region: Region) -> tuple[list[tuple[float, np.ndarray, np.ndarray]],
                                           list[tuple[float, np.ndarray, np.ndarray]], float,
                                           float]:
    """(meridians, parallels) near the region as (value, lon, lat) samples, and the steps."""
    reach = min(region.size * 0.75 + 1.0, 89.0)
    lat_lo, lat_hi = max(region.lat - reach, -90.0), min(region.lat + reach, 90.0)
    pole = lat_hi >= 89.9 or lat_lo <= -89.9
    cos_lat = math.cos(math.radians(min(abs(lat_lo), abs(lat_hi)) if not pole else 89.0))
    lon_reach = 180.0 if pole else min(reach / max(cos_lat, 1e-3), 180.0)
    lat_step = _grid_step(region.size)
    lon_step = _grid_step(min(region.size / max(math.cos(math.radians(region.lat)), 0.1),
                              360.0))
    if region.frame == "equatorial" and lon_step >= 1:      # RA in round hours or minutes
        lon_step = max(s for s in (30, 15, 7.5, 5, 2.5, 1.25) if s <= lon_step) \
            if lon_step >= 1.25 else lon_step
    lats = np.linspace(lat_lo, lat_hi, 400)
    meridians = []
    first = math.floor((region.lon - lon_reach) / lon_step) * lon_step
    for value in np.arange(first, region.lon + lon_reach + lon_step, lon_step):
        meridians.append((float(value % 360.0), np.full_like(lats, value % 360.0), lats))
    lons = np.linspace(region.lon - lon_reach, region.lon + lon_reach, 800) % 360.0
    parallels = []
    for value in np.arange(math.ceil(lat_lo / lat_step) * lat_step, lat_hi + 1e-9, lat_step):
        parallels.append((float(value), lons, np.full_like(lons, value)))
    return meridians, parallels, lon_step, lat_step


def _visible(region: Region, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    centre = unit_vectors([region.lon], [region.lat])[0]
    return unit_vectors(lon, lat) @ centre > math.cos(math.radians(80.0))


def _project(wcs: WCS, pixels: int, lon: np.ndarray, lat: np.ndarray):
    px, py = wcs.wcs_world2pix(lon, lat, 0)
    return px, pixels - 1 - py


def _region_graticule(draw: ImageDraw.ImageDraw, region: Region, wcs: WCS,
                      pixels: int) -> None:
    meridians, parallels, _, _ = _region_lines(region)
    for _, lon, lat in meridians + parallels:
        keep = _visible(region, lon, lat)
        px, py = _project(wcs, pixels, lon[keep], lat[keep])
        _polyline(draw, px, py, REGION_GRATICULE + (255,), jump=pixels)
    g_lon, g_lat = _galactic_plane(region.frame, step=0.05)
    keep = _visible(region, g_lon, g_lat)
    px, py = _project(wcs, pixels, g_lon[keep], g_lat[keep])
    _polyline(draw, px, py, GALACTIC_PLANE + (255,), width=2, jump=pixels)


def _angle_text(value: float, step: float, frame: str, longitude: bool) -> str:
    if longitude and frame == "equatorial":
        hours = value / 15.0
        minutes_total = round(hours * 60 * (60 if step < 0.25 else 1))
        if step < 0.25:                                   # h m s
            h, rest = divmod(minutes_total, 3600)
            return f"{h % 24}h{rest // 60:02d}m{rest % 60:02d}s"
        h, m = divmod(minutes_total, 60)
        return f"{h % 24}h{m:02d}m" if m else f"{h % 24}h"
    if step >= 1:
        return f"{value:+.0f}°" if not longitude else f"{value:.0f}°"
    minutes = round(abs(value) * 60)
    sign = "-" if value < 0 else ("+" if not longitude else "")
    return f"{sign}{minutes // 60}°{minutes % 60:02d}'"


def _region_labels(draw: ImageDraw.ImageDraw, region: Region, wcs: WCS, pixels: int,
                   origin: tuple[int, int]) -> None:
    """Longitudes under the bottom edge and latitudes left of the left edge, where the
    graticule lines cross them."""
    meridians, parallels, lon_step, lat_step = _region_lines(region)
    x0, y0 = origin
    size = 12
    for value, lon, lat in meridians:
        keep = _visible(region, lon, lat)
        px, py = _project(wcs, pixels, lon[keep], lat[keep])
        crossing = _crossing(px, py, at=pixels - 1)
        if crossing is not None and 0 <= crossing <= pixels - 1:
            text = _angle_text(value, lon_step, region.frame, longitude=True)
            w, _ = plot.text_size(draw, text, size)
            draw.text((x0 + crossing - w / 2, y0 + pixels + 4), text, fill=plot.INK,
                      font=plot.font(size))
    for value, lon, lat in parallels:
        keep = _visible(region, lon, lat)
        px, py = _project(wcs, pixels, lon[keep], lat[keep])
        crossing = _crossing(py, px, at=0)
        if crossing is not None and 0 <= crossing <= pixels - 1:
            text = _angle_text(value, lat_step, region.frame, longitude=False)
            w, h = plot.text_size(draw, text, size)
            draw.text((x0 - w - 4, y0 + crossing - h / 2 - 2), text, fill=plot.INK,
                      font=plot.font(size))


def _crossing(along: np.ndarray, other: np.ndarray, at: float) -> float | None:
    """Where a sampled line first crosses ``other == at``: its ``along`` coordinate there."""
    side = other - at
    change = np.flatnonzero(np.sign(side[:-1]) * np.sign(side[1:]) < 0)
    if len(change) == 0:
        return None
    i = change[0]
    t = side[i] / (side[i] - side[i + 1])
    return float(along[i] + t * (along[i + 1] - along[i]))
