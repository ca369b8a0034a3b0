"""Atlas Image benchmark: the compressed store against plain FITS files, in one run.

* store: compression ratio per band (delivered FITS bytes / stored bytes) and the store
  per scan against the raw images; the photometric cost of the compression by magnitude
  bin (aperture photometry on the stored vs the delivered images, at the catalogue
  positions), on the generated scan and on the real M17 image in ../shared/real_2mass
  (stars found on the image there);
* warm 3-band 5' cutout from the store (``catscan.images.cutout``: astropy HDUs; goal
  < 40 ms median) against astropy ``Cutout2D`` on the uncompressed delivered files (the
  file holding the position given for free), for positions inside one image (native) and
  across the seam of two images (mosaic); the SQL table function ``image_cutout``;
* whole-image decompress against reading the plain file; a composite (cutouts, colour
  picture, grid, PNG).

The data are the demo survey with Atlas Images for one scan (``catscan generate --scale
demo``), built once in the work directory (default ``bench/out/images``).

    python bench/images.py [--runs 30] [--workdir DIR]
"""

from __future__ import annotations

import argparse
import io
import shutil
import statistics
import time
from pathlib import Path

import numpy as np
from astropy.coordinates import SkyCoord
from astropy.io import fits
from astropy.nddata import Cutout2D
from astropy.wcs import WCS

from catscan.db import connect
from catscan.demo import quiet_demo_database
from catscan.images import composite_png, cutout, cutouts
from catscan.images.render import composite_picture, draw_grid
from catscan.images.store import StoredImage, clear_cache
from catscan.loaders.images import compress, decompress, read_atlas_image
from catscan.survey.synthetic_images import NOISE_KERNEL_SIGMA

REAL = Path(__file__).resolve().parents[2] / "shared" / "real_2mass" / "atlas_images" / \
    "2mass-atlas-990502s-j1420198.fits"
CUTOUT_GOAL_MS = 40.0
BINS = ((0, 12), (12, 14), (14, 15.5), (15.5, 17))
APERTURE = 4.0                      # px = arcsec, as in the design notes


def demo(workdir: Path) -> Path:
    """The demo survey with one imaged scan, built once per image model (a cache built by an
    older generator would measure the old images)."""
    db = workdir / "catscan.duckdb"
    marker = workdir / "image_model.txt"
    model = f"coadd noise kernel sigma {NOISE_KERNEL_SIGMA} px\n"
    if db.exists() and (not marker.exists() or marker.read_text() != model):
        shutil.rmtree(workdir)
    if not db.exists():
        quiet_demo_database(workdir, image_scans=1)
        marker.write_text(model)
    from catscan.db import init_database

    init_database(db)                                    # upgrade a cached older schema
    return db


def median_ms(fn, runs: int) -> float:
    fn()
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1e3


def timed(fn) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


# ----------------------------------------------------------------------------- photometry


def aperture_mags(data: np.ndarray, x: np.ndarray, y: np.ndarray, magzp: float
                  ) -> np.ndarray:
    """Aperture magnitudes (r = 4 px, sky: median of a 10-18 px annulus); NaN near edges or
    blank pixels."""
    out = np.full(len(x), np.nan)
    ny, nx = data.shape
    yy, xx = np.mgrid[-20:21, -20:21]
    for i, (xi, yi) in enumerate(zip(x, y, strict=True)):
        cx, cy = int(round(xi)), int(round(yi))
        if cx < 20 or cy < 20 or cx >= nx - 20 or cy >= ny - 20:
            continue
        cut = data[cy - 20:cy + 21, cx - 20:cx + 21]
        r = np.hypot(xx + cx - xi, yy + cy - yi)
        if not np.isfinite(cut[r < 18]).all():
            continue
        sky = np.median(cut[(r > 10) & (r < 18)])
        flux = float(np.sum(cut[r <= APERTURE] - sky))
        if flux > 0:
            out[i] = magzp - 2.5 * np.log10(flux)
    return out


def by_bin(mags: np.ndarray, delta: np.ndarray) -> list[tuple[str, int, float, float]]:
    """(bin, stars, rms of delta, mean of delta) per magnitude bin."""
    rows = []
    for lo, hi in BINS:
        pick = (mags >= lo) & (mags < hi) & np.isfinite(delta)
        d = delta[pick]
        rows.append((f"{lo:g}-{hi:g}" if lo else f"< {hi:g}", int(pick.sum()),
                     float(np.sqrt(np.mean(d**2))) if len(d) else float("nan"),
                     float(np.mean(d)) if len(d) else float("nan")))
    return rows


