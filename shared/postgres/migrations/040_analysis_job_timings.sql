-- Where each analysis job spent its time (seconds per phase, as JSON):
-- queue wait, slot wait, engine start, download, transform, publish and
-- the after-analysis hook. Written by the worker once the job is done;
-- `bin/analyze queue` and `make bench-queue` read it.
ALTER TABLE analysis_jobs ADD COLUMN timings jsonb;
