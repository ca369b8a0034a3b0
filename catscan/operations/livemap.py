"""The all-sky coverage map kept up to date by what a write changed: the server's home page
map answers the first request after a night's load in a fraction of a second instead of
drawing the whole sky's 56,774 tiles again (docs/operations.md).

``catscan coverage --out FILE.png`` (whole sky) uses it too. The map is kept
(catscan/kept.py, in this process and in ``<db>.kept/``) with what it was
drawn from: each tile's id, state and corners, the pixel box its outline can touch, the
image of the drawn tiles before the rest of the map goes on top, the title and the PNG. To
bring it up to date, the tiles that joined, left, or changed state or corners mark their old
and new boxes dirty; the tiles whose boxes touch a dirty pixel (and only they can paint one)
are drawn again, in the map's order, on a blank image whose dirty pixels replace the kept
ones. Every other pixel is covered by the same tiles in the same order as before, so the
drawn tiles are exactly what :func:`skymap.allsky_map` draws from scratch; the edge, the
graticule, the title with the counts and the legend then go on top in both by the same code
(skymap.finish_allsky), and the PNG is the same, byte for byte (tested). When the inputs are
the same as the kept ones (a write that changed no tile: a release, a load of release files)
the kept PNG is the answer.
"""

from __future__ import annotations

import hashlib
import sys
from dataclasses import dataclass
from functools import lru_cache, partial
from pathlib import Path

import duckdb
import numpy as np
from PIL import Image

from .coverage import STATES, Tiles, load_tiles
from .plot import png_bytes
from .skymap import (
    AllskyLayout,
    TileOutlines,
    allsky_layout,
    blank_allsky,
    draw_tiles,
    finish_allsky,
    tile_outlines,
)

MARGIN = 1                    # pixels past a tile's outline its fill may reach (measured: 0)
KEEP_WIDTH = 2400             # wider maps are drawn afresh (the kept image: 3 bytes a pixel)
FULL_FRACTION = 0.3           # more tiles to draw again than this: draw them all


@dataclass(frozen=True)
class LiveMap:
    """The map's PNG and how to turn a pixel into a position (skymap.SkyMap's all-sky
    fields)."""

    png: bytes
    size: tuple[int, int]
    centre_px: tuple[float, float]
    scale: float


@dataclass
class KeptMap:
    """A map with what it was drawn from (module docstring)."""

    renderer: str
    ids: np.ndarray           # (n,) tile ids, the tiles table's order
    states: np.ndarray        # (n,) index in STATES
    corners: np.ndarray       # (n, 4, 2)
    boxes: np.ndarray         # (n, 2, 4) x0, y0, x1, y1 (inclusive) of a tile's outline and
    #                           of its copy across the map's edge; empty: x0 > x1
    drawn: np.ndarray         # (height, width, 3) uint8: the tiles alone
    title: str
    png: bytes


@lru_cache(maxsize=1)
def renderer() -> str:
    """What the pixels depend on besides the tiles: the versions of catscan, Pillow and
    numpy and a digest of the drawing code's sources; a map kept by another is drawn
    again."""
    import PIL

    from .. import __version__
    from . import plot, projection, skymap

    sources = hashlib.sha256()
    for module in (skymap, projection, plot, sys.modules[__name__]):
        sources.update(Path(module.__file__).read_bytes())
    return (f"catscan {__version__}, Pillow {PIL.__version__}, numpy {np.__version__}, "
            f"drawing {sources.hexdigest()[:16]}")


def current_map(con: duckdb.DuckDBPyConnection, *, width: int = 1000,
                frame: str = "equatorial", title: str = "", steps: int = 4,
                tiles: Tiles | None = None) -> LiveMap:
    """``skymap.allsky_map``'s PNG of the database as it is now, from the map kept for it
    (drawn from scratch when none is kept or it cannot be read)."""
    from ..content import database_file

    return map_of(database_file(con), load_tiles(con) if tiles is None else tiles,
                  width=width, frame=frame, title=title, steps=steps)