def generated_photometry(con, survey: Path) -> dict[str, list]:
    """Per band: delta m (stored - delivered) of the scan's catalogue stars."""
    stars = con.execute("SELECT ra, dec, j_m, h_m, k_m FROM psc WHERE date = '1997-10-24' "
                        "AND scan = 8").fetchall()
    ra, dec = (np.array([s[i] for s in stars], float) for i in (0, 1))
    mags = {b: np.array([np.nan if s[i] is None else s[i] for s in stars], float)
            for i, b in ((2, "j"), (3, "h"), (4, "k"))}
    out = {}
    for band in ("j", "h", "k"):
        cat, delta = [], []
        for fname, blob in con.execute("SELECT fname, fits FROM atlas_images WHERE band = ?",
                                       [band]).fetchall():
            path = next(survey.rglob(fname))
            header, original = read_atlas_image(path)
            _, stored = decompress(blob)
            x, y = WCS(header).all_world2pix(ra, dec, 0)
            inside = (x > 25) & (x < original.shape[1] - 25) & (y > 25) & \
                (y < original.shape[0] - 25) & np.isfinite(mags[band])
            before = aperture_mags(original, x[inside], y[inside], header["MAGZP"])
            after = aperture_mags(stored, x[inside], y[inside], header["MAGZP"])
            cat.append(before)
            delta.append(after - before)
        out[band] = by_bin(np.concatenate(cat), np.concatenate(delta))
    return out


SCALES = (8, 12, 16, 24, 32, "rice")         # "rice": RICE_1 q=16, the near-lossless tier


def settings_sweep(con, survey: Path, images: int = 23) -> list[tuple[float, float, list]]:
    """HCOMPRESS scale against ratio and photometric cost, on the first J images of the
    generated scan and on the real image: (scale, generated ratio, generated rows, real
    ratio, real rows) with rows (bin, stars, rms, mean)."""
    stars = con.execute("SELECT ra, dec, j_m FROM psc WHERE date = '1997-10-24' AND scan = 8 "
                        "AND j_m IS NOT NULL").fetchall()
    ra, dec, _ = (np.array(c, float) for c in zip(*stars, strict=True))
    fnames = [r[0] for r in con.execute("SELECT fname FROM atlas_images WHERE band = 'j' "
                                        "ORDER BY image LIMIT ?", [images]).fetchall()]
    inputs = []
    for fname in fnames:
        path = next(survey.rglob(fname))
        header, data = read_atlas_image(path)
        x, y = WCS(header).all_world2pix(ra, dec, 0)
        before = aperture_mags(data, x, y, header["MAGZP"])
        inputs.append((path, header, data, x, y, before))
    real = None
    if REAL.is_file():
        header, data = read_atlas_image(REAL)
        x, y = find_stars(data, header["SKYSIG"])
        real = (REAL, header, data, x, y, aperture_mags(data, x, y, header["MAGZP"]))
    out = []
    for scale in SCALES:
        row = [scale]
        for group in (inputs, [real] if real else []):
            raw = stored = 0
            mags, delta = [], []
            for path, header, data, x, y, before in group:
                blob = compress(header, data, method="rice") if scale == "rice" else \
                    compress(header, data, hcomp_scale=scale)
                raw, stored = raw + path.stat().st_size, stored + len(blob)
                after = aperture_mags(decompress(blob)[1], x, y, header["MAGZP"])
                mags.append(before)
                delta.append(after - before)
            if group:
                row += [raw / stored, by_bin(np.concatenate(mags), np.concatenate(delta))]
        out.append(tuple(row))
    return out


def find_stars(data: np.ndarray, sigma: float) -> tuple[np.ndarray, np.ndarray]:
    """Pixels that are the maximum of their 13 x 13 neighbourhood (nothing brighter within
    6 px) and 10 sigma above the median of their 31 x 31 neighbourhood."""
    from numpy.lib.stride_tricks import sliding_window_view as windows

    filled = np.where(np.isfinite(data), data, np.nanmedian(data))
    padded = np.pad(filled, 6, mode="edge")
    local_max = windows(windows(padded, 13, axis=1).max(axis=2), 13, axis=0).max(axis=2)
    ys, xs = np.nonzero((filled == local_max) & np.isfinite(data))
    keep = (xs >= 20) & (ys >= 20) & (xs < data.shape[1] - 20) & (ys < data.shape[0] - 20)
    xs, ys = xs[keep], ys[keep]
    bright = [filled[y, x] - np.median(filled[y - 15:y + 16, x - 15:x + 16]) > 10 * sigma
              for x, y in zip(xs, ys, strict=True)]
    return xs[bright].astype(float), ys[bright].astype(float)


