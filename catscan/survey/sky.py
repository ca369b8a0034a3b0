"""The true sky of the sample survey: stars and galaxies, the same for every scan that sees them.

Sources are drawn per HEALPix cell (NESTED order 7, 0.21 deg²) from a generator seeded by
(seed, cell), so any scan overlapping a cell sees exactly the same objects, whichever night
observes it and in whatever order the survey is generated. Overlapping scans therefore detect
the same stars, which is what makes duplicate resolution (use_src / dup_src) meaningful.

Star density follows the Galaxy: about 2e3 per deg² (to J ≈ 17) towards the Galactic poles,
rising to about 1e5 per deg² in the plane towards the centre. Galaxies number about 40 per
deg² at high latitude and thin out behind the plane.
"""

from __future__ import annotations

from functools import lru_cache

import cdshealpix.nested as hp
import numpy as np
from astropy import units as u
from astropy.coordinates import Angle, SkyCoord

CELL_DEPTH = 7
CELL_AREA_DEG2 = 41252.96 / (12 * 4**CELL_DEPTH)
POLE_DENSITY = 2000.0          # stars per deg² to J ≈ 17 at high latitude
PLANE_DENSITY = 1.2e5          # extra stars per deg² in the plane towards l = 0
PLANE_SCALE_DEG = 3.5          # exponential scale height of the plane, in b
GALAXY_DENSITY = 40.0          # XSC-like galaxies per deg² (K < 13.5) away from the plane
J_FAINT = 17.2                 # faintest true J drawn


def star_density(l_deg: np.ndarray, b_deg: np.ndarray) -> np.ndarray:
    """Stars per deg² at Galactic (l, b), the model the generator draws from."""
    dl = (np.asarray(l_deg) + 180.0) % 360.0 - 180.0
    towards_centre = 0.35 + 0.65 * np.exp(-((dl / 40.0) ** 2))
    return POLE_DENSITY + PLANE_DENSITY * np.exp(-np.abs(b_deg) / PLANE_SCALE_DEG) * towards_centre


def galaxy_density(b_deg: np.ndarray) -> np.ndarray:
    """Galaxies per deg²: fewer behind the dust and crowding of the plane."""
    return GALAXY_DENSITY * (1.0 - np.exp(-np.abs(b_deg) / 5.0))


@lru_cache(maxsize=1)
def _icrs_to_galactic() -> np.ndarray:
    """The ICRS -> Galactic rotation matrix, taken from astropy once (the transform per
    call costs milliseconds; cells need thousands of them)."""
    basis = SkyCoord(x=[1.0, 0.0, 0.0], y=[0.0, 1.0, 0.0], z=[0.0, 0.0, 1.0],
                     representation_type="cartesian", frame="icrs")
    return np.asarray(basis.galactic.cartesian.xyz.value)


def _galactic(ra: np.ndarray, dec: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Galactic (l, b) in degrees of ICRS positions."""
    ra, dec = np.radians(np.asarray(ra, float)), np.radians(np.asarray(dec, float))
    v = np.stack([np.cos(dec) * np.cos(ra), np.cos(dec) * np.sin(ra), np.sin(dec)])
    x, y, z = _icrs_to_galactic() @ v
    return np.degrees(np.arctan2(y, x)) % 360.0, np.degrees(np.arcsin(np.clip(z, -1, 1)))


def _random_points(rng: np.random.Generator, cell: int, n: int) -> tuple[np.ndarray, ...]:
    """``n`` positions uniform on the sphere inside a cell: random order-29 sub-cells."""
    shift = np.uint64(2 * (29 - CELL_DEPTH))
    first = np.uint64(cell) << shift
    sub = first + rng.integers(0, 1 << int(shift), n, dtype=np.uint64)
    lon, lat = hp.healpix_to_lonlat(sub.astype(np.uint64), 29)
    return (Angle(lon).wrap_at(360 * u.deg).deg, lat.to_value(u.deg))


def cells_of(ra_corners, dec_corners) -> np.ndarray:
    """The order-7 cells overlapping a polygon (corners in order around it)."""
    ipix, depth, _ = hp.polygon_search(Angle(np.asarray(ra_corners), u.deg),
                                       Angle(np.asarray(dec_corners), u.deg), CELL_DEPTH,
                                       flat=True)
    return np.unique(np.asarray(ipix, dtype=np.int64))


@lru_cache(maxsize=4096)
def _cell_galactic(cell: int) -> tuple[float, float]:
    """Galactic (l, b) of a cell's centre, in degrees."""
    lon, lat = hp.healpix_to_lonlat(np.array([cell], dtype=np.uint64), CELL_DEPTH)
    l_deg, b_deg = _galactic(lon.to_value(u.deg), lat.to_value(u.deg))
    return float(l_deg[0]), float(b_deg[0])


# Neighbouring scans share cells; the cache holds a strip's worth (a dense cell is ~1 MB).
@lru_cache(maxsize=128)
def stars_in_cell(seed: int, cell: int) -> dict[str, np.ndarray]:
    """True stars of one cell: ra, dec and true J, H, Ks magnitudes (do not modify)."""
    rng = np.random.default_rng([seed, 7, int(cell)])
    l_deg, b_deg = _cell_galactic(int(cell))
    n = rng.poisson(float(star_density(np.array(l_deg), np.array(b_deg))) * CELL_AREA_DEG2)
    ra, dec = _random_points(rng, cell, n)
    # near-infrared number counts dN/dm ∝ 10^(0.3 m), brighter than 3 mag clipped
    j = np.maximum(J_FAINT + np.log10(rng.uniform(1e-12, 1, n)) / 0.3, 3.0)
    reddening = rng.exponential(0.25, n) * np.exp(-abs(b_deg) / 4.0)
    j_h = rng.normal(0.62, 0.18, n) + 0.35 * reddening
    h_k = rng.normal(0.18, 0.08, n) + 0.2 * reddening
    return {"ra": ra, "dec": dec, "j": j, "h": j - j_h, "k": j - j_h - h_k,
            "star_id": (np.int64(cell) << 24) + np.arange(n, dtype=np.int64)}


@lru_cache(maxsize=128)
def galaxies_in_cell(seed: int, cell: int) -> dict[str, np.ndarray]:
    """True galaxies of one cell: positions, total Ks, colours, sizes and shapes."""
    from .synthetic_xsc import true_galaxies

    rng = np.random.default_rng([seed, 8, int(cell)])
    _, b_deg = _cell_galactic(int(cell))
    n = rng.poisson(float(galaxy_density(np.array(b_deg))) * CELL_AREA_DEG2)
    ra, dec = _random_points(rng, cell, n)
    return {"ra": ra, "dec": dec, **true_galaxies(ra, dec, rng)}


def concat(parts: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """Join per-cell dicts of arrays (an empty list gives empty arrays)."""
    if not parts:
        return {}
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
