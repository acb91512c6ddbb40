package queue

import (
	"testing"
	"time"

	"github.com/benchwrap/backend/shared/config"
)

func TestParseBytes(t *testing.T) {
	for in, want := range map[string]int64{"0": 0, "512": 512, "16MiB": 16 << 20, "4GiB": 4 << 30, "1.5 GB": 3 << 29, "8KB": 8 << 10, "100B": 100} {
		got, err := ParseBytes(in)
		if err != nil || got != want {
			t.Errorf("ParseBytes(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "x", "-1", "12TiB"} {
		if _, err := ParseBytes(in); err == nil {
			t.Errorf("ParseBytes(%q) accepted", in)
		}
	}
}

func TestLanesAndBudget(t *testing.T) {
	s := Settings{Concurrency: 1, MemoryBudget: 1 << 30, SmallBytes: 16 << 20, MemoryFactor: 3, MemoryBase: 64 << 20,
		MaxAttempts: 3, Lease: config.Duration(time.Second)}
	if err := s.normalise(); err != nil {
		t.Fatal(err)
	}
	// Even one CPU gets one worker per lane: a big file never blocks the small lane.
	if small, large := s.laneWorkers(); small != 1 || large != 1 || s.slots() != 2 {
		t.Errorf("lanes for 1: %d small, %d large", small, large)
	}
	s.Concurrency = 8
	// The large lane's slots are beside the small lane's.
	if small, large := s.laneWorkers(); small != 8 || large != 4 || s.slots() != 12 {
		t.Errorf("lanes for 8: %d small, %d large", small, large)
	}
	if s.Lane(16<<20) != LaneSmall || s.Lane(16<<20+1) != LaneLarge {
		t.Error("lane threshold")
	}
	if n := s.Need(10 << 20); n != 64<<20+30<<20 {
		t.Errorf("need of 10 MiB: %d", n)
	}
	// A need beyond the budget is the whole budget: such a job runs alone.
	if n := s.Need(1 << 40); n != 1<<30 {
		t.Errorf("need of 1 TiB: %d", n)
	}
	if s.UserConcurrency != 1 {
		t.Errorf("user concurrency default for 1 CPU: %d", s.UserConcurrency)
	}
}

func TestRetryBackoff(t *testing.T) {
	p := retryPolicy{base: time.Second, max: 10 * time.Second}
	for attempt, mid := range map[int]time.Duration{1: time.Second, 2: 2 * time.Second, 3: 4 * time.Second, 4: 8 * time.Second, 5: 10 * time.Second, 30: 10 * time.Second} {
		seen := map[time.Duration]bool{}
		for range 20 {
			d := p.delay(attempt)
			if d < mid*3/4 || d > mid*5/4 {
				t.Fatalf("attempt %d: %s outside %s ± 25%%", attempt, d, mid)
			}
			seen[d] = true
		}
		if len(seen) < 2 {
			t.Errorf("attempt %d: no jitter", attempt)
		}
	}
}

func TestPriorityByBacklog(t *testing.T) {
	for waiting, want := range map[int]int{1: 1, 2: 1, 3: 2, 8: 2, 9: 3, 32: 3, 33: 4, 1000: 4} {
		if got := priority(waiting); got != want {
			t.Errorf("priority(%d) = %d, want %d", waiting, got, want)
		}
	}
}

func TestHookMayRun(t *testing.T) {
	now := time.Unix(1000, 0)
	for _, c := range []struct {
		name    string
		running int64
		lastEnd time.Time
		queued  time.Time
		want    bool
	}{
		{"small lane idle and quiet", 0, now.Add(-time.Second), now, true},
		{"small lane running", 1, now.Add(-time.Second), now, false},
		{"a small file just ended", 0, now.Add(-hookQuiet / 2), now, false},
		{"quiet for exactly hookQuiet", 0, now.Add(-hookQuiet), now, true},
		{"busy but waited too long", 2, now, now.Add(-hookMaxDefer), true},
		{"never busy", 0, time.Unix(0, 0), now, true},
	} {
		if got := hookMayRun(c.running, c.lastEnd, c.queued, now); got != c.want {
			t.Errorf("%s: hookMayRun = %v, want %v", c.name, got, c.want)
		}
	}
}
