-- The catalog of every analysed file: where it came from, what was made of
-- it, and why not when nothing was.
CREATE TABLE analysis_runs (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    source           text        NOT NULL CHECK (source IN ('minio', 'file')),
    bucket           text,
    object_key       text,
    etag             text,
    sequencer        text,
    object_size      bigint,
    path             text,
    sha256           text,
    username         text,
    schema_name      text        NOT NULL,
    table_name       text,       -- the identifier created (at most 63 bytes)
    full_table_name  text,       -- job_<label>, whatever its length
    mode             text        NOT NULL,
    status           text        NOT NULL CHECK (status IN ('running', 'done', 'skipped', 'failed')),
    skip_class       text,
    skip_reason      text,
    error            text,
    rows             bigint,
    columns          jsonb,      -- [{"name": ..., "type": ...}]
    metrics          jsonb,
    details          jsonb,
    started_at       timestamptz NOT NULL DEFAULT now(),
    finished_at      timestamptz,
    read_seconds     double precision,
    pipeline_seconds double precision,
    write_seconds    double precision
);
CREATE INDEX analysis_runs_object ON analysis_runs (bucket, object_key, id DESC);
CREATE INDEX analysis_runs_table ON analysis_runs (schema_name, table_name, id DESC);
CREATE INDEX analysis_runs_path ON analysis_runs (path, id DESC);
