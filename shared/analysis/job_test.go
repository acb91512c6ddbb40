package analysis

import (
	"testing"
	"time"
)

func TestWithJobs(t *testing.T) {
	now := time.Now()
	runs := map[string]RunSummary{
		"u/done.h5":      {Status: StatusDone, ETag: "a"},
		"u/newer.h5":     {Status: StatusDone, ETag: "old"},
		"u/failed.h5":    {Status: StatusFailed, ETag: "f", Reason: "analysis failed"},
		"u/skipped.h5":   {Status: StatusSkipped, ETag: "s"},
		"u/untouched.h5": {Status: StatusDone, ETag: "x"},
	}
	jobs := map[string]Job{
		"u/done.h5":    {Key: "u/done.h5", ETag: "a", Status: JobQueued}, // a replay's stale view: the run wins
		"u/newer.h5":   {Key: "u/newer.h5", ETag: "new", Status: JobRunning, CreatedAt: now, StartedAt: now},
		"u/failed.h5":  {Key: "u/failed.h5", ETag: "f", Status: JobFailed},
		"u/skipped.h5": {Key: "u/skipped.h5", ETag: "s", Status: JobFailed},
		"u/first.h5":   {Key: "u/first.h5", ETag: "1", Status: JobQueued, CreatedAt: now},
		"u/gone.h5":    {Key: "u/gone.h5", ETag: "g", Status: JobFailed, LastError: "store down"},
	}
	got := WithJobs(runs, jobs)
	for key, want := range map[string]string{"u/done.h5": StatusDone, "u/newer.h5": JobRunning, "u/failed.h5": StatusFailed,
		"u/skipped.h5": StatusSkipped, "u/untouched.h5": StatusDone, "u/first.h5": JobQueued, "u/gone.h5": JobFailed} {
		if got[key].Status != want {
			t.Errorf("%s: %s, want %s", key, got[key].Status, want)
		}
	}
	if r := got["u/newer.h5"]; r.QueuedAt == nil || r.StartedAt == nil || r.FinishedAt != nil {
		t.Errorf("times of a running job: %+v", r)
	}
	if got["u/gone.h5"].Reason != "analysis failed" {
		t.Errorf("failed job's reason: %+v", got["u/gone.h5"])
	}
}
