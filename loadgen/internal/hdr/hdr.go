// Package hdr is a small log-linear latency histogram in the style of
// HdrHistogram: every power-of-two range is split into the same number of
// linear sub-buckets, so each recorded value is kept with a bounded relative
// error while the whole range from nanoseconds to an hour fits in a few
// thousand counters.
//
// Values are int64 nanoseconds by convention. Values below 2*SubBuckets are
// kept exactly; larger values are kept within a relative error of
// 1/SubBuckets (0.39%, between two and three significant digits). Values
// above MaxValue are clamped to it. Counters are allocated lazily one
// power-of-two range at a time, so a histogram whose values cluster (the
// usual case for latencies) costs a few KiB.
//
// A Histogram is not safe for concurrent use: give each worker its own and
// Merge them at the end.
package hdr

import (
	"math"
	"math/bits"
)

const (
	subBits = 8
	// SubBuckets is the number of linear sub-buckets per power-of-two range;
	// the relative error of a reported value is below 1/SubBuckets.
	SubBuckets = 1 << subBits
	maxBits    = 42
	// MaxValue is the largest value kept (2^42-1 ns, about 73 minutes).
	MaxValue = 1<<maxBits - 1

	chunkLen = SubBuckets
	// numChunks holds counters up to index(MaxValue): chunk 0 and 1 for the
	// exact range, then one chunk per further power of two.
	numChunks = maxBits - subBits + 1
)

// index maps a value to its counter: values below 2*SubBuckets map to
// themselves; a value with bit length subBits+1+b (b >= 1) maps to
// b*SubBuckets + v>>b, which lies in [(b+1)*SubBuckets, (b+2)*SubBuckets).
func index(v int64) int {
	b := bits.Len64(uint64(v)) - (subBits + 1)
	if b < 0 {
		b = 0
	}
	return b<<subBits + int(v>>uint(b))
}

// bounds returns the lowest and highest value that map to counter i.
func bounds(i int) (lo, hi int64) {
	b := i>>subBits - 1
	if b < 0 {
		b = 0
	}
	sub := int64(i - b<<subBits)
	lo = sub << uint(b)
	return lo, lo + 1<<uint(b) - 1
}

// Histogram counts values in log-linear buckets.
type Histogram struct {
	chunks [numChunks]*[chunkLen]uint64
	count  uint64
	sum    float64
	min    int64
	max    int64
}

// New returns an empty histogram.
func New() *Histogram { return &Histogram{min: math.MaxInt64} }

// Record adds one value. Negative values count as 0 and values above
// MaxValue as MaxValue.
func (h *Histogram) Record(v int64) {
	if v < 0 {
		v = 0
	} else if v > MaxValue {
		v = MaxValue
	}
	i := index(v)
	c := h.chunks[i>>subBits]
	if c == nil {
		c = new([chunkLen]uint64)
		h.chunks[i>>subBits] = c
	}
	c[i&(chunkLen-1)]++
	h.count++
	h.sum += float64(v)
	if v < h.min {
		h.min = v
	}
	if v > h.max {
		h.max = v
	}
}

// Merge adds every value recorded in o to h.
func (h *Histogram) Merge(o *Histogram) {
	if o == nil || o.count == 0 {
		return
	}
	for ci, oc := range o.chunks {
		if oc == nil {
			continue
		}
		c := h.chunks[ci]
		if c == nil {
			c = new([chunkLen]uint64)
			h.chunks[ci] = c
		}
		for j, n := range oc {
			c[j] += n
		}
	}
	h.count += o.count
	h.sum += o.sum
	h.min = min(h.min, o.min)
	h.max = max(h.max, o.max)
}

// Count returns the number of recorded values.
func (h *Histogram) Count() uint64 { return h.count }

// Min returns the smallest recorded value (exact), or 0 when empty.
func (h *Histogram) Min() int64 {
	if h.count == 0 {
		return 0
	}
	return h.min
}

// Max returns the largest recorded value (exact after clamping), or 0.
func (h *Histogram) Max() int64 { return h.max }

// Mean returns the exact mean of the recorded values, or 0 when empty.
func (h *Histogram) Mean() float64 {
	if h.count == 0 {
		return 0
	}
	return h.sum / float64(h.count)
}

// Percentile returns the value at or below which p percent of the recorded
// values lie (0 <= p <= 100). The answer is the highest value of the bucket
// holding the exact answer, capped at Max, so it is never below the exact
// percentile and exceeds it by less than 1/SubBuckets of it.
func (h *Histogram) Percentile(p float64) int64 {
	if h.count == 0 {
		return 0
	}
	if p <= 0 {
		return h.min
	}
	if p >= 100 {
		return h.max
	}
	rank := uint64(math.Ceil(p / 100 * float64(h.count)))
	if rank < 1 {
		rank = 1
	}
	var seen uint64
	for ci, c := range h.chunks {
		if c == nil {
			continue
		}
		for j, n := range c {
			if n == 0 {
				continue
			}
			seen += n
			if seen >= rank {
				_, hi := bounds(ci*chunkLen + j)
				return min(max(hi, h.min), h.max)
			}
		}
	}
	return h.max
}

// Bucket is one non-empty counter: Count values in [Low, High].
type Bucket struct {
	Low, High int64
	Count     uint64
}

// Buckets returns the non-empty counters in increasing order.
func (h *Histogram) Buckets() []Bucket {
	var out []Bucket
	for ci, c := range h.chunks {
		if c == nil {
			continue
		}
		for j, n := range c {
			if n != 0 {
				lo, hi := bounds(ci*chunkLen + j)
				out = append(out, Bucket{Low: lo, High: hi, Count: n})
			}
		}
	}
	return out
}
