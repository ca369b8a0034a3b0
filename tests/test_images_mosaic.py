"""The mosaic grid: north-up SIN about the centre, and the interpolated pixel mapping is
as good as astropy's exact transform."""

from __future__ import annotations

import numpy as np
from astropy.coordinates import SkyCoord
from astropy.wcs import WCS

from catscan.images.mosaic import edge_room, grid_pixels, grid_wcs


def atlas_wcs(ra: float, dec: float, crota2: float) -> WCS:
    """An Atlas Image's WCS as in its header (SIN, 1"/px, CROTA2 twist)."""
    wcs = WCS(naxis=2)
    wcs.wcs.ctype = ["RA---SIN", "DEC--SIN"]
    wcs.wcs.crval = [ra, dec]
    wcs.wcs.crpix = [256.5, 512.5]
    wcs.wcs.cdelt = [-0.0002777777845, 0.0002777777845]
    wcs.wcs.crota = [0.0, crota2]
    wcs.wcs.set()
    return wcs


def test_grid_is_north_up_and_centred():
    grid = grid_wcs(359.99, -89.9, 300, 1 / 3600)
    centre = SkyCoord(*grid.all_pix2world([[149.5, 149.5]], 0)[0], unit="deg")
    assert centre.separation(SkyCoord(359.99, -89.9, unit="deg")).arcsec < 1e-6
    north = SkyCoord(*grid.all_pix2world([[149.5, 159.5]], 0)[0], unit="deg")
    assert abs(centre.position_angle(north).wrap_at("180d").deg) < 1e-6
    assert abs(centre.separation(north).arcsec - 10.0) < 1e-6
    east = SkyCoord(*grid.all_pix2world([[139.5, 149.5]], 0)[0], unit="deg")  # x down
    assert abs(centre.position_angle(east).deg - 90) < 1e-6


def test_interpolated_mapping_matches_astropy():
    """A 30' grid (the largest cutout) on a twisted image 0.1 deg away, near a pole and
    at RA 0: the lattice interpolation errs by < 0.001 px everywhere."""
    for ra, dec in ((10.6, 39.0), (0.01, 0.0), (200.0, 87.5)):
        image = atlas_wcs(ra, dec, 0.00698)
        npix = 1800
        grid = grid_wcs(ra + 0.05 / np.cos(np.radians(dec)), dec + 0.05, npix, 1 / 3600)
        x, y = grid_pixels(grid, npix, image)
        gy, gx = np.mgrid[0:npix:7, 0:npix:7]
        world = grid.all_pix2world(gx, gy, 0)
        ex, ey = image.all_world2pix(*world, 0)
        assert np.abs(x[::7, ::7] - ex).max() < 1e-3
        assert np.abs(y[::7, ::7] - ey).max() < 1e-3


def test_edge_room():
    x = np.array([-0.5, 0.0, 255.5, 511.5, 600.0])
    y = np.full(5, 511.5)
    assert list(edge_room(x, y, (1024, 512))) == [0.0, 0.5, 256.0, 0.0, -88.5]
