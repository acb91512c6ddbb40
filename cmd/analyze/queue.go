package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/benchwrap/backend/shared/analysis"
	"github.com/benchwrap/backend/shared/app"
	"github.com/benchwrap/backend/shared/app/pipeline"
	"github.com/benchwrap/backend/shared/config"
	"github.com/benchwrap/backend/shared/postgres"
	"github.com/benchwrap/backend/shared/queue"
)

const workerUsage = `usage: analyze worker

Runs analysis workers until SIGINT/SIGTERM: they take queued uploads from
PostgreSQL (River) and analyse them. Settings as the analyze function's
(SECRETS_DIR or DATABASE_URL/MINIO_* secrets, ANALYZE_*); see
docs/analysis-queue.md.
`

// runWorker serves the queue until ctx ends, then lets running analyses
// finish for up to 25 s (they are retried elsewhere otherwise).
func runWorker(ctx context.Context, a *app.App, args []string, stderr io.Writer) int {
	if len(args) > 0 {
		fmt.Fprint(stderr, workerUsage)
		return 2
	}
	p, err := pipeline.New(a)
	if err != nil {
		fmt.Fprintln(stderr, "analyze worker: settings:", err)
		return 2
	}
	ws, pool, err := p.StartWorkers(ctx, nil)
	if err != nil {
		fmt.Fprintln(stderr, "analyze worker:", err)
		return 1
	}
	defer pool.Close()
	<-ctx.Done()
	slog.Info("analysis workers stopping")
	sctx, cancel := context.WithTimeout(context.Background(), 25*time.Second)
	defer cancel()
	if err := ws.Stop(sctx); err != nil {
		fmt.Fprintln(stderr, "analyze worker: stop:", err)
		return 1
	}
	return 0
}

const queueUsage = `usage: analyze queue [list [STATUS]] | retry JOB_ID

Shows the analysis queue: jobs by status, the oldest queued job's age, the
running jobs and the latest failures (list: the latest jobs, optionally of
one status); retry queues a failed job again.
`

func runQueue(ctx context.Context, a *app.App, args []string, stdout, stderr io.Writer) int {
	pool, err := a.Postgres(ctx) // migrated, as the functions' pool is
	if err != nil {
		fmt.Fprintln(stderr, "analyze queue:", err)
		return 1
	}
	cmd := ""
	if len(args) > 0 {
		cmd = args[0]
	}
	switch {
	case cmd == "" && len(args) == 0:
		st, err := postgres.JobStats(ctx, pool)
		if err != nil {
			fmt.Fprintln(stderr, "analyze queue:", err)
			return 1
		}
		fmt.Fprintf(stdout, "queued %d  running %d  failed %d  analysed %d  skipped %d  superseded %d\n",
			st.Counts[analysis.JobQueued], st.Counts[analysis.JobRunning], st.Counts[analysis.JobFailed],
			st.Counts[analysis.JobAnalysed], st.Counts[analysis.JobSkipped], st.Counts[analysis.JobSuperseded])
		fmt.Fprintf(stdout, "oldest queued: %s\n", st.OldestQueued.Round(time.Second))
		for _, status := range []string{analysis.JobRunning, analysis.JobFailed} {
			jobs, err := postgres.ListJobs(ctx, pool, 20, status)
			if err != nil {
				fmt.Fprintln(stderr, "analyze queue:", err)
				return 1
			}
			if len(jobs) > 0 {
				fmt.Fprintf(stdout, "\n%s:\n", status)
				printJobs(stdout, jobs)
			}
		}
		return 0
	case cmd == "list" && len(args) <= 2:
		var statuses []string
		if len(args) == 2 {
			statuses = []string{args[1]}
		}
		jobs, err := postgres.ListJobs(ctx, pool, 100, statuses...)
		if err != nil {
			fmt.Fprintln(stderr, "analyze queue:", err)
			return 1
		}
		printJobs(stdout, jobs)
		return 0
	case cmd == "retry" && len(args) == 2:
		id, err := strconv.ParseInt(args[1], 10, 64)
		if err != nil {
			fmt.Fprint(stderr, queueUsage)
			return 2
		}
		var qs queue.Settings
		if err := config.Load(&qs); err != nil {
			fmt.Fprintln(stderr, "analyze queue:", app.Misconfigured(err))
			return 2
		}
		q, err := queue.New(pool, qs)
		if err != nil {
			fmt.Fprintln(stderr, "analyze queue:", err)
			return 2
		}
		j, err := q.Retry(ctx, id)
		if err != nil {
			fmt.Fprintln(stderr, "analyze queue:", err)
			return 1
		}
		fmt.Fprintf(stdout, "job %d (%s) queued again\n", j.ID, j.Key)
		return 0
	}
	fmt.Fprint(stderr, queueUsage)
	return 2
}

func printJobs(w io.Writer, jobs []analysis.Job) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSTATUS\tLANE\tATTEMPTS\tAGE\tOBJECT\tREASON\tLAST ERROR")
	for _, j := range jobs {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%d\t%s\t%s\t%s\t%s\n", j.ID, j.Status, j.Lane, j.Attempts,
			time.Since(j.CreatedAt).Round(time.Second), j.Key, j.Reason, truncate(j.LastError, 80))
	}
	tw.Flush()
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
