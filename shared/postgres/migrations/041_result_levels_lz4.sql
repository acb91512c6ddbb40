-- A job's levels are up to a few MB of float64s. PostgreSQL's default
-- TOAST compression (pglz) took ~35 ms to store the 1 MB of a 20k-row
-- job: more than its COPY. lz4 takes ~5 ms for about the same size; a
-- server built without lz4 stores them uncompressed instead (as fast,
-- about twice the space).
DO $$
BEGIN
    ALTER TABLE result_levels ALTER COLUMN levels SET COMPRESSION lz4;
EXCEPTION WHEN feature_not_supported OR invalid_parameter_value THEN
    ALTER TABLE result_levels ALTER COLUMN levels SET STORAGE EXTERNAL;
END
$$;
