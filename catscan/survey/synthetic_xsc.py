"""Realistic synthetic XSC rows: galaxies measured the way the 2MASS extended-source pipeline
reports them, vectorised and seeded.

Each galaxy is an exponential disk seen through a 2.8" FWHM beam. Its K-band surface
brightness profile gives the isophotal radii (Ks 20 mag/arcsec^2 ``r_k20fe``, Ks 3-sigma
``r_3sig``), the Kron and extrapolation radii, and the fraction of light inside every aperture.
Isophotal magnitudes therefore come out ~0.1-0.2 mag fainter than the total (``*_m_ext``), as
in the real catalogue, and bigger apertures hold more flux. Noise is drawn in flux; its scaling
with aperture area and the 10-sigma levels (Ks ~13.9 in a 5" aperture) are fitted to real rows
(the HCG 7 table in ``../shared/real_2mass`` and the full record in 2mass_reference.md §2).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from functools import lru_cache

import numpy as np
import pyarrow as pa
from astropy import units as u
from astropy.coordinates import SkyCoord

from catscan.designation import designations
from catscan.loaders.delivery import coadd_key

from .sky import galactic

BANDS = ("j", "h", "k")
XSC_SOURCES = 1_647_599                        # All-Sky release (2mass_reference.md §0)
SKY_DEG2 = 4 * math.pi * (180 / math.pi) ** 2
COUNT_SLOPE = 0.6                              # dN/dK ∝ 10^(0.6 K): Euclidean counts
XSC_K_LIMIT = 13.5                             # the catalogue counted as complete to Ks 13.5
K_BRIGHTEST = 4.0

PSF_FWHM = 2.8                                 # arcsec, the 2MASS beam on Atlas Images
B_EXP = 1.678                                  # r_eff / scale length of an exponential
MU_K20 = 20.0                                  # Ks isophote of the fiducial aperture
MU_K3SIG = 19.1                                # Ks 3-sigma isophote (single coadd)
MU_SUP3SIG = 20.3                              # 3-sigma isophote of the J+H+K super-coadd
MIN_R_K20FE = 5.0                              # the release never reports r_k20fe below 5"
# 10-sigma magnitudes in a 5" b/a 0.8 ellipse; isophotal/Kron noise grows as area^0.75
# (background-fit errors), fixed circular apertures as area^0.5 (pure background noise)
LIMIT_10SIGMA = {"j": 15.4, "h": 14.6, "k": 13.9}
REF_AREA = math.pi * 5.0**2 * 0.8
MAG_FLOOR = 0.01                               # calibration and flat-field floor
EXT_NOISE = 1.4                                # extrapolated mags: noisier than k20fe
FIXED_APERTURES = (5, 7, 10, 15, 20, 25, 30, 40, 50, 60, 70)
SCAN_SECONDS = 6.0 * 3600.0 / 57.0             # a 6-degree scan at 57"/s


def galaxy_counts_per_deg2(k_limit: float = XSC_K_LIMIT) -> float:
    """Mean galaxies per deg² brighter than ``k_limit``: the whole XSC (~40 deg⁻²) taken as
    complete to Ks 13.5 and scaled with Euclidean counts, N(<K) ∝ 10^(0.6 K)."""
    return XSC_SOURCES / SKY_DEG2 * 10 ** (COUNT_SLOPE * (k_limit - XSC_K_LIMIT))


def true_galaxies(ra: np.ndarray, dec: np.ndarray, rng: np.random.Generator, *,
                  k_limit: float = XSC_K_LIMIT) -> dict[str, np.ndarray]:
    """True properties for galaxies at the given positions, ready for ``synthetic_xsc``.

    Ks follows the counts down to ``k_limit``; sizes come from a mean Ks surface brightness
    inside r_eff of ~17 mag/arcsec² (so brighter galaxies are bigger); ``r_eff`` is the
    semi-major half-light radius; axis ratios are those of randomly inclined thin disks (70%)
    or rounder spheroids (30%)."""
    ra = np.asarray(ra, dtype=float)
    dec = np.asarray(dec, dtype=float)
    n = len(ra)
    lo = 10 ** (-COUNT_SLOPE * (k_limit - K_BRIGHTEST))
    k_tot = k_limit + np.log10(rng.uniform(lo, 1.0, n)) / COUNT_SLOPE
    j_h = rng.normal(0.70, 0.08, n)
    h_k = rng.normal(0.30, 0.08, n)
    disk = rng.random(n) < 0.7
    cos_i = rng.random(n)
    q0 = 0.2
    ba = np.where(disk, np.sqrt(cos_i**2 * (1 - q0**2) + q0**2), rng.uniform(0.55, 1.0, n))
    mu_eff = rng.normal(17.0, 0.5, n)
    # mean surface brightness inside the half-light ellipse: k + 0.753 + 2.5 log(pi r² b/a)
    r_eff = np.sqrt(10 ** (0.4 * (mu_eff - k_tot - 0.753)) / (np.pi * ba))
    return {"ra": ra, "dec": dec, "k_tot": k_tot, "j_h": j_h, "h_k": h_k,
            "r_eff": np.clip(r_eff, 1.0, 300.0), "ba": ba, "pa": rng.uniform(0, 180, n)}


@lru_cache(maxsize=1)
def release_schema() -> pa.Schema:
    """The XSC release-file columns as Arrow fields, read once from the schema itself."""
    from .release_text import file_columns_of

    types = {"DOUBLE": pa.float64(), "SMALLINT": pa.int16(), "INTEGER": pa.int32(),
             "BIGINT": pa.int64(), "VARCHAR": pa.string(), "DATE": pa.date32()}
    return pa.schema([(c.name, types[c.type]) for c in file_columns_of("xsc")])


def _enclosed(x: np.ndarray) -> np.ndarray:
    """Light fraction of an exponential inside ``x`` scale lengths."""
    x = np.maximum(x, 0.0)
    return 1.0 - (1.0 + x) * np.exp(-x)


def _isophote(mu: float, mu0: np.ndarray, h: np.ndarray) -> np.ndarray:
    """Semi-major axis where the exponential profile falls to ``mu`` mag/arcsec²."""
    return np.maximum(mu - mu0, 0.0) / 1.0857 * h


def _reference_noise(band: str) -> float:
    """Flux noise (units of 10^(-0.4 m)) of an aperture of REF_AREA."""
    return 10 ** (-0.4 * LIMIT_10SIGMA[band]) / 10.0


def _mags(flux: np.ndarray, sigma: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(mag, msig, negative) as published; negative fluxes follow the release rule
    mag = 99 - (mag of |flux|), flag 9."""
    negative = flux <= 0
    absolute = np.maximum(np.abs(flux), 1e-30)
    mag = -2.5 * np.log10(absolute)
    mag = np.where(negative, 99.0 - mag, mag)
    msig = np.minimum(np.hypot(1.0857 * sigma / absolute, MAG_FLOOR), 9.999)
    return np.round(mag, 3), np.round(msig, 3), negative


