-- Cross-match join key (catscan/xmatch.py): the HEALPix NESTED order-11 cell of each source
-- (cells of 1.7', hpx29 >> 36). A cross-match is a hash join on this column, so
-- DuckDB pushes the targets' cells into the catalog scan as a dynamic filter and reads the
-- other columns only for rows in a target cell; on an expression (hpx29 >> 36) it cannot.
-- Sorted with hpx29, the column compresses to about a byte a row. Loaders fill it.
ALTER TABLE psc ADD COLUMN hpx11 INTEGER;
ALTER TABLE psc ALTER hpx11 SET DATA TYPE INTEGER USING (hpx29 >> 36)::INTEGER;
ALTER TABLE psc ALTER COLUMN hpx11 SET NOT NULL;
COMMENT ON COLUMN psc.hpx11 IS '[] HEALPix NESTED order-11 cell of (ra, dec), hpx29 >> 36';

ALTER TABLE xsc ADD COLUMN hpx11 INTEGER;
ALTER TABLE xsc ALTER hpx11 SET DATA TYPE INTEGER USING (hpx29 >> 36)::INTEGER;
ALTER TABLE xsc ALTER COLUMN hpx11 SET NOT NULL;
COMMENT ON COLUMN xsc.hpx11 IS '[] HEALPix NESTED order-11 cell of (ra, dec), hpx29 >> 36';
