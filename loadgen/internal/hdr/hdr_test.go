package hdr

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

func TestIndexBoundsRoundTrip(t *testing.T) {
	vals := []int64{0, 1, 255, 256, 511, 512, 513, 1023, 1024, 4097, 1e6, 123456789, MaxValue - 1, MaxValue}
	for _, v := range vals {
		i := index(v)
		lo, hi := bounds(i)
		if v < lo || v > hi {
			t.Fatalf("value %d -> index %d -> [%d,%d]", v, i, lo, hi)
		}
		if i>>subBits >= numChunks {
			t.Fatalf("value %d index %d beyond %d chunks", v, i, numChunks)
		}
		if v >= 2*SubBuckets && float64(hi-lo) >= float64(lo)/SubBuckets {
			t.Fatalf("bucket [%d,%d] too wide", lo, hi)
		}
		if v < 2*SubBuckets && lo != hi {
			t.Fatalf("small value %d not exact: [%d,%d]", v, lo, hi)
		}
	}
	// Adjacent indexes tile the range without gaps.
	prevHi := int64(-1)
	for i := 0; i <= index(MaxValue); i++ {
		lo, hi := bounds(i)
		if lo != prevHi+1 {
			t.Fatalf("gap before index %d: lo %d, previous hi %d", i, lo, prevHi)
		}
		prevHi = hi
	}
}

func exactPercentile(sorted []int64, p float64) int64 {
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	if rank < 1 {
		rank = 1
	}
	return sorted[rank-1]
}

func TestPercentileErrorBound(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	tests := []struct {
		name string
		gen  func() int64
	}{
		{"log-uniform 1us..10min", func() int64 {
			return int64(math.Exp(math.Log(1e3) + rng.Float64()*(math.Log(6e11)-math.Log(1e3))))
		}},
		{"uniform 50us..150us", func() int64 { return 50_000 + rng.Int64N(100_000) }},
		{"bimodal 1ms/200ms", func() int64 {
			if rng.IntN(100) < 95 {
				return 1_000_000 + rng.Int64N(10_000)
			}
			return 200_000_000 + rng.Int64N(1_000_000)
		}},
		{"tiny exact values", func() int64 { return rng.Int64N(400) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := New()
			vals := make([]int64, 50_000)
			for i := range vals {
				vals[i] = tc.gen()
				h.Record(vals[i])
			}
			slices.Sort(vals)
			for _, p := range []float64{0, 1, 10, 50, 75, 90, 99, 99.9, 99.99, 100} {
				exact := exactPercentile(vals, p)
				if p == 0 {
					exact = vals[0]
				}
				got := h.Percentile(p)
				if got < exact || float64(got-exact) > float64(exact)/SubBuckets {
					t.Errorf("p%v = %d, exact %d (allowed +%.2f%%)", p, got, exact, 100.0/SubBuckets)
				}
			}
			if h.Min() != vals[0] || h.Max() != vals[len(vals)-1] {
				t.Errorf("min/max %d/%d, want %d/%d", h.Min(), h.Max(), vals[0], vals[len(vals)-1])
			}
			var sum float64
			for _, v := range vals {
				sum += float64(v)
			}
			if m := sum / float64(len(vals)); math.Abs(h.Mean()-m) > 1e-9*m {
				t.Errorf("mean %v, want %v", h.Mean(), m)
			}
		})
	}
}

func TestMergeEqualsSingle(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	all := New()
	parts := []*Histogram{New(), New(), New()}
	for i := 0; i < 30_000; i++ {
		v := rng.Int64N(5e9)
		all.Record(v)
		parts[i%3].Record(v)
	}
	merged := New()
	merged.Merge(New()) // empty merge is a no-op
	for _, p := range parts {
		merged.Merge(p)
	}
	if merged.Count() != all.Count() || merged.Min() != all.Min() || merged.Max() != all.Max() {
		t.Fatalf("merged count/min/max %d/%d/%d, want %d/%d/%d",
			merged.Count(), merged.Min(), merged.Max(), all.Count(), all.Min(), all.Max())
	}
	for _, p := range []float64{50, 90, 99, 99.9} {
		if merged.Percentile(p) != all.Percentile(p) {
			t.Errorf("p%v merged %d, single %d", p, merged.Percentile(p), all.Percentile(p))
		}
	}
	if !slices.Equal(merged.Buckets(), all.Buckets()) {
		t.Error("bucket lists differ")
	}
}

func TestEdgeCases(t *testing.T) {
	h := New()
	if h.Percentile(50) != 0 || h.Min() != 0 || h.Max() != 0 || h.Mean() != 0 {
		t.Fatal("empty histogram should report zeros")
	}
	h.Record(-5)
	h.Record(MaxValue + 1000)
	if h.Min() != 0 || h.Max() != MaxValue || h.Count() != 2 {
		t.Fatalf("clamping: min %d max %d count %d", h.Min(), h.Max(), h.Count())
	}
	if got := h.Percentile(100); got != MaxValue {
		t.Fatalf("p100 %d", got)
	}
	one := New()
	one.Record(777_777)
	for _, p := range []float64{0, 50, 99.9, 100} {
		if got := one.Percentile(p); got != 777_777 {
			t.Errorf("single value p%v = %d", p, got)
		}
	}
}

func BenchmarkRecord(b *testing.B) {
	h := New()
	v := int64(40_000)
	for i := 0; i < b.N; i++ {
		h.Record(v + int64(i&1023))
	}
}
