package results

import (
	"cmp"
	"fmt"
	"math"
	"slices"

	"github.com/benchwrap/backend/shared/analysis"
)

// streamed levels one big series as its rows pass, from the range its
// source announced (LevelRecorder.Expect), instead of keeping the rows:
// the M4 that finish computes over the whole series, on the grid of
// [From, To] at levelBuckets. Sorted rows fill the buckets in order, so a
// bucket is final when a row of a later one comes: its picks then go to
// the level, and only the current bucket's candidates are held, each with
// the values the level stores of it. The rows' order within a bucket and
// the strict comparisons are M4's, so ties resolve to the same rows.
//
// The level is right only if the rows are the announced ones: sorted, the
// first at From and the last at To (the grid), Rows of them (above
// levelMinRows, else the series is stored whole). add and level check
// exactly that; a broken announcement cannot be repaired, the rows before
// it being gone, so it is reported (err) and the table's levels are not
// recorded at all (see LevelRecorder.Levels). Contiguity is announced but
// not relied on: each series has its own state.
type streamed struct {
	want   analysis.SeriesRange
	width  float64 // To - From, as M4 computes it
	n      int64   // rows seen
	prev   float64 // the last row's time
	bucket int     // the current bucket
	// The current bucket's candidates; i < 0: none.
	first, last candidate
	min, max    []candidate // per field
	picks       []*candidate
	has         []bool // per field: some row has a value
	// The level so far.
	idx  []int32
	t    []float64
	cols [][]float64 // per field
	err  error       // how the rows broke the announcement; they are then ignored
}

// candidate is a row a bucket may pick: its number in the series, time
// and fields' values.
type candidate struct {
	i int32
	t float64
	v []float64
}

func (c *candidate) set(i int32, t float64, v []float64) {
	c.i, c.t = i, t
	copy(c.v, v)
}

func newStreamed(want analysis.SeriesRange, fields int) *streamed {
	// The level has at most this many rows, fewer than the series (more
	// than levelMinRows): made at once, it is not copied as it grows
	// (append's growth would allocate about four times its size).
	most := levelBuckets * (2 + 2*fields)
	s := &streamed{want: want, width: want.To - want.From, bucket: -1,
		min: make([]candidate, fields), max: make([]candidate, fields), has: make([]bool, fields),
		idx: make([]int32, 0, most), t: make([]float64, 0, most), cols: make([][]float64, fields)}
	s.first.v, s.last.v = make([]float64, fields), make([]float64, fields)
	for f := range fields {
		s.min[f].v, s.max[f].v = make([]float64, fields), make([]float64, fields)
		s.cols[f] = make([]float64, 0, most)
	}
	s.reset()
	return s
}

// reset empties the current bucket.
func (s *streamed) reset() {
	s.first.i, s.last.i = -1, -1
	for f := range s.min {
		s.min[f].i, s.max[f].i = -1, -1
	}
}

// add takes the series' next row: time t and the fields' values (NaN for
// none).
func (s *streamed) add(t float64, v []float64) {
	if s.err != nil {
		return
	}
	if s.err = s.check(t); s.err != nil {
		return
	}
	i := int32(s.n)
	s.n, s.prev = s.n+1, t
	if b := bucketOf(t, s.want.From, s.width, levelBuckets); b != s.bucket {
		s.flush()
		s.bucket = b
		s.first.set(i, t, v)
	}
	s.last.set(i, t, v)
	for f, x := range v {
		if math.IsNaN(x) {
			continue
		}
		s.has[f] = true
		if m := &s.min[f]; m.i < 0 || x < m.v[f] {
			m.set(i, t, v)
		}
		if m := &s.max[f]; m.i < 0 || x > m.v[f] {
			m.set(i, t, v)
		}
	}
}

// check says how a row at time t breaks the announcement, if it does:
// with the checks of level at the end, the rows are then sorted within
// [From, To], the first at From, and no more than Rows.
func (s *streamed) check(t float64) error {
	switch {
	case s.n == s.want.Rows:
		return fmt.Errorf("more than the %d rows announced", s.want.Rows)
	case s.n == 0 && t != s.want.From:
		return fmt.Errorf("first row at epoch_s %v, announced %v", t, s.want.From)
	case s.n > 0 && !(t >= s.prev): // NaN included
		return fmt.Errorf("row %d at epoch_s %v after %v: not in time order", s.n, t, s.prev)
	case t > s.want.To:
		return fmt.Errorf("row %d at epoch_s %v after the announced last %v", s.n, t, s.want.To)
	}
	return nil
}

// flush appends the current bucket's picks to the level, as M4 does: in
// row order, each row once.
func (s *streamed) flush() {
	if s.first.i < 0 {
		return
	}
	p := append(s.picks[:0], &s.first, &s.last)
	for f := range s.min {
		if s.min[f].i >= 0 {
			p = append(p, &s.min[f], &s.max[f])
		}
	}
	slices.SortFunc(p, func(a, b *candidate) int { return cmp.Compare(a.i, b.i) })
	for _, c := range p {
		if n := len(s.idx); n > 0 && s.idx[n-1] == c.i {
			continue
		}
		s.idx, s.t = append(s.idx, c.i), append(s.t, c.t)
		for f, x := range c.v {
			s.cols[f] = append(s.cols[f], x)
		}
	}
	s.picks = p
	s.reset()
}

// level sets se's level (the fields named names, those with a value),
// or says how the rows broke the announcement.
func (s *streamed) level(se *series, names []string) error {
	switch {
	case s.err != nil:
	case s.n != s.want.Rows:
		s.err = fmt.Errorf("%d rows, announced %d", s.n, s.want.Rows)
	case s.prev != s.want.To:
		s.err = fmt.Errorf("last row at epoch_s %v, announced %v", s.prev, s.want.To)
	}
	if s.err != nil {
		return s.err
	}
	s.flush()
	se.N, se.T, se.Cols = int(s.n), nil, nil
	se.LIdx, se.LT = s.idx, s.t
	se.LCols = map[string][]float64{}
	for f, n := range names {
		if s.has[f] {
			se.LCols[n] = s.cols[f]
		}
	}
	return nil
}
