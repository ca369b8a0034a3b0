-- Survey bookkeeping: tiles, nights and their processing history, scans, nightly health QA,
-- and the Atlas Image index. Column names follow the 2MASS scan and image tables where they
-- exist (2mass_reference.md §3-§6); corners are numbered as in the scan table: 1 = eastern at
-- scan start, 2 = western at start, 3 = eastern at end, 4 = western at end.

CREATE TABLE facilities (
    hemis VARCHAR PRIMARY KEY CHECK (hemis IN ('n', 's')),
    facility VARCHAR NOT NULL,        -- observatory
    computer VARCHAR NOT NULL,        -- production computer at IPAC (1998)
    telname VARCHAR NOT NULL          -- FITS TELNAME
);
INSERT INTO facilities VALUES
    ('n', 'Mt Hopkins', 'barney', 'Hopkins'),
    ('s', 'CTIO', 'rex', 'CTIO');

CREATE TABLE tiles (
    tile INTEGER PRIMARY KEY,         -- 6-digit tile id (STRIP_ID)
    hemis VARCHAR NOT NULL CHECK (hemis IN ('n', 's')),
    ra DOUBLE NOT NULL CHECK (ra >= 0 AND ra < 360),
    dec DOUBLE NOT NULL CHECK (dec BETWEEN -90 AND 90),
    ra_1 DOUBLE, dec_1 DOUBLE, ra_2 DOUBLE, dec_2 DOUBLE,
    ra_3 DOUBLE, dec_3 DOUBLE, ra_4 DOUBLE, dec_4 DOUBLE,
    status VARCHAR NOT NULL DEFAULT 'planned'
        CHECK (status IN ('planned', 'observed', 'processed', 'loaded', 'rescan')),
    chosen_scan_key INTEGER,          -- the scan chosen for the tile (release: one per tile)
    quality SMALLINT,                 -- quality of the chosen scan, 0 = rescan
    hpx29 BIGINT
);

CREATE TABLE nights (
    date DATE NOT NULL,               -- observation reference date (UT at sunrise)
    hemis VARCHAR NOT NULL CHECK (hemis IN ('n', 's')),
    facility VARCHAR NOT NULL,
    computer VARCHAR NOT NULL,
    tape_received DATE,
    validated DATE,
    processed DATE,
    version VARCHAR,                  -- current 2MAPPS version: 2.0x, 2.1, 3.0
    kind VARCHAR CHECK (kind IN ('calibration', 'operational', 'reprocessing')),
    PRIMARY KEY (date, hemis)
);

CREATE SEQUENCE processing_history_seq START 1;

CREATE TABLE processing_history (
    event_id INTEGER PRIMARY KEY DEFAULT nextval('processing_history_seq'),
    date DATE NOT NULL,
    hemis VARCHAR NOT NULL CHECK (hemis IN ('n', 's')),
    kind VARCHAR NOT NULL CHECK (kind IN ('calibration', 'operational', 'reprocessing')),
    version VARCHAR NOT NULL,
    tape_received DATE,
    validated DATE,
    processed DATE,
    outcome VARCHAR NOT NULL CHECK (outcome IN ('ok', 'failed', 'partial')),
    load_id INTEGER,
    note VARCHAR
);

-- The current state of a night is its latest processing event; the history is kept.
CREATE VIEW night_processing AS
SELECT date, hemis, arg_max(kind, event_id) AS kind, arg_max(version, event_id) AS version,
       arg_max(processed, event_id) AS processed, arg_max(outcome, event_id) AS outcome,
       count(*) AS events
FROM processing_history GROUP BY date, hemis;

CREATE TABLE scans (
    scan_key INTEGER PRIMARY KEY,
    hemis VARCHAR NOT NULL CHECK (hemis IN ('n', 's')),
    date DATE NOT NULL,
    scan SMALLINT NOT NULL CHECK (scan BETWEEN 1 AND 999),
    tile INTEGER,
    scan_type VARCHAR CHECK (scan_type IN ('sci', 'cal', 'flt', 'dar', 'lsc', 'tst', 'lca', 'lda')),
    direction VARCHAR CHECK (direction IN ('n', 's')),
    ra DOUBLE CHECK (ra >= 0 AND ra < 360),
    dec DOUBLE CHECK (dec BETWEEN -90 AND 90),
    glon DOUBLE, glat DOUBLE,
    ra_1 DOUBLE, dec_1 DOUBLE, ra_2 DOUBLE, dec_2 DOUBLE,
    ra_3 DOUBLE, dec_3 DOUBLE, ra_4 DOUBLE, dec_4 DOUBLE,
    jdate DOUBLE,                     -- Julian date at scan start
    j_zp_ap DOUBLE, h_zp_ap DOUBLE, k_zp_ap DOUBLE,  -- net zero points at scan start [mag]
    seeing DOUBLE,                    -- seeing shape (SEESH)
    j_back DOUBLE, h_back DOUBLE, k_back DOUBLE,     -- mean background [DN]
    status VARCHAR NOT NULL CHECK (status IN ('P', 'F', 'R', '-')),
    qa_base DOUBLE,                   -- 10 optimally dithered, 5 earlier (QA rules, 1998)
    qa_phot DOUBLE,                   -- photometric factor <= 1
    qa_sens DOUBLE,                   -- sensitivity factor <= 1
    qa_score DOUBLE,                  -- base x photometric x sensitivity
    version VARCHAR,                  -- 2MAPPS version that processed the scan
    loaded BOOLEAN NOT NULL DEFAULT false,
    load_reason VARCHAR,              -- why (not) loaded
    hpx29 BIGINT,
    load_id INTEGER
);

CREATE TABLE night_qa (
    date DATE NOT NULL,
    hemis VARCHAR NOT NULL CHECK (hemis IN ('n', 's')),
    metric VARCHAR NOT NULL,
    value DOUBLE,
    limit_value DOUBLE,
    unit VARCHAR,
    status VARCHAR NOT NULL CHECK (status IN ('pass', 'warn', 'fail')),
    PRIMARY KEY (date, hemis, metric)
);

CREATE TABLE atlas_images (
    coadd_key INTEGER NOT NULL,       -- Atlas Image Info key, shared by the J/H/Ks set
    band VARCHAR NOT NULL CHECK (band IN ('j', 'h', 'k')),
    scan_key INTEGER,
    hemis VARCHAR CHECK (hemis IN ('n', 's')),
    date DATE,
    scan SMALLINT,
    image SMALLINT,                   -- image number = coadd (frame nearest the centre)
    fname VARCHAR,                    -- e.g. ji1420198.fits
    crval1 DOUBLE, crval2 DOUBLE, crpix1 DOUBLE, crpix2 DOUBLE,
    cdelt1 DOUBLE, cdelt2 DOUBLE, crota2 DOUBLE,
    naxis1 INTEGER, naxis2 INTEGER,
    magzp DOUBLE, skyval DOUBLE, skysig DOUBLE, seesh DOUBLE,
    ra_1 DOUBLE, dec_1 DOUBLE, ra_2 DOUBLE, dec_2 DOUBLE,
    ra_3 DOUBLE, dec_3 DOUBLE, ra_4 DOUBLE, dec_4 DOUBLE,
    storage VARCHAR,                  -- where the compressed pixels are
    bytes BIGINT,
    compression VARCHAR,
    hpx29 BIGINT,
    load_id INTEGER,
    PRIMARY KEY (coadd_key, band)
);
