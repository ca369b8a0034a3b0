-- Bookkeeping: which schema files were applied, and an audit row per load.
CREATE TABLE schema_version (
    version INTEGER PRIMARY KEY,      -- number prefix of the schema file (NNN_name.sql)
    name VARCHAR NOT NULL,            -- the file name
    applied_at TIMESTAMPTZ NOT NULL DEFAULT current_timestamp,
    catscan_version VARCHAR NOT NULL
);

CREATE SEQUENCE loads_seq START 1;

CREATE TABLE loads (
    load_id INTEGER PRIMARY KEY,
    kind VARCHAR NOT NULL,            -- psc | xsc | scans | night
    target VARCHAR NOT NULL,          -- table (or tables) written
    path VARCHAR NOT NULL,            -- input as given on the command line (absolute)
    sha256 VARCHAR NOT NULL,          -- of the input file bytes as stored (compressed if gzipped)
    bytes BIGINT NOT NULL,
    format VARCHAR NOT NULL,          -- release | ipac | votable | delivery
    rows_accepted BIGINT NOT NULL,
    rows_rejected BIGINT NOT NULL DEFAULT 0,
    scans_accepted INTEGER NOT NULL DEFAULT 0,
    scans_rejected INTEGER NOT NULL DEFAULT 0,
    rejects VARCHAR,                  -- JSON list of {what, reason}
    catscan_version VARCHAR NOT NULL,
    schema_version INTEGER NOT NULL,
    started TIMESTAMPTZ NOT NULL,
    finished TIMESTAMPTZ NOT NULL,
    status VARCHAR NOT NULL DEFAULT 'loaded' CHECK (status IN ('loaded', 'replaced')),
    replaced_by INTEGER               -- load_id of the --replace load that superseded this one
);

-- Whether a big table is still in hpx29 order (see loaders/optimize.py).
CREATE TABLE catalog_state (
    table_name VARCHAR PRIMARY KEY,
    sorted BOOLEAN NOT NULL DEFAULT true,
    optimized_at TIMESTAMPTZ
);
