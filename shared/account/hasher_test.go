package account

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/benchwrap/backend/shared/apperr"
)

// A burst of 60 logins against 2 slots: never more than 2 hashes run at
// once, and the requests that would wait past MaxWait are refused at once
// with 503 and Retry-After instead of piling up.
func TestHasherBurstStaysWithinBound(t *testing.T) {
	h := NewHasher(2, 100*time.Millisecond)
	var running, peak atomic.Int64
	work := func() {
		n := running.Add(1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		time.Sleep(20 * time.Millisecond) // one "hash"
		running.Add(-1)
	}
	var wg sync.WaitGroup
	var done, busy atomic.Int64
	for range 60 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := h.run(context.Background(), DefaultParams, work)
			switch e, _ := apperr.As(err); {
			case err == nil:
				done.Add(1)
			case e != nil && e.Code == apperr.Unavailable && e.Message == MsgBusy && e.RetryAfter >= time.Second:
				busy.Add(1)
			default:
				t.Errorf("run: %v", err)
			}
		}()
	}
	wg.Wait()
	if peak.Load() > 2 {
		t.Errorf("%d hashes ran at once; the bound is 2", peak.Load())
	}
	if busy.Load() == 0 || done.Load() < 2 {
		t.Errorf("done %d, refused %d: want some of each", done.Load(), busy.Load())
	}
	if h.queued.Load() != 0 {
		t.Errorf("queue not drained: %d", h.queued.Load())
	}
}

// A hash costing 100 MiB and 8 lanes (passlib's, imported) takes the
// slots of several default ones, never more than all of them, and two
// such hashes at once cannot deadlock.
func TestHasherWeighsCostlyHashes(t *testing.T) {
	h := NewHasher(4, 0)
	if w := h.weight(DefaultParams); w != 1 {
		t.Errorf("default weight %d", w)
	}
	if w := h.weight(Params{Memory: 100 * 1024, Threads: 8}); w != 4 {
		t.Errorf("passlib hash weight %d, want all 4 slots", w)
	}
	if w := h.weight(Params{Memory: 40 * 1024, Threads: 1}); w != 3 {
		t.Errorf("40 MiB hash weight %d, want 3", w)
	}
	var running, peak atomic.Int64
	var wg sync.WaitGroup
	for i := range 12 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p := DefaultParams
			if i%3 == 0 {
				p = Params{Memory: 40 * 1024, Threads: 1}
			}
			w := int64(h.weight(p))
			_ = h.run(context.Background(), p, func() {
				n := running.Add(w)
				for {
					old := peak.Load()
					if n <= old || peak.CompareAndSwap(old, n) {
						break
					}
				}
				time.Sleep(5 * time.Millisecond)
				running.Add(-w)
			})
		}()
	}
	wg.Wait()
	if peak.Load() > 4 {
		t.Errorf("%d slots' worth of hashing at once; the bound is 4", peak.Load())
	}
}

func TestHasherHashesAndVerifies(t *testing.T) {
	h := NewHasher(1, time.Second)
	p := Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}
	enc, err := h.Hash(context.Background(), "password-123", p)
	if err != nil {
		t.Fatal(err)
	}
	for pw, want := range map[string]bool{"password-123": true, "password-124": false} {
		if ok, err := h.Verify(context.Background(), pw, enc); err != nil || ok != want {
			t.Errorf("Verify(%q) = %v, %v", pw, ok, err)
		}
	}
}

func TestHashConcurrency(t *testing.T) {
	for _, c := range []struct{ cpus, mem, want int }{
		{4, 0, 4},   // no memory budget: CPUs
		{4, 256, 4}, // 256 MiB holds 13 hashes of 19 MiB
		{8, 64, 3},  // a 128 MiB function with half for hashes
		{2, 10, 1},  // never below 1
		{16, 200, 10},
	} {
		if got := HashConcurrency(c.cpus, c.mem, DefaultParams); got != c.want {
			t.Errorf("HashConcurrency(%d, %d) = %d, want %d", c.cpus, c.mem, got, c.want)
		}
	}
}
