package analysis

import (
	"errors"
	"time"
)

// Job statuses: where one object version is in the analysis queue.
const (
	JobQueued     = "queued"
	JobRunning    = "running"
	JobAnalysed   = "analysed"   // a table or a recorded skip is in the catalog
	JobSkipped    = "skipped"    // refused before analysis (bad event, no owner, missing object)
	JobSuperseded = "superseded" // a newer upload of the key replaced it
	JobFailed     = "failed"     // retries exhausted; LastError says why
)

// Job is one object version in the analysis queue (table analysis_jobs).
type Job struct {
	ID         int64
	Bucket     string
	Key        string
	ETag       string
	Size       int64
	MTime      time.Time // the object store's modification time
	Owner      string
	Lane       string
	Status     string
	Reason     string
	LastError  string
	Attempts   int
	RiverJobID int64
	CreatedAt  time.Time
	StartedAt  time.Time
	FinishedAt time.Time
}

// Terminal reports a job no worker has to touch again.
func (j Job) Terminal() bool {
	switch j.Status {
	case JobAnalysed, JobSkipped, JobSuperseded:
		return true
	}
	return false
}

// ErrSuperseded means a newer upload of the key replaced the job's version
// while it ran: its result must not be published.
var ErrSuperseded = errors.New("superseded by a newer upload of the key")

// ErrTransient marks failures of a dependency (database, object store)
// that may succeed later: the work must be retried, not recorded as a
// property of the file. Adapters wrap it; the analyzer and the queue test
// for it.
var ErrTransient = errors.New("dependency unavailable")

// WithJobs adds the queue's view to the latest runs of keys: a version
// queued, running, or failed for good after its latest run (or without
// one) shows as that, with its times and reason.
func WithJobs(runs map[string]RunSummary, jobs map[string]Job) map[string]RunSummary {
	if runs == nil {
		runs = map[string]RunSummary{}
	}
	for key, j := range jobs {
		r, ok := runs[key]
		if ok && r.ETag == j.ETag && j.Status == JobFailed {
			continue // the catalog has the failure, with its details
		}
		if ok && r.ETag == j.ETag && (r.Status == StatusDone || r.Status == StatusSkipped) {
			continue
		}
		s := RunSummary{Status: j.Status, Reason: j.Reason, ETag: j.ETag, QueuedAt: timeOrNil(j.CreatedAt),
			StartedAt: timeOrNil(j.StartedAt), FinishedAt: timeOrNil(j.FinishedAt)}
		if j.Status == JobFailed && j.LastError != "" && s.Reason == "" {
			s.Reason = "analysis failed"
		}
		runs[key] = s
	}
	return runs
}

func timeOrNil(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}
