-- Atlas Images (docs/images.md): pixels stored for reading one image at a time, finding the
-- images that hold a position, and the cutout table function.

-- The compressed FITS files (loaders/images.py) do not compress further, but DuckDB chose
-- ZSTD for the column, and reading one blob then decompresses its whole segment: 7 ms per
-- read with 69 images stored, 336 ms with 2,070. Uncompressed, a read costs 0.5 ms at both
-- sizes. The column keeps its name and place; rows already loaded are copied over.
ALTER TABLE atlas_images ADD COLUMN fits_uncompressed BLOB USING COMPRESSION uncompressed;
UPDATE atlas_images SET fits_uncompressed = fits;
ALTER TABLE atlas_images DROP COLUMN fits;
ALTER TABLE atlas_images RENAME COLUMN fits_uncompressed TO fits;

-- The unit vector of a position (DOUBLE[3]).
CREATE MACRO sky_vector(ra, dec) AS array_value(
    cos(radians(dec)) * cos(radians(ra)), cos(radians(dec)) * sin(radians(ra)),
    sin(radians(dec)));

-- Signed angle (degrees) of the point p from the great circle through a and b (unit
-- vectors): positive on the side where a x b points.
CREATE MACRO sky_side(a, b, p) AS degrees(asin(least(1.0, greatest(-1.0,
    array_cosine_similarity(array_cross_product(a, b), p)))));

-- The angle (degrees) from p to the nearest edge of the spherical quadrilateral c1-c2-c3-c4
-- (unit vectors, great-circle edges, either orientation): positive inside, 0 on an edge,
-- negative outside (then at most the true distance to the quadrilateral, so `>= -r` never
-- misses one within r). Valid for quadrilaterals smaller than a hemisphere.
CREATE MACRO quad_distance(o, d1, d2, d3, d4) AS least(o * d1, o * d2, o * d3, o * d4);
CREATE MACRO quad_edge_distance(c1, c2, c3, c4, p) AS quad_distance(
    sign(array_inner_product(array_cross_product(c1, c2), c3)),
    sky_side(c1, c2, p), sky_side(c2, c3, p), sky_side(c3, c4, p), sky_side(c4, c1, p));

-- The footprint test of an Atlas Image: its four pixel-edge corners (1 = pixel (0, 0),
-- 2 = (NAXIS1, 0), 3 = (0, NAXIS2), 4 = (NAXIS1, NAXIS2), as in atlas_images) joined by
-- great circles, in the cycle 1-2-4-3; the angle (degrees) from the position to the
-- nearest edge, positive inside. `WHERE atlas_edge_distance(i.ra_1, i.dec_1, i.ra_2,
-- i.dec_2, i.ra_3, i.dec_3, i.ra_4, i.dec_4, ra, dec) >= 0` keeps the images holding a
-- position; ordering by it descending puts the best first.
CREATE MACRO atlas_edge_distance(ra_1, dec_1, ra_2, dec_2, ra_3, dec_3, ra_4, dec_4,
                                 ra, dec) AS
    quad_edge_distance(sky_vector(ra_1, dec_1), sky_vector(ra_2, dec_2),
                       sky_vector(ra_4, dec_4), sky_vector(ra_3, dec_3), sky_vector(ra, dec));

-- Atlas Images within `radius_deg` of a position (edge_distance >= -radius_deg: a superset
-- of the images overlapping a cone of that radius), best first: the image whose nearest
-- edge is farthest from the position (Montage's mBestImage rule), then by band (j, h, k)
-- and coadd_key. The prefilter assumes footprints reach less than 0.5 deg from their
-- centre (an Atlas Image: 0.16 deg); the dec band lets DuckDB skip row groups. The same
-- test as atlas_edge_distance, with the corner vectors computed first as columns: DuckDB
-- plans that in 2 ms instead of 8.
CREATE MACRO images_near(ra_deg, dec_deg, radius_deg) AS TABLE
    SELECT * EXCLUDE (c1, c2, c3, c4, p) FROM (
        SELECT *, quad_edge_distance(c1, c2, c3, c4, p) AS edge_distance FROM (
            SELECT i.*, sky_vector(i.ra_1, i.dec_1) AS c1, sky_vector(i.ra_2, i.dec_2) AS c2,
                   sky_vector(i.ra_4, i.dec_4) AS c3, sky_vector(i.ra_3, i.dec_3) AS c4,
                   sky_vector(ra_deg, dec_deg) AS p
            FROM atlas_images i
            WHERE i.crval2 BETWEEN dec_deg - radius_deg - 0.5 AND dec_deg + radius_deg + 0.5
              AND ang_sep(i.crval1, i.crval2, ra_deg, dec_deg) < radius_deg + 0.5))
    WHERE edge_distance >= -radius_deg
    ORDER BY edge_distance DESC, strpos('jhk', band), coadd_key;

-- Atlas Images whose footprint holds a position, best first (see images_near).
CREATE MACRO images_at(ra_deg, dec_deg) AS TABLE
    SELECT * FROM images_near(ra_deg, dec_deg, 0.0);

-- Cutouts as rows, one per band: see catscan.images.cutout and docs/images.md. The
-- candidate images (those within the cutout's half-diagonal) go to the Python function
-- image_cutout_rows (udfs/images.py, registered on every catscan connection), which
-- returns a list of structs; no rows when no image overlaps. mode: 'sub' or 'whole'.
-- The call sits in a lambda because DuckDB binds the body of a macro when it is created,
-- except inside lambdas, and the schema is applied without catscan's Python functions:
-- the function is looked up when a query uses the macro (an error naming it without them).
CREATE MACRO image_cutout(ra_deg, dec_deg, size_arcmin, bands := 'JHK', mode := 'sub',
                          allow_large := false) AS TABLE
    SELECT unnest(list_transform([(
        SELECT list({'coadd_key': c.coadd_key, 'band': c.band, 'date': c.date,
                     'hemis': c.hemis, 'scan': c.scan, 'image': c.image, 'fname': c.fname,
                     'edge_distance': c.edge_distance, 'fits': c.fits}
                    ORDER BY c.edge_distance DESC, strpos('jhk', c.band), c.coadd_key)
        FROM images_near(ra_deg, dec_deg,
                         CASE WHEN mode = 'whole' THEN 0.0
                              ELSE size_arcmin / 60.0 * sqrt(0.5) END) c)],
        lambda offered: image_cutout_rows(ra_deg, dec_deg, size_arcmin, bands, mode,
                                          allow_large, offered))[1], recursive := true);
