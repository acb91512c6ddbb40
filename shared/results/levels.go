package results

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"time"

	"github.com/benchwrap/backend/shared/apperr"
)

// Levels: what a job's first series request needs, computed when its
// analysis finishes (AfterAnalysis) and stored per run (migration 031), so
// that request does not read the whole table. Per series of the run's
// table: its rows' count and its M4 level at levelBuckets over every field
// (the rows an in-memory answer would use for a request over many rows),
// or all its rows when it has no more than levelMinRows. A request
// answered from them gives exactly the rows the loaded series would give.
// Levels are keyed by run: a re-analysed object has a new run and so new
// levels, and a job's files name their latest runs only.

// Range is a time range of a series request, epoch seconds, inclusive.
type Range struct{ From, To float64 }

// LevelsVersion is the level stored by this code: the buckets of its M4
// level. Stored levels of another version are rebuilt.
const LevelsVersion = levelBuckets

// BuildLevels makes sure a run's table has its levels stored: it reads
// the table and stores its levels unless they are there (the store
// serialises builds of one run, so a reader waits for a build under way
// instead of repeating it). It returns the encoded levels.
func BuildLevels(ctx context.Context, st Store, f File) ([]byte, error) {
	return st.BuildLevels(ctx, f.RunID, LevelsVersion, func(ctx context.Context, st Store) ([]byte, error) {
		ses, err := readSeries(ctx, st, f, nil)
		if err != nil {
			return nil, err
		}
		return encodeLevels(ses), nil
	})
}

// levelsAfterAnalysis stores the levels of an object's run that has just
// been analysed.
func levelsAfterAnalysis(ctx context.Context, st Store, bucket, key string) {
	start := time.Now()
	f, ok, err := st.ObjectFile(ctx, bucket, key)
	if err == nil && ok && seriesTable(f) {
		var b []byte
		if b, err = BuildLevels(ctx, st, f); err == nil {
			slog.InfoContext(ctx, "results: series levels stored", "key", key, "run", f.RunID, "bytes", len(b), "seconds", time.Since(start).Seconds())
		}
	}
	if err != nil {
		slog.WarnContext(ctx, "results: series levels", "key", key, "error", err)
	}
}

// levels returns the job's series as its stored levels hold them, building
// the levels of runs without (analysed before levels existed, or whose
// hook has not stored them yet).
func (s *Service) levels(ctx context.Context, key string, files []File) (*jobSeries, error) {
	key += "\x00levels"
	if d := s.Cache.get(key); d != nil {
		return d, nil
	}
	var ids []int64
	for _, f := range files {
		if seriesTable(f) {
			ids = append(ids, f.RunID)
		}
	}
	stored, err := s.Store.Levels(ctx, ids, LevelsVersion)
	if err != nil {
		return nil, apperr.Wrap(apperr.Unavailable, "Results temporarily unavailable.", err)
	}
	d := &jobSeries{}
	for _, f := range files {
		if !seriesTable(f) {
			d.skipped = append(d.skipped, f.Key)
			continue
		}
		b, ok := stored[f.RunID]
		if !ok {
			if b, err = BuildLevels(ctx, s.Store, f); err != nil {
				return nil, apperr.Wrap(apperr.Unavailable, "Results temporarily unavailable.", err)
			}
		}
		ses, err := decodeLevels(b, f)
		if err != nil {
			return nil, apperr.Wrap(apperr.Internal, "Results temporarily unavailable.", fmt.Errorf("run %d: %w", f.RunID, err))
		}
		for _, se := range ses {
			d.bytes += se.size()
		}
		d.series = append(d.series, ses...)
	}
	sortSeries(d.series)
	s.Cache.put(key, d)
	return d, nil
}

// The encoding, little-endian: "BWL1", then the series count and, per
// series: step, node, rows, whether it is whole (all rows) or a level,
// the stored rows' count m, the fields with values and their names, for a
// level m row numbers (uint32), then m times and per field m values
// (float64 bits).
const levelsMagic = "BWL1"

func encodeLevels(ses []*series) []byte {
	b := []byte(levelsMagic)
	b = binary.AppendUvarint(b, uint64(len(ses)))
	str := func(s string) {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	floats := func(x []float64) {
		for _, v := range x {
			b = binary.LittleEndian.AppendUint64(b, math.Float64bits(v))
		}
	}
	for _, se := range ses {
		str(se.key[0])
		str(se.key[1])
		b = binary.AppendUvarint(b, uint64(se.N))
		t, cols := se.LT, se.LCols
		whole := se.LT == nil
		if whole {
			t, cols = se.T, se.Cols
			b = append(b, 1)
		} else {
			b = append(b, 0)
		}
		b = binary.AppendUvarint(b, uint64(len(t)))
		var names []string
		for _, n := range seriesFieldNames {
			if cols[n] != nil {
				names = append(names, n)
			}
		}
		b = binary.AppendUvarint(b, uint64(len(names)))
		for _, n := range names {
			str(n)
		}
		if !whole {
			for _, r := range se.LIdx {
				b = binary.LittleEndian.AppendUint32(b, uint32(r))
			}
		}
		floats(t)
		for _, n := range names {
			floats(cols[n])
		}
	}
	return b
}

var errLevels = errors.New("levels: malformed")

// decodeLevels reads a run's levels as series of the file f.
func decodeLevels(b []byte, f File) ([]*series, error) {
	if len(b) < len(levelsMagic) || string(b[:len(levelsMagic)]) != levelsMagic {
		return nil, errLevels
	}
	b = b[len(levelsMagic):]
	bad := false
	uv := func() int {
		v, n := binary.Uvarint(b)
		if n <= 0 || v > math.MaxInt32 {
			bad = true
			return 0
		}
		b = b[n:]
		return int(v)
	}
	take := func(n int) []byte {
		if bad || n < 0 || n > len(b) {
			bad = true
			return nil
		}
		x := b[:n]
		b = b[n:]
		return x
	}
	str := func() string { return string(take(uv())) }
	floats := func(m int) []float64 {
		x := take(8 * m)
		if x == nil {
			return nil
		}
		out := make([]float64, m)
		for i := range out {
			out[i] = math.Float64frombits(binary.LittleEndian.Uint64(x[8*i:]))
		}
		return out
	}
	count := uv()
	var out []*series
	for range count {
		step, node := str(), str()
		se := f.newSeries(step, node)
		se.N = uv()
		whole := take(1)
		m := uv()
		names := make([]string, uv())
		for i := range names {
			names[i] = str()
		}
		if bad || len(whole) != 1 {
			return nil, errLevels
		}
		cols := map[string][]float64{}
		if whole[0] == 0 {
			x := take(4 * m)
			se.LIdx = make([]int32, m)
			for i := range se.LIdx {
				if x != nil {
					se.LIdx[i] = int32(binary.LittleEndian.Uint32(x[4*i:]))
				}
			}
		}
		t := floats(m)
		for _, n := range names {
			cols[n] = floats(m)
		}
		if bad {
			return nil, errLevels
		}
		if whole[0] == 1 {
			se.T, se.Cols = t, cols
		} else {
			se.LT, se.LCols = t, cols
		}
		out = append(out, se)
	}
	if bad || len(b) != 0 {
		return nil, errLevels
	}
	return out, nil
}
