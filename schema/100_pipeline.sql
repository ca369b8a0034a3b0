-- The nightly pipeline (issue: survey pipeline): deliveries load whole nights through the
-- Quality Review gate, so nights, their health summaries and Atlas Images remember the load
-- that brought them, tiles gain a QA-rejected state, and Atlas Images keep their pixels.

-- tiles: the whole-sky grid (catscan.survey.tiles), filled on first use; the status is the
-- tile's state in the survey, recomputed from its scans after each night load.
DROP TABLE tiles;
CREATE TABLE tiles (
    tile INTEGER PRIMARY KEY,         -- 6-digit tile id (STRIP_ID); 9xxxx calibration fields
    hemis VARCHAR NOT NULL CHECK (hemis IN ('n', 's')),
    ra DOUBLE NOT NULL CHECK (ra >= 0 AND ra < 360),
    dec DOUBLE NOT NULL CHECK (dec BETWEEN -90 AND 90),
    ra_1 DOUBLE, dec_1 DOUBLE, ra_2 DOUBLE, dec_2 DOUBLE,
    ra_3 DOUBLE, dec_3 DOUBLE, ra_4 DOUBLE, dec_4 DOUBLE,
    status VARCHAR NOT NULL DEFAULT 'planned'
        CHECK (status IN ('planned', 'observed', 'processed', 'loaded', 'rescan', 'rejected')),
    chosen_scan_key INTEGER,          -- the loaded scan with the best QA score (latest on ties)
    quality DOUBLE,                   -- QA score of the tile's best scan
    scans INTEGER NOT NULL DEFAULT 0, -- scans of the tile recorded so far
    hpx29 BIGINT
);

ALTER TABLE nights ADD COLUMN load_id INTEGER;     -- the delivery load that wrote the night
ALTER TABLE night_qa ADD COLUMN load_id INTEGER;
ALTER TABLE atlas_images ADD COLUMN raw_bytes BIGINT;  -- size of the delivered FITS file
ALTER TABLE atlas_images ADD COLUMN fits BLOB;     -- the compressed FITS file (loaders/images.py)
