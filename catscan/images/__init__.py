"""Atlas Images: finding them, cutouts and mosaics, pictures (docs/images.md).

    >>> from catscan import images
    >>> images.images_at(con, 10.68479, 41.26906)                 # best first
    >>> hdus = images.cutout(10.68479, 41.26906, size=5, bands="JHK")   # astropy HDUs
    >>> images.composite_png(images.cutouts(10.68479, 41.26906), "m31.png", grid=True)

Names are imported on first use, so that ``import catscan.images.find`` stays light.
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "AtlasImage": "find", "find_images": "find", "images_at": "find", "images_near": "find",
    "parse_bands": "find", "ImageError": "errors", "BandCutout": "extract", "cutout": "extract",
    "cutouts": "extract", "band_png": "render", "composite_png": "render",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
