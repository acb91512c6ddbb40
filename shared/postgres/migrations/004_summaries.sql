-- Per-job, per-step and per-node energy summaries of each analysed file
-- and mode; each row belongs to a catalog run.
CREATE TABLE job_summaries (
    id                   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    run_id               bigint      NOT NULL REFERENCES analysis_runs (id) ON DELETE CASCADE,
    schema_name          text        NOT NULL,
    table_name           text,
    source               text        NOT NULL, -- object key or file path
    mode                 text        NOT NULL,
    level                text        NOT NULL CHECK (level IN ('job', 'step', 'node')),
    step                 text,
    node                 text,
    energy_j             double precision,
    energy_kwh           double precision,
    gpu_energy_j         double precision,
    wall_time_s          double precision,
    average_power_w      double precision,
    peak_power_w         double precision,
    peak_power_time_s    double precision,
    energy_delay_product double precision,
    cost_eur             double precision,
    co2_kg               double precision,
    appliance_name       text,
    appliance_amount     double precision,
    appliance_unit       text,
    nulls                bigint      NOT NULL DEFAULT 0,
    out_of_range         bigint      NOT NULL DEFAULT 0,
    long_gaps            bigint      NOT NULL DEFAULT 0,
    extra                jsonb,
    created_at           timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX job_summaries_run ON job_summaries (run_id);
CREATE INDEX job_summaries_source ON job_summaries (source, mode, level);
