-- What `catscan compact` wrote: `catscan info` compares the file with the size a fresh copy
-- of today's rows would have, at the bytes per row of the last compaction.
CREATE TABLE storage_compacted (
    compacted_at TIMESTAMPTZ NOT NULL,
    file_bytes BIGINT NOT NULL,
    big_rows BIGINT NOT NULL              -- rows of psc, xsc and atlas_images then
);
