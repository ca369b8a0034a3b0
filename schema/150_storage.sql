-- Storage cells a load changed whose rows still wait to be rewritten in hpx29 order
-- (see loaders/optimize.py and docs/storage.md): HEALPix NESTED cells of the order
-- loaders/optimize.py names (STORAGE_CELL_ORDER; 3 before schema 160, 6 since).
CREATE TABLE storage_dirty (
    table_name VARCHAR NOT NULL,
    cell INTEGER NOT NULL,
    PRIMARY KEY (table_name, cell)
);
