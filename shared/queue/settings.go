// Package queue is the analysis queue: the webhook records and enqueues
// object versions (Intake), and workers analyse them with bounded
// concurrency, a memory budget, per-user fairness and retries (Workers).
// The durable queue is River (github.com/riverqueue/river) on the same
// PostgreSQL database; analysis_jobs is the record users and operators see.
package queue

import (
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/benchwrap/backend/shared/config"
)

// Settings of the queue and its workers.
type Settings struct {
	// Concurrency is the number of small-lane analyses one process runs
	// at once; the large lane runs half as many (at least 1) in slots of
	// its own. 0 is the CPU count.
	Concurrency int `envconfig:"ANALYZE_CONCURRENCY"`
	// MemoryBudget bounds the estimated memory of the analyses running at
	// once in one process ("4GiB", "512MiB" or bytes).
	MemoryBudget Bytes `envconfig:"ANALYZE_MEMORY_BUDGET" default:"4GiB"`
	// SmallBytes: objects up to this size go to the small lane, which big
	// files never occupy.
	SmallBytes Bytes `envconfig:"ANALYZE_SMALL_BYTES" default:"16MiB"`
	// UserConcurrency caps the analyses of one user running at once across
	// every worker; 0 is half of Concurrency (at least 1).
	UserConcurrency int `envconfig:"ANALYZE_USER_CONCURRENCY"`
	// MaxAttempts bounds the tries of a job failing transiently; then it
	// is kept as failed with its last error.
	MaxAttempts int `envconfig:"ANALYZE_MAX_ATTEMPTS" default:"8"`
	// RetryBase and RetryMax shape the exponential backoff (with ±25 %
	// jitter) between tries.
	RetryBase config.Duration `envconfig:"ANALYZE_RETRY_BASE" default:"2s"`
	RetryMax  config.Duration `envconfig:"ANALYZE_RETRY_MAX" default:"10m"`
	// JobTimeout bounds one analysis.
	JobTimeout config.Duration `envconfig:"ANALYZE_JOB_TIMEOUT" default:"30m"`
	// Lease: a running job's worker renews it every Lease/4; a job whose
	// lease ran out (its worker was killed) is taken again by another
	// worker (River's rescuer, which runs every 30 s on the leader).
	Lease config.Duration `envconfig:"ANALYZE_LEASE" default:"60s"`
	// Reconcile: how often the workers settle jobs River gave up on while
	// PostgreSQL was down (their rows stayed queued or running) as failed.
	Reconcile config.Duration `envconfig:"ANALYZE_RECONCILE_INTERVAL" default:"15s"`
	// MemoryFactor and MemoryBase estimate an analysis's need from the
	// object's size: Base + Factor × size.
	MemoryFactor float64 `envconfig:"ANALYZE_MEMORY_FACTOR" default:"3"`
	// PollOnly: no LISTEN/NOTIFY (PgBouncer in transaction pooling mode);
	// workers poll for new jobs every half second.
	PollOnly   bool  `envconfig:"ANALYZE_POLL_ONLY"`
	MemoryBase Bytes `envconfig:"ANALYZE_MEMORY_BASE" default:"64MiB"`
}

// Lane names (River queues).
const (
	LaneSmall = "analyze_small"
	LaneLarge = "analyze_large"
)

func (s *Settings) normalise() error {
	if s.Concurrency <= 0 {
		s.Concurrency = runtime.NumCPU()
	}
	if s.UserConcurrency <= 0 {
		s.UserConcurrency = max(1, s.Concurrency/2)
	}
	if s.MaxAttempts <= 0 {
		s.MaxAttempts = 1
	}
	if s.RetryBase <= 0 {
		s.RetryBase = config.Duration(time.Second)
	}
	if s.RetryMax < s.RetryBase {
		s.RetryMax = s.RetryBase
	}
	if s.Reconcile <= 0 {
		s.Reconcile = config.Duration(15 * time.Second)
	}
	if s.Lease.D() < time.Second {
		return errors.New("ANALYZE_LEASE must be at least 1s")
	}
	if s.MemoryBudget <= 0 {
		return errors.New("ANALYZE_MEMORY_BUDGET must be positive")
	}
	return nil
}

// Workers per lane: each lane has slots of its own. The small lane has
// Concurrency slots, which big files never occupy; the large lane half as
// many (at least 1) beside them. So a process runs at most Concurrency
// small analyses and Concurrency/2 big ones at once (the memory budget
// bounds them further), and small files never wait for a big one's slot.
func (s Settings) laneWorkers() (small, large int) {
	return max(1, s.Concurrency), max(1, s.Concurrency/2)
}

// slots is the most analyses at once, both lanes together.
func (s Settings) slots() int {
	small, large := s.laneWorkers()
	return small + large
}

// Lane is the lane of an object of this size.
func (s Settings) Lane(size int64) string {
	if size <= int64(s.SmallBytes) {
		return LaneSmall
	}
	return LaneLarge
}

// Need estimates an analysis's memory from the object's size, at most the
// whole budget (such a job then runs alone).
func (s Settings) Need(size int64) int64 {
	n := int64(s.MemoryBase) + int64(s.MemoryFactor*float64(size))
	return min(n, int64(s.MemoryBudget))
}

// Bytes is a size setting: bytes, or a number with KiB, MiB, GiB (or KB,
// MB, GB as the same binary units).
type Bytes int64

// Decode implements envconfig.Decoder.
func (b *Bytes) Decode(v string) error {
	n, err := ParseBytes(v)
	*b = Bytes(n)
	return err
}

// ParseBytes reads a Bytes value.
func ParseBytes(v string) (int64, error) {
	v = strings.TrimSpace(v)
	mult := int64(1)
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"KB", 1 << 10}, {"MB", 1 << 20}, {"GB", 1 << 30}, {"B", 1}} {
		if strings.HasSuffix(v, u.suffix) {
			v, mult = strings.TrimSpace(strings.TrimSuffix(v, u.suffix)), u.mult
			break
		}
	}
	n, err := strconv.ParseFloat(v, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("%q is not a size like 512MiB", v)
	}
	return int64(n * float64(mult)), nil
}
