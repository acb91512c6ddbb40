package analyzer

import (
	"context"
	"time"

	"github.com/benchwrap/backend/shared/analysis"
	"github.com/benchwrap/backend/shared/metrics"
)

// Process analyses one object version unless it was already analysed.
// Permanent problems (a bad file, a key outside any user's prefix) are
// recorded in the catalog and returned as an outcome; the error is only
// for transient failures (wrapping ErrTransient, or the context's error),
// after which the same call should be made again later. Every call is
// counted in the metrics by outcome.
func (p *Processor) Process(ctx context.Context, o Object, opt ProcessOptions) (Outcome, error) {
	out, err := p.process(ctx, o, opt)
	metrics.ObserveJob(jobOutcome(out, err), string(out.skipClass))
	return out, err
}

// jobOutcome is the outcome label: the status, "already" for a version
// analysed before, "retry" for a transient failure.
func jobOutcome(out Outcome, err error) string {
	switch {
	case err != nil:
		return "retry"
	case out.Reason == reasonAlready:
		return "already"
	}
	return out.Status
}

// observeTransform records the pipeline's phase: the file's bytes in,
// the table's rows out.
func observeTransform(out Output, size int64) {
	if out.Result == nil {
		return
	}
	metrics.ObservePhase(metrics.PhaseTransform, time.Duration(out.Seconds*float64(time.Second)), size, out.Rows)
}

// observeWrite records the sink's phase of a published run.
func observeWrite(run analysis.Run) {
	metrics.ObservePhase(metrics.PhaseWrite, time.Duration(run.WriteSeconds*float64(time.Second)), 0, run.Rows)
}