def real_photometry() -> tuple[float, list] | None:
    """Ratio and delta m by bin on the real M17 image, at the stars found on it."""
    if not REAL.is_file():
        return None
    header, data = read_atlas_image(REAL)
    blob = compress(header, data)
    _, stored = decompress(blob)
    x, y = find_stars(data, header["SKYSIG"])
    before = aperture_mags(data, x, y, header["MAGZP"])
    after = aperture_mags(stored, x, y, header["MAGZP"])
    return REAL.stat().st_size / len(blob), by_bin(before, after - before)


# ----------------------------------------------------------------------------- timing


def anchor_cutout(paths: list[Path], ra: float, dec: float) -> list[fits.PrimaryHDU]:
    """What one would do with plain files: open each band's FITS file (memory-mapped),
    Cutout2D of 300 x 300 px, an HDU with the cutout's WCS."""
    out = []
    position = SkyCoord(ra, dec, unit="deg")
    for path in paths:
        with fits.open(path, memmap=True) as hdul:
            header = hdul[0].header
            cut = Cutout2D(hdul[0].data, position, (300, 300), wcs=WCS(header),
                           mode="partial", fill_value=np.nan, copy=True)
            header = header.copy()                     # the original header, CRPIX moved
            header["CRPIX1"] -= cut.origin_original[0]
            header["CRPIX2"] -= cut.origin_original[1]
            out.append(fits.PrimaryHDU(cut.data, header))
    return out