def map_of(db: Path | None, tiles: Tiles, *, width: int = 1000, frame: str = "equatorial",
           title: str = "", steps: int = 4) -> LiveMap:
    """The map of ``tiles`` (read from the database ``db``; None: nothing is kept, as for
    maps wider than KEEP_WIDTH)."""
    layout = allsky_layout(width)
    db = db if width <= KEEP_WIDTH else None
    before = recall(db, width, frame, steps) if db is not None else None
    now = update(before, tiles, layout, frame, steps, title)
    if db is not None and now is not before:
        _keep(db, kept_name(width, frame, steps), now)
    return LiveMap(now.png, layout.size, layout.centre_px, layout.scale)


def kept_name(width: int, frame: str, steps: int) -> str:
    return f"map.{frame}.{width}.{steps}"


def recall(db: Path, width: int, frame: str, steps: int) -> KeptMap | None:
    """The map kept for ``db`` (this process's, else its file's), None if none can be used."""
    from .. import kept

    return kept.recall(db, kept_name(width, frame, steps), partial(_decode, allsky_layout(width)))


def state_codes(tiles: Tiles) -> np.ndarray:
    """Each tile's state as its index in STATES (255: none of them)."""
    codes = np.full(len(tiles), 255, np.uint8)
    for code, state in enumerate(STATES):
        codes[tiles.state == state] = code
    return codes


def update(before: KeptMap | None, tiles: Tiles, layout: AllskyLayout, frame: str,
           steps: int, title: str) -> KeptMap:
    """The map of ``tiles``, from ``before`` (a map of an earlier state) where it can."""
    codes = state_codes(tiles)
    version = renderer()
    usable = before is not None and before.renderer == version \
        and before.drawn.shape == (layout.size[1], layout.size[0], 3)
    if usable and before.title == title and np.array_equal(before.ids, tiles.tile) \
            and np.array_equal(before.states, codes) \
            and np.array_equal(before.corners, tiles.corners):
        return before
    patched = redrawn(before, tiles, codes, layout, frame, steps) if usable else None
    if patched is None:
        outlines = tile_outlines(tiles.corners, layout, frame, steps)
        image = blank_allsky(layout)
        draw_tiles(image, tiles.state, outlines)
        drawn, boxes = np.asarray(image), _boxes(outlines, layout)
    else:
        drawn, boxes = patched
    finished = finish_allsky(Image.fromarray(drawn), layout, frame, tiles.counts(), title,
                             Path("coverage.png"))
    return KeptMap(version, np.asarray(tiles.tile), codes, tiles.corners, boxes, drawn, title,
                   png_bytes(finished.image))


def redrawn(before: KeptMap, tiles: Tiles, codes: np.ndarray, layout: AllskyLayout,
            frame: str, steps: int) -> tuple[np.ndarray, np.ndarray] | None:
    """The drawn tiles and every tile's boxes, from ``before`` by what changed; None when
    so much changed that drawing every tile is as quick."""
    n = len(tiles)
    _, old_at, new_at = np.intersect1d(before.ids, tiles.tile, assume_unique=True,
                                       return_indices=True)
    same = (before.states[old_at] == codes[new_at]) & np.all(
        before.corners[old_at] == tiles.corners[new_at], axis=(1, 2))
    kept_old = np.zeros(len(before.ids), bool)
    kept_old[old_at[same]] = True
    kept_new = np.zeros(n, bool)
    kept_new[new_at[same]] = True
    changed = np.flatnonzero(~kept_new)
    if len(changed) + np.count_nonzero(~kept_old) > FULL_FRACTION * max(n, 1):
        return None
    boxes = np.empty((n, 2, 4), np.int32)
    boxes[new_at[same]] = before.boxes[old_at[same]]
    boxes[changed] = _boxes(tile_outlines(tiles.corners[changed], layout, frame, steps),
                            layout)
    dirty = np.zeros((layout.size[1], layout.size[0]), bool)
    for x0, y0, x1, y1 in np.concatenate([before.boxes[~kept_old], boxes[changed]]
                                         ).reshape(-1, 4):
        dirty[y0:y1 + 1, x0:x1 + 1] = True      # an empty box (x0 > x1) marks nothing
    again = np.flatnonzero(_touching(boxes, dirty))
    if len(again) > FULL_FRACTION * n:
        return None
    image = blank_allsky(layout)
    draw_tiles(image, tiles.state[again], tile_outlines(tiles.corners[again], layout, frame,
                                                        steps))
    drawn = before.drawn.copy()
    drawn[dirty] = np.asarray(image)[dirty]
    return drawn, boxes


