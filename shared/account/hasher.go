package account

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/benchwrap/backend/shared/apperr"
	"github.com/benchwrap/backend/shared/metrics"
)

// Hasher bounds the argon2 computations of a process. Each one takes a
// core and Params.Memory of RAM (19 MiB by default), so a burst of logins
// must queue for a slot instead of running all at once; and a request
// whose wait for a slot would exceed MaxWait is refused at once with 503
// and Retry-After, so the queue cannot grow without bound either. A
// costlier hash (an imported one: 100 MiB, 8 lanes) takes as many slots
// as it costs DefaultParams hashes, in memory or lanes.
type Hasher struct {
	slots   chan struct{}
	big     sync.Mutex    // held while taking several slots, so two such takers cannot deadlock
	maxWait time.Duration // 0: wait as long as it takes

	queued atomic.Int64 // computations waiting or running
	avg    atomic.Int64 // moving average of one computation, ns
}

// MsgBusy is the 503 body when the hash queue is full.
const MsgBusy = "Server busy. Try again shortly."

// NewHasher returns a Hasher running at most concurrency computations at
// once and refusing requests that would wait longer than maxWait (0:
// never refuse).
func NewHasher(concurrency int, maxWait time.Duration) *Hasher {
	h := &Hasher{slots: make(chan struct{}, max(1, concurrency)), maxWait: maxWait}
	h.avg.Store(int64(50 * time.Millisecond)) // about one DefaultParams hash; updated by each one
	return h
}

// HashConcurrency sizes a Hasher: one computation per CPU, and no more
// than memoryMiB of RAM for hashes costing p.Memory each (memoryMiB <= 0:
// CPUs only). At least 1.
func HashConcurrency(cpus, memoryMiB int, p Params) int {
	n := cpus
	if per := int(p.Memory / 1024); memoryMiB > 0 && per > 0 {
		n = min(n, memoryMiB/per)
	}
	return max(1, n)
}

// defaultHasher serves HashPassword and VerifyPassword (imports, tools).
var defaultHasher = NewHasher(max(2, runtime.GOMAXPROCS(0)), 0)

// Concurrency is the number of slots.
func (h *Hasher) Concurrency() int { return cap(h.slots) }

// weight is the number of slots a hash with p takes.
func (h *Hasher) weight(p Params) int {
	per := DefaultParams.Memory
	w := max(int((p.Memory+per-1)/per), int(p.Threads), 1)
	return min(w, cap(h.slots))
}

// run calls f holding the slots a hash with p takes.
func (h *Hasher) run(ctx context.Context, p Params, f func()) error {
	w := h.weight(p)
	ahead := h.queued.Add(1) - 1
	defer h.queued.Add(-1)
	if h.maxWait > 0 {
		// Computations ahead of this one beyond the free slots must finish
		// first; they finish cap(slots) at a time.
		if wait := h.expectedWait(ahead); wait > h.maxWait {
			return h.busy(wait, fmt.Errorf("hash queue: %d ahead, expected wait %v over %v", ahead, wait, h.maxWait))
		}
	}
	queuedAt := time.Now()
	var timeout <-chan time.Time
	if h.maxWait > 0 {
		t := time.NewTimer(h.maxWait)
		defer t.Stop()
		timeout = t.C
	}
	if w > 1 {
		h.big.Lock()
		defer h.big.Unlock()
	}
	for taken := 0; taken < w; taken++ {
		select {
		case h.slots <- struct{}{}:
		case <-timeout:
			h.release(taken)
			return h.busy(h.expectedWait(h.queued.Load()), fmt.Errorf("hash queue: no slot within %v", h.maxWait))
		case <-ctx.Done():
			h.release(taken)
			return ctx.Err()
		}
	}
	defer h.release(w)
	start := time.Now()
	metrics.HashWait(start.Sub(queuedAt))
	f()
	d := int64(time.Since(start))
	metrics.ObserveHash(time.Duration(d))
	old := h.avg.Load()
	h.avg.CompareAndSwap(old, old+(d-old)/8)
	return nil
}

func (h *Hasher) release(n int) {
	for range n {
		<-h.slots
	}
}

func (h *Hasher) expectedWait(ahead int64) time.Duration {
	c := int64(cap(h.slots))
	if ahead < c {
		return 0
	}
	return time.Duration((ahead - c + 1) * h.avg.Load() / c)
}

func (h *Hasher) busy(wait time.Duration, cause error) error {
	e := apperr.Wrap(apperr.Unavailable, MsgBusy, cause)
	e.RetryAfter = max(wait, time.Second)
	return e
}
