// Package pipeline wires the analysis on an app.App: the analyze
// function's intake and the queue's workers. It is apart from package app
// so the light functions do not link the cgo pipeline (libhdf5).
package pipeline

import (
	"context"
	"crypto/subtle"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/benchwrap/backend/shared/analysis"
	"github.com/benchwrap/backend/shared/analyzer"
	"github.com/benchwrap/backend/shared/app"
	"github.com/benchwrap/backend/shared/apperr"
	"github.com/benchwrap/backend/shared/config"
	"github.com/benchwrap/backend/shared/engine"
	"github.com/benchwrap/backend/shared/hdf5"
	"github.com/benchwrap/backend/shared/metrics"
	"github.com/benchwrap/backend/shared/postgres"
	"github.com/benchwrap/backend/shared/pricing"
	"github.com/benchwrap/backend/shared/queue"
	"github.com/benchwrap/backend/shared/results"
)

// AnalyzeSettings are the analyze function's settings.
type AnalyzeSettings struct {
	Mode     string `envconfig:"ANALYZE_MODE" default:"corrected"`
	Price    string `envconfig:"ANALYZE_PRICE"`                          // smard[:REGION], file:PATH, fixed:EUR_PER_KWH; off by default
	Carbon   string `envconfig:"ANALYZE_CARBON"`                         // file:PATH (epoch_seconds,g_co2_per_kwh) or fixed:G_PER_KWH
	MaxBytes int64  `envconfig:"ANALYZE_MAX_BYTES" default:"2147483648"` // 2 GiB per object, and of declared (decompressed) data per file
	MaxRows  int64  `envconfig:"ANALYZE_MAX_ROWS" default:"50000000"`
	TempDir  string `envconfig:"ANALYZE_TEMP_DIR"` // downloaded objects
}

// EngineOptions are the pipeline limits of these settings.
func (s AnalyzeSettings) EngineOptions() engine.Options {
	return engine.Options{MaxRows: s.MaxRows, MaxBytes: s.MaxBytes,
		Reader: hdf5.Options{MaxRows: s.MaxRows, MaxBytes: s.MaxBytes, Isolate: true}}
}

// Pipeline is the analysis wiring of one process on its App: the
// analyze and queue settings, read once by New, the webhook's intake
// (built on first use, retried after a failure) and the workers.
type Pipeline struct {
	app      *app.App
	settings AnalyzeSettings
	queue    queue.Settings
	mode     analysis.Mode
	maxBytes int64
	intake   app.Lazy[*queue.Intake]
}

// New reads the analyze and queue settings; it touches no server.
func New(a *app.App) (*Pipeline, error) {
	p := &Pipeline{app: a}
	if err := config.Load(&p.settings); err != nil {
		return nil, err
	}
	if err := config.Load(&p.queue); err != nil {
		return nil, err
	}
	var err error
	if p.mode, err = analysis.ParseMode(p.settings.Mode); err != nil {
		return nil, err
	}
	// An object larger than an upload may be is not analysed: the smaller
	// of ANALYZE_MAX_BYTES and MAX_UPLOAD_BYTES (skip reason too_large).
	p.maxBytes = p.settings.MaxBytes
	if up := a.Settings.MaxUploadBytes; up > 0 && up < p.maxBytes {
		p.maxBytes = up
	}
	return p, nil
}

// NewProcessor builds an object processor with its own analysis engine
// (one per worker slot) on the given pool.
func (p *Pipeline) NewProcessor(pool *pgxpool.Pool) (*analyzer.Processor, error) {
	s := p.settings
	objects, err := p.app.Objects()
	if err != nil {
		return nil, err
	}
	price, err := pricing.Parse(s.Price, postgres.PriceCache{Pool: pool})
	if err != nil {
		return nil, app.Misconfigured(err)
	}
	carbon, err := pricing.ParseCarbon(s.Carbon)
	if err != nil {
		return nil, app.Misconfigured(err)
	}
	a, err := analyzer.New(analyzer.Config{Mode: p.mode, Engine: s.EngineOptions(), Price: price, Carbon: carbon})
	if err != nil {
		return nil, apperr.Wrap(apperr.Internal, "Internal server error.", err)
	}
	return &analyzer.Processor{
		Analyzer: a, Sink: postgres.Sink{Pool: pool}, Catalog: postgres.Catalog{Pool: pool},
		Objects: objects, Owners: postgres.Accounts{Pool: pool},
		MaxBytes: p.maxBytes, TempDir: s.TempDir,
	}, nil
}

