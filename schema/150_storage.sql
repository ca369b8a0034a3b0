-- Storage cells a load changed whose rows still wait to be rewritten in hpx29 order
-- (see loaders/optimize.py and docs/storage.md): HEALPix NESTED order-3 cells, 768 on the sky.
CREATE TABLE storage_dirty (
    table_name VARCHAR NOT NULL,
    cell INTEGER NOT NULL,
    PRIMARY KEY (table_name, cell)
);
