"""Reading stored Atlas Images: the compressed FITS blobs of ``atlas_images.fits``
(loaders/images.py), opened once and read by section.

A 128x128-tiled HCOMPRESS image decompresses only the tiles a section touches (astropy's
``CompImageHDU.section``): a 5' cutout reads 9-16 of the 32 tiles. NaN pixels come back
from the NANMASK HDU, kept bit-packed. Opened images are kept in a small LRU cache keyed by
a digest of the blob, so repeated cutouts of one field skip parsing headers and tile tables
(and a changed image can never be served from the cache).

astropy's HCOMPRESS decoder (CFITSIO's C code) is not thread-safe: two threads decoding
at once fail with "qtree_decode64: bad format code". DuckDB may call the cutout function
from several threads, so every decode here holds one process-wide lock.
"""

from __future__ import annotations

import hashlib
import io
import threading
import warnings
from collections import OrderedDict

import numpy as np
from astropy.io import fits
from astropy.utils.exceptions import AstropyWarning
from astropy.wcs import WCS

from ..loaders.images import MASK_NAME, decompress
from .errors import ImageError
from .headers import Cards

CACHE_SIZE = 48                     # opened images (~300 KB each with their packed mask)
DECODE_LOCK = threading.Lock()


class StoredImage:
    """One stored Atlas Image: its header, WCS and shape, sections on demand."""

    def __init__(self, blob: bytes) -> None:
        self.blob = bytes(blob)
        try:
            self._hdul = fits.open(io.BytesIO(self.blob), memmap=False)
            plain = self._hdul[0].header.get("NAXIS", 0) != 0      # compression "none"
            self._hdu = self._hdul[0] if plain else self._hdul[1]
            self.header = self._hdu.header.copy()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", AstropyWarning)
                self.wcs = WCS(self.header, naxis=2)
            self.shape = (int(self.header["NAXIS2"]), int(self.header["NAXIS1"]))
            scales = [s.to_value("deg") for s in self.wcs.proj_plane_pixel_scales()]
            self.pixel_deg = float(np.mean(scales))
            self.cards = Cards.of(self.header)
            self.crpix = (float(self.header["CRPIX1"]), float(self.header["CRPIX2"]))
            self.magzp = float(self.header["MAGZP"])
            sky = self.header.get("SKYVAL")
            self.skyval = float(sky) if isinstance(sky, int | float) else None
            self._mask = None
            if MASK_NAME in self._hdul:
                with DECODE_LOCK:
                    mask = np.asarray(self._hdul[MASK_NAME].data, dtype=bool)
                self._mask = np.packbits(mask, axis=1)
        except Exception as exc:
            raise ImageError(f"cannot read a stored Atlas Image ({exc})") from None

    def section(self, y0: int, y1: int, x0: int, x1: int) -> np.ndarray:
        """float32 pixels [y0:y1, x0:x1] (clipped to the image), NaN where blank."""
        ny, nx = self.shape
        y0, y1, x0, x1 = max(y0, 0), min(y1, ny), max(x0, 0), min(x1, nx)
        if y0 >= y1 or x0 >= x1:
            return np.zeros((max(y1 - y0, 0), max(x1 - x0, 0)), np.float32)
        with DECODE_LOCK:
            data = np.array(self._hdu.section[y0:y1, x0:x1], dtype=np.float32)
        if self._mask is not None:
            packed = self._mask[y0:y1, x0 // 8:(x1 + 7) // 8]
            bits = np.unpackbits(packed, axis=1)[:, x0 % 8:x0 % 8 + (x1 - x0)]
            data[bits.astype(bool)] = np.nan
        return data

    def whole(self) -> tuple[fits.Header, np.ndarray]:
        """The original header (cards in the delivered order) and every pixel."""
        with DECODE_LOCK:
            return decompress(self.blob)


_CACHE: OrderedDict[bytes, StoredImage] = OrderedDict()
_CACHE_LOCK = threading.Lock()


def open_image(blob: bytes) -> StoredImage:
    """The image in a blob, from the cache when the same bytes were opened recently."""
    key = hashlib.blake2b(blob, digest_size=16).digest()
    with _CACHE_LOCK:
        image = _CACHE.get(key)
        if image is not None:
            _CACHE.move_to_end(key)
            return image
    image = StoredImage(blob)
    with _CACHE_LOCK:
        _CACHE[key] = image
        while len(_CACHE) > CACHE_SIZE:
            _CACHE.popitem(last=False)
    return image


def clear_cache() -> None:
    """Forget every opened image (benchmarks time cold reads with this)."""
    with _CACHE_LOCK:
        _CACHE.clear()
