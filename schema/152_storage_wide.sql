-- Sorted runs of a big table written over more than one storage cell (a sparse sky's cells
-- widened together, or a whole-table rewrite's row groups that span several cells): their
-- row groups' hpx29 zone maps span the whole range, and DuckDB never narrows a zone map
-- after deletions. A settle that touches such a range rewrites all of it (loaders/optimize.py,
-- docs/storage.md "Wide runs").
CREATE TABLE storage_wide (
    table_name VARCHAR NOT NULL,
    lo BIGINT NOT NULL,                   -- hpx29 range [lo, hi)
    hi BIGINT NOT NULL,
    PRIMARY KEY (table_name, lo)
);
