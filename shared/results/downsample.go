package results

import (
	"math"
	"sort"
)

// M4 picks the rows of a time series to draw it at a given number of
// buckets without losing its shape: in each time bucket of [from, to], the
// first and last rows and, for every column, the rows of its minimum and
// maximum. Peaks therefore survive whatever the reduction. t is sorted;
// idx, when not nil, restricts the rows to these (sorted) indices, else
// rows lo..hi-1 are used. The result is sorted and without duplicates.
func M4(t []float64, cols [][]float64, from, to float64, buckets int, lo, hi int, idx []int32) []int32 {
	if buckets < 1 {
		buckets = 1
	}
	type bucket struct {
		first, last int32
		min, max    []int32
	}
	bs := make([]bucket, buckets)
	for i := range bs {
		bs[i].first = -1
	}
	width := to - from
	visit := func(i int32) {
		k := &bs[bucketOf(t[i], from, width, buckets)]
		if k.first < 0 {
			k.first = i
			k.min = make([]int32, len(cols))
			k.max = make([]int32, len(cols))
			for c := range cols {
				k.min[c], k.max[c] = -1, -1
			}
		}
		k.last = i
		for c, col := range cols {
			v := col[i]
			if math.IsNaN(v) {
				continue
			}
			if k.min[c] < 0 || v < col[k.min[c]] {
				k.min[c] = i
			}
			if k.max[c] < 0 || v > col[k.max[c]] {
				k.max[c] = i
			}
		}
	}
	if idx != nil {
		for _, i := range idx {
			visit(i)
		}
	} else {
		for i := lo; i < hi; i++ {
			visit(int32(i))
		}
	}
	var out []int32
	for _, k := range bs {
		if k.first < 0 {
			continue
		}
		pick := []int32{k.first, k.last}
		for c := range cols {
			if k.min[c] >= 0 {
				pick = append(pick, k.min[c], k.max[c])
			}
		}
		sort.Slice(pick, func(a, b int) bool { return pick[a] < pick[b] })
		for _, p := range pick {
			if len(out) == 0 || out[len(out)-1] != p {
				out = append(out, p)
			}
		}
	}
	return out
}

// bucketOf is the bucket of time x on M4's grid of buckets over [from,
// from+width]: one formula for M4 and the streamed levels (levelstream.go),
// which must pick the same rows.
func bucketOf(x, from, width float64, buckets int) int {
	b := 0
	if width > 0 {
		b = int((x - from) / width * float64(buckets))
		b = min(max(b, 0), buckets-1)
	}
	return b
}

// BucketsFor is how many M4 buckets fit in points output rows for n
// columns (each bucket gives at most 2 + 2n rows).
func BucketsFor(points, n int) int {
	return max(1, points/(2+2*n))
}