def positions(con, kind: str, count: int, seed: int = 1) -> list[tuple[float, float]]:
    """Random native positions (inside one image, 3' from its edges) or seam positions."""
    rng = np.random.default_rng(seed)
    rows = con.execute("SELECT crval1, crval2, naxis2 FROM atlas_images WHERE band = 'j' "
                       "ORDER BY crval2").fetchall()
    out = []
    for _ in range(count):
        i = int(rng.integers(0, len(rows) - 1))
        ra, dec, n = rows[i]
        if kind == "native":
            offset = rng.uniform(-(n / 2 - 200), n / 2 - 200) / 3600
            out.append((ra + rng.uniform(-50, 50) / 3600 / np.cos(np.radians(dec)),
                        dec + offset))
        else:
            out.append((ra + rng.uniform(-50, 50) / 3600 / np.cos(np.radians(dec)),
                        (dec + n / 7200 + rows[i + 1][1] - rows[i + 1][2] / 7200) / 2))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--workdir", type=Path,
                        default=Path(__file__).with_name("out") / "images")
    args = parser.parse_args(argv)
    db = demo(args.workdir)
    survey = args.workdir / "survey"
    con = connect(db)
    try:
        print("Store (demo survey, 971024n scan 8: 69 Atlas Images)")
        print(f"  {'band':6s} {'images':>6s} {'raw MB':>8s} {'stored MB':>10s} {'ratio':>7s}")
        total_raw = total = 0
        for band, n, raw, stored in con.execute(
                "SELECT band, count(*), sum(raw_bytes), sum(bytes) FROM atlas_images "
                "GROUP BY band ORDER BY strpos('jhk', band)").fetchall():
            total_raw, total = total_raw + raw, total + stored
            print(f"  {band.upper():6s} {n:6d} {raw / 1e6:8.2f} {stored / 1e6:10.2f} "
                  f"{raw / stored:7.2f}")
        print(f"  {'scan':6s} {69:6d} {total_raw / 1e6:8.2f} {total / 1e6:10.2f} "
              f"{total_raw / total:7.2f}   (store per scan vs raw)")
        rice = [len(compress(*read_atlas_image(p), method="rice")) for p in
                sorted(survey.rglob("ji*.fits"))[:5]]
        raw5 = [p.stat().st_size for p in sorted(survey.rglob("ji*.fits"))[:5]]
        print(f"  RICE_1 q=16 (near-lossless tier), 5 J images: {sum(raw5) / sum(rice):.2f}:1")

        print("\nPhotometric cost: aperture (r = 4\") magnitude, stored - delivered, "
              "rms and mean by catalogue magnitude")
        for band, rows in generated_photometry(con, survey).items():
            for name, n, rms, mean in rows:
                print(f"  generated {band.upper()} {name:>9s}: {n:5d} stars  rms "
                      f"{rms:.4f}  mean {mean:+.4f}")
        real = real_photometry()
        if real is None:
            print("  real M17 image: ../shared/real_2mass absent, skipped")
        else:
            ratio, rows = real
            print(f"  real M17 J image: ratio {ratio:.2f}:1")
            for name, n, rms, mean in rows:
                print(f"  real      J {name:>9s}: {n:5d} stars  rms {rms:.4f}  "
                      f"mean {mean:+.4f}")

        print("\nHCOMPRESS scale (astropy hcomp_scale; q = 4, 128x128 tiles) against ratio "
              "and J rms by bin (< 12, 12-14, 14-15.5): the 23 generated J images | real M17 J")
        for scale, *rest in settings_sweep(con, survey):
            text = f"  {'s=' + str(scale) if scale != 'rice' else 'RICE_1':7s}"
            for ratio, rows in zip(rest[::2], rest[1::2], strict=True):
                text += f" {ratio:5.1f}:1 " + " ".join(f"{r[2]:.4f}" for r in rows[:3]) + " |"
            print(text.rstrip(" |"))

        print(f"\nTimings, medians of {args.runs} runs; cutouts at {args.runs} random "
              "positions, each run once untimed first (warm: files in the page cache, images "
              "opened by the store's cache)")
        results = []
        for kind in ("native", "mosaic"):
            where = positions(con, kind, args.runs)
            files = []
            for ra, dec in where:
                best = {b: f for b, f in con.execute(
                    "SELECT band, fname FROM images_at(?, ?) ORDER BY edge_distance DESC",
                    [ra, dec]).fetchall()[::-1]}
                files.append([next(survey.rglob(best[b])) for b in ("j", "h", "k")])
            times: dict[str, list[float]] = {"ours": [], "anchor": [], "sql": [], "cold": []}
            for (ra, dec), paths in zip(where, files, strict=True):
                # each position: once to warm up (files in the page cache, images opened),
                # then timed; the two sides in turn, so that both see the same load
                assert cutouts(ra, dec, 5, db=con)[0].mosaic == (kind == "mosaic")
                anchor_cutout(paths, ra, dec)
                times["ours"].append(timed(lambda p=(ra, dec): cutout(*p, 5, db=con)))
                times["anchor"].append(timed(lambda p=(ra, dec), f=paths:
                                             anchor_cutout(f, *p)))
                times["sql"].append(timed(lambda p=(ra, dec): con.execute(
                    "SELECT * FROM image_cutout(?, ?, 5)", list(p)).fetchall()))
                clear_cache()
                times["cold"].append(timed(lambda p=(ra, dec): cutout(*p, 5, db=con)))
            ours, theirs, sql, cold = (statistics.median(times[k]) * 1e3
                                       for k in ("ours", "anchor", "sql", "cold"))
            results.append((f"3-band 5' cutout, {kind}: catscan.images.cutout", ours,
                            f"Cutout2D on plain files {theirs:.1f} ms", ours / theirs))
            results.append(("  the same through SQL image_cutout (FITS bytes)", sql, "", None))
            results.append(("  the same, no opened image cached", cold, "", None))
        blob = con.execute("SELECT fits FROM atlas_images LIMIT 1").fetchall()[0][0]
        fname = con.execute("SELECT fname FROM atlas_images LIMIT 1").fetchall()[0][0]
        plain = next(survey.rglob(fname))
        whole = median_ms(lambda: StoredImage(blob).whole(), args.runs)
        read = median_ms(lambda: fits.getdata(plain, memmap=False), args.runs)
        results.append(("whole-image decompress (512 x 1024)", whole,
                        f"reading the plain file {read:.1f} ms", whole / read))
        ra, dec = positions(con, "native", 1)[0]
        bands = cutouts(ra, dec, 5, db=con)
        out = io.BytesIO()
        picture = median_ms(lambda: composite_picture(bands, 2), args.runs)
        image = composite_picture(bands, 2)
        wcs = WCS(bands[0].hdu.header)
        grid = median_ms(lambda: draw_grid(image.copy(), wcs, (300, 300), 2), args.runs)
        png = median_ms(lambda: (out.seek(0), image.save(out, format="PNG")), args.runs)
        total = median_ms(lambda: composite_png(cutouts(ra, dec, 5, db=con),
                                                args.workdir / "composite.png", grid=True),
                          args.runs)
        results.append(("composite picture (make_lupton_rgb, 600 x 600)", picture, "", None))
        results.append(("  J2000 grid with labels (Pillow)", grid, "", None))
        results.append(("  PNG write (Pillow)", png, "", None))
        results.append(("composite end to end: cutouts + picture + grid + PNG", total, "",
                        None))
        print(f"  {'measure':58s} {'ms':>7s}  {'anchor':34s} {'ratio':>6s}")
        for name, ms, anchor, ratio in results:
            print(f"  {name:58s} {ms:7.1f}  {anchor:34s} "
                  + (f"{ratio:6.2f}" if ratio is not None else ""))
        native = results[0][1]
        print(f"\nwarm 3-band 5' cutout (native) {native:.1f} ms: goal < {CUTOUT_GOAL_MS:.0f} "
              f"ms {'met' if native < CUTOUT_GOAL_MS else 'MISSED'}")
    finally:
        con.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
