package metrics

import (
	"context"
	"errors"
	"testing"
	"time"
)

func scrapeOnce(t *testing.T) Scrape {
	t.Helper()
	s, err := Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	sc, err := Get(context.Background(), s.URL())
	if err != nil {
		t.Fatal(err)
	}
	return sc
}

// TestQueueCollector: the queue's depth and oldest age are read at scrape
// time from the function the queue code sets; a failing read exports
// nothing rather than a wrong value.
func TestQueueCollector(t *testing.T) {
	t.Cleanup(func() { SetQueue(nil) })
	if scrapeOnce(t).Has("benchwrap_analysis_queue_depth") {
		t.Error("queue series without a queue")
	}
	SetQueue(func(ctx context.Context) (int, time.Duration, error) {
		if _, ok := ctx.Deadline(); !ok {
			t.Error("queue read without a deadline")
		}
		return 7, 90 * time.Second, nil
	})
	s := scrapeOnce(t)
	if s.Sum("benchwrap_analysis_queue_depth") != 7 || s.Sum("benchwrap_analysis_queue_oldest_seconds") != 90 {
		t.Errorf("queue series: %v %v", s.Sum("benchwrap_analysis_queue_depth"), s.Sum("benchwrap_analysis_queue_oldest_seconds"))
	}
	SetQueue(func(context.Context) (int, time.Duration, error) { return 0, 0, errors.New("database down") })
	if scrapeOnce(t).Has("benchwrap_analysis_queue_depth") {
		t.Error("queue series exported from a failed read")
	}
}

// TestObserve: the analysis and hashing series count what they are given.
func TestObserve(t *testing.T) {
	before := scrapeOnce(t)
	ObserveJob("skipped", "not_hdf5")
	ObservePhase(PhaseRead, 2*time.Second, 1000, 0)
	ObserveHash(30 * time.Millisecond)
	HashWait(time.Millisecond)
	HashRejected()
	after := scrapeOnce(t)
	for _, c := range []struct {
		name   string
		labels []string
		delta  float64
	}{
		{"benchwrap_analysis_jobs_total", []string{"outcome", "skipped", "skip_reason", "not_hdf5"}, 1},
		{"benchwrap_analysis_phase_bytes_total", []string{"phase", "read"}, 1000},
		{"benchwrap_analysis_phase_duration_seconds_sum", []string{"phase", "read"}, 2},
		{"benchwrap_password_hash_duration_seconds_count", nil, 1},
		{"benchwrap_password_hash_wait_seconds_count", nil, 1},
		{"benchwrap_password_hash_rejected_total", nil, 1},
	} {
		if d := after.Sum(c.name, c.labels...) - before.Sum(c.name, c.labels...); d != c.delta {
			t.Errorf("%s%v moved by %v, want %v", c.name, c.labels, d, c.delta)
		}
	}
}
