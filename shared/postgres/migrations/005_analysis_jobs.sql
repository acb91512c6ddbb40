-- The analysis queue as users and operators see it: one row per object
-- version the webhook (or a re-scan) accepted or refused. The work itself
-- is a River job (river_job) pointing at this row; this table keeps the
-- outcome after River has pruned its job.
CREATE TABLE analysis_jobs (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    bucket       text        NOT NULL,
    object_key   text        NOT NULL,
    etag         text        NOT NULL DEFAULT '',
    object_size  bigint      NOT NULL DEFAULT 0,
    object_mtime timestamptz,               -- MinIO's modification time: orders versions of a key
    owner        text,
    lane         text,
    status       text        NOT NULL CHECK (status IN ('queued', 'running', 'analysed', 'skipped', 'superseded', 'failed')),
    reason       text,
    last_error   text,
    attempts     int         NOT NULL DEFAULT 0,
    river_job_id bigint,
    created_at   timestamptz NOT NULL DEFAULT now(),
    started_at   timestamptz,
    finished_at  timestamptz
);
-- Idempotent enqueue: one live row per object version. Refused events
-- (skipped, superseded) are each recorded and never count as the version
-- being known: a forged event must not block the genuine one.
CREATE UNIQUE INDEX analysis_jobs_version ON analysis_jobs (bucket, object_key, etag)
    WHERE status IN ('queued', 'running', 'analysed', 'failed');
CREATE INDEX analysis_jobs_key ON analysis_jobs (bucket, object_key, id DESC);
CREATE INDEX analysis_jobs_open ON analysis_jobs (status, created_at) WHERE status IN ('queued', 'running', 'failed');
CREATE INDEX analysis_jobs_owner ON analysis_jobs (owner, status);
