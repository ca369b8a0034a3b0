-- The row groups a settle wrote, by table: the hpx29 extent of each (its zone map, min and
-- max inclusive) and its rows then. Their extents are kept disjoint (loaders/optimize.py,
-- docs/storage.md), so that a cone reads as few row groups as on a freshly sorted copy.
CREATE TABLE storage_blocks (
    table_name VARCHAR NOT NULL,
    seq BIGINT NOT NULL,                  -- order written: the largest is the table's tail
    lo BIGINT NOT NULL,
    hi BIGINT NOT NULL,
    n BIGINT NOT NULL,                    -- rows written (read from DuckDB: with deleted)
    PRIMARY KEY (table_name, seq)
);

-- What a settle must also do: 'tail' (an append of less than a row group went into the
-- last block's row group) or 'survey' (read the row groups' extents from DuckDB after a
-- whole rewrite, an append in sky order or a compact).
CREATE TABLE storage_marks (
    table_name VARCHAR NOT NULL,
    mark VARCHAR NOT NULL CHECK (mark IN ('tail', 'survey')),
    PRIMARY KEY (table_name, mark)
);

-- Storage cells are now HEALPix order 6 (were 3): a database upgraded with cells still to
-- settle rewrites those tables whole once.
INSERT INTO catalog_state (table_name, sorted)
    SELECT DISTINCT table_name, false FROM storage_dirty
    ON CONFLICT (table_name) DO UPDATE SET sorted = false;
DELETE FROM storage_dirty;
