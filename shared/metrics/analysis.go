package metrics

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Phases of an analysis, the values of the phase label.
const (
	PhaseRead      = "read"      // object download (or local file read)
	PhaseTransform = "transform" // HDF5 to table: the engine's pipeline
	PhaseWrite     = "write"     // the table and catalog row into PostgreSQL
)

var (
	jobs         = counterVec("analysis_jobs_total", "Analysis jobs finished, by outcome (done, skipped, failed, superseded, already, retry) and skip class (empty unless skipped).", "outcome", "skip_reason")
	phaseSeconds = histogramVec("analysis_phase_duration_seconds", "Time of each analysis phase (read, transform, write).", phaseBuckets, "phase")
	phaseBytes   = counterVec("analysis_phase_bytes_total", "Bytes handled by each analysis phase (read: the object's size).", "phase")
	phaseRows    = counterVec("analysis_phase_rows_total", "Rows produced (transform) or stored (write).", "phase")
)

// ObserveJob counts a finished job; skipReason is the skip class of a
// skipped one (a short fixed word, never free text).
func ObserveJob(outcome, skipReason string) {
	jobs.WithLabelValues(outcome, skipReason).Inc()
}

// ObservePhase records one phase of one job.
func ObservePhase(phase string, d time.Duration, bytes, rows int64) {
	phaseSeconds.WithLabelValues(phase).Observe(d.Seconds())
	if bytes > 0 {
		phaseBytes.WithLabelValues(phase).Add(float64(bytes))
	}
	if rows > 0 {
		phaseRows.WithLabelValues(phase).Add(float64(rows))
	}
}

// QueueFunc reports the analysis queue: jobs waiting, and how long the
// oldest has waited (0 when none).
type QueueFunc func(ctx context.Context) (depth int, oldest time.Duration, err error)

var (
	queueMu sync.Mutex
	queueFn QueueFunc
)

// SetQueue makes the queue's depth and oldest age scraped from fn (nil
// stops it). The queue code calls it once its store is open.
func SetQueue(fn QueueFunc) {
	queueMu.Lock()
	queueFn = fn
	queueMu.Unlock()
}

var (
	queueDepth  = desc("analysis_queue_depth", "Analysis jobs waiting to run.")
	queueOldest = desc("analysis_queue_oldest_seconds", "Age of the oldest waiting analysis job (0 when the queue is empty).")
)

// queueCollector asks the queue at scrape time, bounded so that a slow
// database cannot hold a scrape.
type queueCollector struct{}

func (queueCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- queueDepth
	ch <- queueOldest
}

func (queueCollector) Collect(ch chan<- prometheus.Metric) {
	queueMu.Lock()
	fn := queueFn
	queueMu.Unlock()
	if fn == nil {
		return
	}
	ctx, cancel := withTimeout(2 * time.Second)
	defer cancel()
	depth, oldest, err := fn(ctx)
	if err != nil {
		// No value is better than a wrong one; the log says why.
		slog.Warn("metrics: analysis queue", "error", err)
		return
	}
	ch <- prometheus.MustNewConstMetric(queueDepth, prometheus.GaugeValue, float64(depth))
	ch <- prometheus.MustNewConstMetric(queueOldest, prometheus.GaugeValue, oldest.Seconds())
}
