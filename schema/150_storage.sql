-- Storage cells a load changed whose rows still wait to be rewritten in hpx29 order
-- (see loaders/optimize.py and docs/storage.md): HEALPix NESTED order-3 cells, 768 on the sky.
CREATE TABLE storage_dirty (
    table_name VARCHAR NOT NULL,
    cell INTEGER NOT NULL,
    PRIMARY KEY (table_name, cell)
);

-- What `catscan compact` wrote: `catscan info` compares the file with the size a fresh copy
-- of today's rows would have, at the bytes per row of the last compaction.
CREATE TABLE storage_compacted (
    compacted_at TIMESTAMPTZ NOT NULL,
    file_bytes BIGINT NOT NULL,
    big_rows BIGINT NOT NULL              -- rows of psc, xsc and atlas_images then
);
