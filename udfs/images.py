"""The cutout function behind the SQL table macro ``image_cutout`` (schema/110_images.sql).

DuckDB 2.0 has no Python table functions, so the macro selects the candidate images in SQL
(``images_near``, blobs included) and hands them to this scalar function, which returns one
struct per band; the macro unnests them into rows. The work is catscan.images.cutout's, the
same as for the Python API and the CLI. Bad arguments raise, which aborts the query with
the message; a NULL position or size gives no rows.
"""

from __future__ import annotations

NAME = "image_cutout_rows"
CANDIDATES = ("STRUCT(coadd_key INTEGER, band VARCHAR, date DATE, hemis VARCHAR, "
              "scan SMALLINT, image SMALLINT, fname VARCHAR, edge_distance DOUBLE, "
              "fits BLOB)[]")
ARGUMENTS = ["DOUBLE", "DOUBLE", "DOUBLE", "VARCHAR", "VARCHAR", "BOOLEAN", CANDIDATES]
RETURNS = ("STRUCT(band VARCHAR, coadd_keys INTEGER[], fnames VARCHAR[], date DATE, "
           "hemis VARCHAR, scan SMALLINT, image SMALLINT, mode VARCHAR, mosaic BOOLEAN, "
           "coverage DOUBLE, x_min INTEGER, x_max INTEGER, y_min INTEGER, y_max INTEGER, "
           "naxis1 INTEGER, naxis2 INTEGER, ctype1 VARCHAR, ctype2 VARCHAR, crval1 DOUBLE, "
           "crval2 DOUBLE, crpix1 DOUBLE, crpix2 DOUBLE, cdelt1 DOUBLE, cdelt2 DOUBLE, "
           "crota2 DOUBLE, magzp DOUBLE, fits BLOB)[]")


def image_cutout_rows(ra, dec, size_arcmin, bands, mode, allow_large, candidates
                      ) -> list[dict] | None:
    """One struct per band with data; None (no rows) for a NULL position or size."""
    from catscan.images.extract import Candidate, check_request, make_cutouts
    from catscan.images.find import parse_bands

    if ra is None or dec is None or (size_arcmin is None and mode != "whole"):
        return None
    ra, dec = float(ra) % 360.0, float(dec)
    size = float(size_arcmin) if size_arcmin is not None else 0.0
    mode = mode or "sub"
    check_request(ra, dec, size, mode, bool(allow_large))
    wanted = parse_bands(bands or "JHK")
    offered = [Candidate(**c) for c in candidates or [] if c is not None]
    return [c.row() for c in make_cutouts(offered, ra, dec, size, wanted, mode)]