def _rounded_ba(q: np.ndarray) -> np.ndarray:
    """Axis ratios as published: on a 0.02 grid, between 0.1 and 1."""
    return np.clip(np.round(q / 0.02) * 0.02, 0.1, 1.0).round(3)


def _phi(pa_deg: np.ndarray, ba: np.ndarray) -> np.ndarray:
    """Position angle E of N in (-90, 90], 5-degree steps; 90 for a round isophote."""
    phi = np.round(pa_deg / 5.0) * 5.0
    phi = (phi + 90.0) % 180.0 - 90.0
    return np.where((phi == -90.0) | (ba >= 1.0), 90.0, phi)


def _offset(ra: np.ndarray, dec: np.ndarray, rng: np.random.Generator,
            sigma_arcsec: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Positions moved by a 2-D Gaussian error, correct at the poles; published precision."""
    n = len(ra)
    sep = sigma_arcsec * np.sqrt(-2.0 * np.log(1.0 - rng.random(n)))
    angle = rng.uniform(0, 360, n)
    moved = SkyCoord(ra * u.deg, dec * u.deg).directional_offset_by(angle * u.deg,
                                                                    sep * u.arcsec)
    return (np.round(moved.ra.deg, 6) % 360.0,
            np.clip(np.round(moved.dec.deg, 6), -90.0, 90.0))


def _with_suffixes(names: list[str], scans: np.ndarray) -> list[str]:
    """17-character designations: blank, or A, B, ... for later otherwise-equal names of the
    same scan."""
    seen: dict[tuple[str, int], int] = {}
    out = []
    for name, scan in zip(names, scans.tolist(), strict=True):
        count = seen.get((name, scan), 0)
        seen[(name, scan)] = count + 1
        out.append(name + (" " if count == 0 else chr(ord("A") + count - 1)))
    return out


def _star_density(glon: np.ndarray, glat: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """log10 of stars with K < 14 per deg²: ~2.75 at the poles, ~4.3 in the plane, more
    towards the bulge."""
    centre = 0.5 * (1 + np.cos(np.radians(glon)))
    log_n = (2.75 + 1.6 * np.exp(-np.abs(glat) / 15.0)
             + 0.4 * centre * np.exp(-np.abs(glat) / 10.0) + rng.normal(0, 0.04, len(glat)))
    return np.round(log_n, 2)


def _rank_within(groups: np.ndarray) -> np.ndarray:
    """1, 2, ... in input order within each group (the source id within its coadd)."""
    order = np.argsort(groups, kind="stable")
    sorted_groups = groups[order]
    starts = np.r_[0, np.flatnonzero(np.diff(sorted_groups)) + 1]
    first = np.repeat(starts, np.diff(np.r_[starts, len(groups)]))
    ranks = np.empty(len(groups), dtype=np.int64)
    ranks[order] = np.arange(len(groups)) - first + 1
    return ranks


def synthetic_xsc(galaxies: dict[str, np.ndarray], *, scan: Mapping, first_ext_key: int,
                  coadd: np.ndarray, seed: int) -> pa.Table:
    """The XSC rows one scan reports for the given true galaxies (keys of ``true_galaxies``),
    as an Arrow table with every release-file column of ``schema/030_xsc.sql`` in order.

    Every galaxy becomes a row, in input order (the caller decides what is detected);
    ``coadd`` is the Atlas Image number holding each one. Columns not modelled are null."""
    n = len(np.asarray(galaxies["ra"]))
    return xsc_table(galaxies, scan_columns(scan, n), first_ext_key + np.arange(n),
                     np.asarray(coadd, dtype=np.int64), np.random.default_rng(seed))


def scan_columns(scan: Mapping, n: int) -> dict[str, np.ndarray]:
    """The columns ``xsc_table`` takes from the scan row, for ``n`` galaxies of one scan."""
    night_key = scan.get("night_key")
    return {"scan_key": np.full(n, int(scan["scan_key"]), np.int64),
            "jdate": np.full(n, float(scan["jdate"])), "hemis": np.full(n, scan["hemis"]),
            "scan": np.full(n, int(scan["scan"])),
            "date": np.full(n, np.datetime64(scan["date"], "D")),
            "night_key": np.full(n, np.nan if night_key is None else float(night_key))}


def xsc_table(galaxies: dict[str, np.ndarray], scan_cols: dict[str, np.ndarray],
              ext_key: np.ndarray, coadd: np.ndarray, rng: np.random.Generator) -> pa.Table:
    """XSC rows of galaxies seen by one or more scans (``scan_cols`` per row, from
    ``scan_columns``): one vectorised pass however many scans a night holds."""
    schema = release_schema()
    n = len(np.asarray(galaxies["ra"]))
    if n == 0:
        return schema.empty_table()
    g = {k: np.asarray(v, dtype=float) for k, v in galaxies.items()}
    total = {"k": g["k_tot"], "h": g["k_tot"] + g["h_k"]}
    total["j"] = total["h"] + g["j_h"]

    # the profile as observed: exponential convolved with the beam (added in quadrature)
    beam = PSF_FWHM / 2.0
    a_eff = np.hypot(g["r_eff"], beam)
    q_obs = np.hypot(g["ba"] * g["r_eff"], beam) / a_eff
    h = a_eff / B_EXP
    mu0 = g["k_tot"] + 2.5 * np.log10(2 * np.pi * h**2 * q_obs)   # Ks central brightness

    r_k20 = np.maximum(_isophote(MU_K20, mu0, h), MIN_R_K20FE)
    r_3sig = np.maximum(_isophote(MU_K3SIG, mu0, h), 2.0)
    sup_r_3sig = np.maximum(_isophote(MU_SUP3SIG, mu0, h), 2.5)
    r_fe = np.maximum(5.0 * h, MIN_R_K20FE)
    r_ext = r_k20 + np.maximum(4.0 * h, 5.0) * rng.uniform(0.95, 1.1, n)
    r_k20, r_3sig, sup_r_3sig = np.round(r_k20, 1), np.round(r_3sig, 1), np.round(sup_r_3sig, 1)
    r_fe, r_ext = np.round(r_fe, 1), np.round(r_ext, 2)

    # one confusion flag per galaxy (same in every band): mostly clean, big ones more often
    # have point sources subtracted inside the aperture
    big = np.clip(r_k20 / 40.0, 0, 1)
    u_flag = rng.random(n)
    base_flag = np.select([u_flag < 0.04 + 0.25 * big, u_flag < 0.07 + 0.25 * big,
                           u_flag < 0.10 + 0.25 * big], [3.0, 1.0, 2.0], 0.0)

    cols: dict[str, np.ndarray] = {}

    def put(prefix_band: str, suffix: str, flux, sigma):
        mag, msig, negative = _mags(flux, sigma)
        cols[f"{prefix_band}_m_{suffix}"] = mag
        cols[f"{prefix_band}_msig_{suffix}"] = msig
        cols[f"{prefix_band}_flg_{suffix}"] = np.where(negative, 9.0, base_flag)

    frac_k20 = _enclosed(r_k20 / h)
    frac_fe = _enclosed(r_fe / h)
    area_k20 = np.pi * r_k20**2 * q_obs
    area_fe = np.pi * r_fe**2 * q_obs
    h_circ = h * np.sqrt(q_obs)
    for b in BANDS:
        f_tot = 10 ** (-0.4 * total[b])
        unit = _reference_noise(b)
        sig_k20 = unit * (area_k20 / REF_AREA) ** 0.75
        put(b, "k20fe", f_tot * frac_k20 + sig_k20 * rng.normal(size=n), sig_k20)
        sig_fe = unit * (area_fe / REF_AREA) ** 0.75
        put(b, "fe", f_tot * frac_fe + sig_fe * rng.normal(size=n), sig_fe)
        sig_ext = EXT_NOISE * sig_k20
        mag, msig, _ = _mags(f_tot + sig_ext * rng.normal(size=n), sig_ext)
        cols[f"{b}_m_ext"], cols[f"{b}_msig_ext"] = mag, msig
        # fixed circular apertures: noise accumulates ring by ring, so nested apertures
        # share it; reported out to 1.5 r_ext as in the release
        areas = np.pi * np.asarray(FIXED_APERTURES, dtype=float) ** 2
        rings = np.diff(np.r_[0.0, areas])
        noise = np.cumsum(rng.normal(size=(n, len(areas))) * np.sqrt(rings / REF_AREA), axis=1)
        for i, radius in enumerate(FIXED_APERTURES):
            sigma = unit * np.sqrt(areas[i] / REF_AREA)
            put(b, str(radius), f_tot * _enclosed(radius / h_circ) + unit * noise[:, i], sigma)
            shown = radius <= 1.5 * r_ext
            for name in (f"{b}_m_{radius}", f"{b}_msig_{radius}", f"{b}_flg_{radius}"):
                cols[name] = np.where(shown, cols[name], np.nan)

    # 3-sigma isophote shapes: the beam rounds small isophotes; noisier when small
    def shape(radius: np.ndarray, scatter: float) -> tuple[np.ndarray, np.ndarray]:
        r = np.maximum(radius, 1.0)
        psf_sigma = PSF_FWHM / 2.3548
        q = np.hypot(g["ba"] * r, psf_sigma) / np.hypot(r, psf_sigma)
        q = q + rng.normal(0, 1, n) * scatter * (0.03 + 0.3 * (5.0 / (r + 5.0)) ** 2)
        ba = _rounded_ba(q)
        angle_err = np.minimum(40.0, 3.0 / (1.0 - np.minimum(q, 0.99) + 0.05))
        return ba, _phi(g["pa"] + rng.normal(0, 1, n) * angle_err, ba)

    for b in BANDS:
        cols[f"{b}_ba"], cols[f"{b}_phi"] = shape(r_3sig, 1.0)
    cols["sup_ba"], cols["sup_phi"] = shape(sup_r_3sig, 0.6)

    for b in BANDS:
        r_eff_b = np.round(a_eff * (1 + rng.normal(0, 0.04, n)), 2)
        cols[f"{b}_r_eff"] = r_eff_b
        cols[f"{b}_mnsurfb_eff"] = np.round(
            cols[f"{b}_m_ext"] + 0.753 + 2.5 * np.log10(np.pi * r_eff_b**2), 2)

    # positions: peak pixel and super-coadd centroid, each within a fraction of an arcsec
    ra, dec = _offset(g["ra"], g["dec"], rng, 0.2 + 0.01 * np.minimum(g["r_eff"], 30.0))
    sup_ra, sup_dec = _offset(g["ra"], g["dec"], rng, np.full(n, 0.25))
    glon, glat = galactic(ra, dec)
    glon, glat = np.round(glon, 3) % 360.0, np.round(glat, 3)

    # star/galaxy scores: near 1.4 for beam-sized faint sources, ~0.3 for big bright ones
    point_like = np.clip((beam / a_eff) ** 2, 0, 1)
    faint = np.clip((cols["k_m_k20fe"] - 11.0) / 3.0, 0, 1)
    g_score = np.clip(0.3 + 1.0 * point_like + 0.35 * faint + rng.normal(0, 0.08, n), 0.1, 1.4)
    e_score = np.clip(0.2 + 0.9 * point_like + 0.3 * faint + rng.normal(0, 0.08, n), 0.1, 1.9)
    # bright sources were all looked at; many faint ones were not
    u_vc = rng.random(n)
    unexamined = np.where(cols["k_m_k20fe"] < 13.0, 0.02, 0.39)
    vc = np.where(u_vc < 0.01, 2.0, np.where(u_vc < 0.01 + unexamined, -1.0, 1.0))
    u_cc = rng.random(n)
    cc_flg = np.where(r_k20 >= 60.0, "Z", np.select(
        [u_cc < 0.005, u_cc < 0.015, u_cc < 0.018], ["U", "C", "z"], "0"))

    scan_key = scan_cols["scan_key"]
    names = _with_suffixes(designations(ra, dec).to_pylist(), scan_key)
    jdate = np.round(scan_cols["jdate"] + SCAN_SECONDS / 2 / 86400.0, 4)
    cols |= {
        "jdate": jdate, "designation": np.array(names, dtype=object),
        "ra": ra, "dec": dec, "sup_ra": sup_ra, "sup_dec": sup_dec, "glon": glon,
        "glat": glat, "density": _star_density(glon, glat, rng),
        "r_k20fe": r_k20, "r_3sig": r_3sig, "sup_r_3sig": sup_r_3sig, "r_fe": r_fe,
        "r_ext": r_ext, "e_score": np.round(e_score, 2), "g_score": np.round(g_score, 2),
        "vc": vc, "cc_flg": cc_flg.astype(object),
        "dup_src": np.zeros(n), "use_src": np.ones(n),
        "night_key": scan_cols["night_key"],
        "scan_key": scan_key.astype(float), "coadd_key": coadd_key(scan_key, coadd),
        "hemis": scan_cols["hemis"].astype(object), "scan": scan_cols["scan"],
        "coadd": coadd, "id": _rank_within(coadd_key(scan_key, coadd)),
        "ext_key": ext_key,
    }
    arrays = []
    for field in schema:
        if field.name == "date":
            arrays.append(pa.array(scan_cols["date"].astype("datetime64[D]"), pa.date32()))
        elif field.name not in cols:
            arrays.append(pa.nulls(n, field.type))
        elif pa.types.is_string(field.type):
            arrays.append(pa.array(list(cols[field.name]), type=field.type))
        else:
            values = np.asarray(cols[field.name], dtype=float)
            missing = np.isnan(values)
            if pa.types.is_integer(field.type):
                values = np.rint(np.where(missing, 0, values)).astype(field.type.to_pandas_dtype())
            arrays.append(pa.array(values, type=field.type, mask=missing))
    return pa.Table.from_arrays(arrays, schema=schema)
