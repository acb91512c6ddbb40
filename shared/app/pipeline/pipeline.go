// Package pipeline wires the analysis for the analyze function. It is
// apart from package app so the light functions do not link the cgo
// pipeline (libhdf5, DuckDB).
package pipeline

import (
	"context"
	"crypto/subtle"

	"github.com/benchwrap/backend/shared/analysis"
	"github.com/benchwrap/backend/shared/analyzer"
	"github.com/benchwrap/backend/shared/app"
	"github.com/benchwrap/backend/shared/apperr"
	"github.com/benchwrap/backend/shared/config"
	"github.com/benchwrap/backend/shared/duckdb"
	"github.com/benchwrap/backend/shared/hdf5"
	"github.com/benchwrap/backend/shared/postgres"
	"github.com/benchwrap/backend/shared/pricing"
)

// AnalyzeSettings are the analyze function's settings.
type AnalyzeSettings struct {
	Mode        string `envconfig:"ANALYZE_MODE" default:"corrected"`
	Price       string `envconfig:"ANALYZE_PRICE"`                          // smard[:REGION], file:PATH, fixed:EUR_PER_KWH; off by default
	Carbon      string `envconfig:"ANALYZE_CARBON"`                         // file:PATH (epoch_seconds,g_co2_per_kwh) or fixed:G_PER_KWH
	MaxBytes    int64  `envconfig:"ANALYZE_MAX_BYTES" default:"2147483648"` // 2 GiB per object, and of declared (decompressed) data per file
	MaxRows     int64  `envconfig:"ANALYZE_MAX_ROWS" default:"50000000"`
	MemoryLimit string `envconfig:"ANALYZE_MEMORY_LIMIT" default:"1GB"` // DuckDB's
	TempDir     string `envconfig:"ANALYZE_TEMP_DIR"`
	Threads     int    `envconfig:"ANALYZE_THREADS"` // DuckDB's worker threads; default GOMAXPROCS
}

// EngineOptions are the pipeline limits of these settings.
func (s AnalyzeSettings) EngineOptions() duckdb.Options {
	return duckdb.Options{MemoryLimit: s.MemoryLimit, MaxRows: s.MaxRows, MaxBytes: s.MaxBytes, Threads: s.Threads,
		TempDir: s.TempDir, Reader: hdf5.Options{MaxRows: s.MaxRows, MaxBytes: s.MaxBytes, Isolate: true}}
}

var processor app.Once[*analyzer.Processor]

// Processor returns the analyze function's object processor.
func Processor(ctx context.Context) (*analyzer.Processor, error) {
	return processor.Get(func() (*analyzer.Processor, error) {
		var s AnalyzeSettings
		if err := config.Load(&s); err != nil {
			return nil, app.Misconfigured(err)
		}
		mode, err := analysis.ParseMode(s.Mode)
		if err != nil {
			return nil, app.Misconfigured(err)
		}
		objects, err := app.Objects()
		if err != nil {
			return nil, err
		}
		pool, err := app.Postgres(ctx)
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
		a, err := analyzer.New(analyzer.Config{Mode: mode, Engine: s.EngineOptions(), Price: price, Carbon: carbon})
		if err != nil {
			return nil, apperr.Wrap(apperr.Internal, "Internal server error.", err)
		}
		// An object larger than an upload may be is not analysed: the
		// smaller of ANALYZE_MAX_BYTES and MAX_UPLOAD_BYTES (skip
		// reason too_large).
		maxBytes := s.MaxBytes
		if set, err := app.LoadSettings(); err != nil {
			return nil, app.Misconfigured(err)
		} else if set.MaxUploadBytes > 0 && set.MaxUploadBytes < maxBytes {
			maxBytes = set.MaxUploadBytes
		}
		return &analyzer.Processor{
			Analyzer: a, Sink: analyzer.PostgresSink{Pool: pool}, Pool: pool,
			Objects: objects, Owners: postgres.Accounts{Pool: pool},
			MaxBytes: maxBytes, TempDir: s.TempDir,
		}, nil
	})
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
