-- Results (issue 16): the job each catalogued file belongs to, and one
-- aggregate row per (user, job) kept up to date as files are analysed.
CREATE TABLE result_files (
    run_id         bigint      PRIMARY KEY REFERENCES analysis_runs (id) ON DELETE CASCADE,
    username       text        NOT NULL,
    bucket         text        NOT NULL,
    object_key     text        NOT NULL,
    job_id         text        NOT NULL,
    step           text,
    node           text,
    label          text        NOT NULL DEFAULT '',
    name_form      text        NOT NULL DEFAULT '',
    benchmark_name text,
    created_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX result_files_job ON result_files (username, job_id, object_key, run_id DESC);

-- Catalog runs of a user not yet filed under a job are found by this.
CREATE INDEX analysis_runs_user ON analysis_runs (username, id);

CREATE TABLE result_jobs (
    username        text        NOT NULL,
    job_id          text        NOT NULL,
    benchmark_name  text        NOT NULL DEFAULT '',
    label           text        NOT NULL DEFAULT '',
    status          text        NOT NULL,
    mode            text        NOT NULL DEFAULT '',
    files           int         NOT NULL,
    files_done      int         NOT NULL,
    nodes           int         NOT NULL,
    steps           int         NOT NULL,
    start_epoch_s   double precision,
    end_epoch_s     double precision,
    energy_j        double precision,
    wall_time_s     double precision,
    average_power_w double precision,
    peak_power_w    double precision,
    edp             double precision,
    cost_eur        double precision,
    co2_kg          double precision,
    quality         jsonb       NOT NULL,
    detail          jsonb       NOT NULL, -- {"steps": [...], "nodes": [...]}
    version         bigint      NOT NULL, -- highest run id aggregated
    updated_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (username, job_id)
);
CREATE INDEX result_jobs_start ON result_jobs (username, start_epoch_s DESC NULLS LAST, job_id);
CREATE INDEX result_jobs_benchmark ON result_jobs (username, benchmark_name, start_epoch_s);
