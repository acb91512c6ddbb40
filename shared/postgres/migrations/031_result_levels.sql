-- Series levels (issue 17): per analysed run, what a job's first series
-- request needs (each series' row count and M4 level, or its rows when
-- few), stored when the analysis finishes (results.BuildLevels), so that
-- request does not read the whole table. Keyed by run: a re-analysed
-- object has a new run, and a job's files name their latest runs only.
-- version is the level's M4 buckets; another version is rebuilt.
CREATE TABLE result_levels (
    run_id     bigint      NOT NULL REFERENCES analysis_runs (id) ON DELETE CASCADE,
    version    int         NOT NULL,
    levels     bytea       NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (run_id, version)
);