def _boxes(outlines: TileOutlines, layout: AllskyLayout) -> np.ndarray:
    """(n, 2, 4) pixel boxes, inclusive and inside the image, of each outline and of its
    copy across the edge (empty where there is none): every pixel Pillow can fill for it."""
    width, height = layout.size
    out = np.empty((len(outlines.crosses), 2, 4), np.int32)
    for k, polygons in enumerate((outlines.polygons, outlines.shifted)):
        xs, ys = polygons[:, 0::2], polygons[:, 1::2]
        with np.errstate(invalid="ignore"):
            out[:, k, 0] = np.clip(np.floor(xs.min(axis=1, initial=np.inf)) - MARGIN, 0,
                                   width - 1)
            out[:, k, 1] = np.clip(np.floor(ys.min(axis=1, initial=np.inf)) - MARGIN, 0,
                                   height - 1)
            out[:, k, 2] = np.clip(np.ceil(xs.max(axis=1, initial=-np.inf)) + MARGIN, 0,
                                   width - 1)
            out[:, k, 3] = np.clip(np.ceil(ys.max(axis=1, initial=-np.inf)) + MARGIN, 0,
                                   height - 1)
    out[~outlines.crosses, 1] = (1, 1, 0, 0)                    # no copy: empty
    return out


def _touching(boxes: np.ndarray, dirty: np.ndarray) -> np.ndarray:
    """Which tiles have a box holding a dirty pixel (sums over a summed-area table)."""
    table = np.zeros((dirty.shape[0] + 1, dirty.shape[1] + 1), np.int32)
    table[1:, 1:] = dirty.cumsum(axis=0, dtype=np.int32).cumsum(axis=1, dtype=np.int32)
    x0, y0, x1, y1 = (boxes[..., i] for i in range(4))
    empty = (x0 > x1) | (y0 > y1)
    x1, y1 = np.maximum(x1, x0), np.maximum(y1, y0)
    inside = table[y1 + 1, x1 + 1] - table[y0, x1 + 1] - table[y1 + 1, x0] + table[y0, x0]
    return ((inside > 0) & ~empty).any(axis=1)


def _decode(layout: AllskyLayout, stored) -> KeptMap:
    """A map kept in ``<db>.kept/``, checked for a shape this map can use."""
    a = stored.arrays
    kept_map = KeptMap(str(a["renderer"]), a["ids"], a["states"], a["corners"], a["boxes"],
                       a["drawn"], str(a["title"]), a["png"].tobytes())
    n = len(kept_map.ids)
    if kept_map.states.shape != (n,) or kept_map.corners.shape != (n, 4, 2) \
            or kept_map.boxes.shape != (n, 2, 4) or kept_map.drawn.dtype != np.uint8 \
            or kept_map.drawn.shape != (layout.size[1], layout.size[0], 3) \
            or int(kept_map.boxes.min(initial=0)) < 0 \
            or int(kept_map.boxes[..., 0::2].max(initial=0)) >= layout.size[0] \
            or int(kept_map.boxes[..., 1::2].max(initial=0)) >= layout.size[1]:
        raise ValueError("a kept map of another shape")
    return kept_map


def _keep(db: Path, name: str, kept_map: KeptMap) -> None:
    from .. import kept

    kept.keep(db, name, kept_map, {
        "renderer": np.array(kept_map.renderer), "ids": kept_map.ids,
        "states": kept_map.states, "corners": kept_map.corners, "boxes": kept_map.boxes,
        "drawn": kept_map.drawn, "title": np.array(kept_map.title),
        "png": np.frombuffer(kept_map.png, np.uint8)})
