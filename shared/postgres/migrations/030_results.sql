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
CREATE INDEX result_files_user ON result_files (username, run_id);

-- A user's finished runs above the watermark are the ones to check.
CREATE INDEX analysis_runs_user ON analysis_runs (username, id) WHERE source = 'minio' AND status <> 'running';

-- Every finished run of the user up to filed_through is filed.
CREATE TABLE result_users (
    username      text   PRIMARY KEY,
    filed_through bigint NOT NULL DEFAULT 0
);

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
CREATE INDEX result_jobs_benchmark ON result_jobs (username, benchmark_name, start_epoch_s);
-- One index per sort of the job list (either direction): a page is read
-- straight off it. A missing value counts as the lowest.
CREATE INDEX result_jobs_by_start ON result_jobs (username, coalesce(start_epoch_s, '-Infinity'), job_id);
CREATE INDEX result_jobs_by_end ON result_jobs (username, coalesce(end_epoch_s, '-Infinity'), job_id);
CREATE INDEX result_jobs_by_energy ON result_jobs (username, coalesce(energy_j, '-Infinity'), job_id);
CREATE INDEX result_jobs_by_wall ON result_jobs (username, coalesce(wall_time_s, '-Infinity'), job_id);
CREATE INDEX result_jobs_by_avg_power ON result_jobs (username, coalesce(average_power_w, '-Infinity'), job_id);
CREATE INDEX result_jobs_by_peak_power ON result_jobs (username, coalesce(peak_power_w, '-Infinity'), job_id);
CREATE INDEX result_jobs_by_edp ON result_jobs (username, coalesce(edp, '-Infinity'), job_id);
CREATE INDEX result_jobs_by_cost ON result_jobs (username, coalesce(cost_eur, '-Infinity'), job_id);
CREATE INDEX result_jobs_by_co2 ON result_jobs (username, coalesce(co2_kg, '-Infinity'), job_id);