// Intake returns the webhook's intake: it validates events and enqueues
// them on the app's pool (short transactions only).
func (p *Pipeline) Intake(ctx context.Context) (*queue.Intake, error) {
	return p.intake.Get(func() (*queue.Intake, error) {
		objects, err := p.app.Objects()
		if err != nil {
			return nil, err
		}
		pool, err := p.app.Postgres(ctx)
		if err != nil {
			return nil, err
		}
		q, err := queue.New(pool, p.queue)
		if err != nil {
			return nil, app.Misconfigured(err)
		}
		return &queue.Intake{Queue: q, Objects: objects, Owners: postgres.Accounts{Pool: pool}, Bucket: p.app.Settings.Bucket, MaxBytes: p.maxBytes}, nil
	})
}

// StartWorkers starts this process's analysis workers on a pool of their
// own, sized from their count; Stop them, then close the returned pool.
func (p *Pipeline) StartWorkers(ctx context.Context, after func(context.Context, analysis.Job, analyzer.Outcome)) (*queue.Workers, *pgxpool.Pool, error) {
	qs := p.queue
	// Migrated (as the owner role when there is one) by the app's pool,
	// which the workers use for nothing else.
	if _, err := p.app.Postgres(ctx); err != nil {
		return nil, nil, err
	}
	url, err := config.StrongSecret(config.SecretDatabaseURL)
	if err != nil {
		return nil, nil, app.Misconfigured(err)
	}
	pool, err := postgres.OpenSized(ctx, url, queue.PoolSize(qs))
	if err != nil {
		return nil, nil, err
	}
	postgres.ExportPoolStats("workers", pool)
	metrics.SetQueue(func(ctx context.Context) (int, time.Duration, error) { return postgres.QueueDepth(ctx, pool) })
	// results (issue 16): each analysed object is filed under its Slurm
	// job, the job's aggregate updated and its Parquet copies written.
	// Failures are logged; the results function files what is left.
	objects, err := p.app.Objects()
	if err != nil {
		pool.Close()
		return nil, nil, err
	}
	next := after
	after = func(ctx context.Context, job analysis.Job, out analyzer.Outcome) {
		results.AfterAnalysis(ctx, postgres.Results{Pool: pool}, objects, job.Bucket, job.Key)
		if next != nil {
			next(ctx, job, out)
		}
	}
	ws, err := queue.StartWorkers(ctx, queue.WorkerConfig{
		Pool: pool, Settings: qs, AfterAnalysed: after,
		NewProcessor: func() (*analyzer.Processor, error) { return p.NewProcessor(pool) },
	})
	if err != nil {
		pool.Close()
		return nil, nil, err
	}
	return ws, pool, nil
}

// MsgBadWebhookToken is the 401 for notifications without the right token.
const MsgBadWebhookToken = "Invalid webhook token."

// CheckWebhook checks the Authorization header MinIO sends
// ("Bearer <token>") against the webhook-token secret, in constant time.
func CheckWebhook(header string) error {
	want, err := config.StrongSecret(config.SecretWebhookToken)
	if err != nil {
		return app.Misconfigured(err)
	}
	got := header
	if len(got) > 7 && (got[:7] == "Bearer " || got[:7] == "bearer ") {
		got = got[7:]
	} else {
		got = ""
	}
	if subtle.ConstantTimeCompare([]byte(got), []byte(want)) != 1 {
		return apperr.New(apperr.Unauthorized, MsgBadWebhookToken)
	}
	return nil
}
