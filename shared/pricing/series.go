// Package pricing prices a job's energy: electricity prices (SMARD
// day-ahead, a CSV file or a fixed tariff) and carbon intensities as step
// functions of time, the exact integral of a job's power against them, and
// the original pipeline's per-row price columns for compat mode.
//
// Times are epoch seconds (float64). Prices are EUR/MWh, carbon
// intensities g CO2e/kWh. A price or intensity that is missing for part of
// a job's time range is never guessed: the computation fails with
// ErrNoData and the caller leaves the figure empty with the reason.
package pricing

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"time"
)

// ErrNoData reports a series that has no value for part of the time asked
// about: outside its range, or a gap (a SMARD null).
var ErrNoData = errors.New("no data")

// GapError is the ErrNoData of a computation, with the uncovered ranges.
type GapError struct {
	From, To float64 // the first uncovered range, epoch seconds
	Gaps     int     // number of separate uncovered ranges
	Total    float64 // seconds uncovered in all
}

func (e *GapError) Error() string {
	msg := fmt.Sprintf("no data for %s to %s", epochString(e.From), epochString(e.To))
	if e.Gaps > 1 {
		msg += fmt.Sprintf(" and %d more gaps (%s uncovered in all)", e.Gaps-1, seconds(e.Total))
	}
	return msg
}

// Is makes errors.Is(err, ErrNoData) true.
func (e *GapError) Is(target error) bool { return target == ErrNoData }

func epochString(t float64) string {
	if math.IsInf(t, 0) || math.IsNaN(t) {
		return fmt.Sprint(t)
	}
	sec, frac := math.Modf(t)
	return time.Unix(int64(sec), int64(frac*1e9)).UTC().Format(time.RFC3339)
}

func seconds(s float64) string {
	return time.Duration(s * float64(time.Second)).Round(time.Second).String()
}

// Interval is one step of a Series: Value holds over [Start, End). A NaN
// Value is a gap (no data), kept because the compat join sees it.
type Interval struct {
	Start, End, Value float64
}

// Series is a step function of time: sorted, non-overlapping intervals.
// Time not inside an interval has no value.
type Series struct {
	iv []Interval
	// Notes are things worth recording that did not stop the source, such
	// as a cache that could not be written.
	Notes []string
}

// NewSeries checks the intervals (Start < End, sorted, not overlapping,
// no NaN bounds; infinite bounds are allowed) and makes a Series of them.
func NewSeries(iv []Interval) (*Series, error) {
	for i, v := range iv {
		if math.IsNaN(v.Start) || math.IsNaN(v.End) || !(v.Start < v.End) {
			return nil, fmt.Errorf("pricing: interval %d [%v, %v) is empty or not a number", i, v.Start, v.End)
		}
		if i > 0 && v.Start < iv[i-1].End {
			return nil, fmt.Errorf("pricing: interval %d starts at %v, before the previous one ends (%v)", i, v.Start, iv[i-1].End)
		}
	}
	return &Series{iv: append([]Interval(nil), iv...)}, nil
}

// StepSeries makes a Series of points each holding until the next point,
// the last one until end. times must increase strictly and end must be
// after the last time.
func StepSeries(times, values []float64, end float64) (*Series, error) {
	if len(times) != len(values) {
		return nil, fmt.Errorf("pricing: %d times but %d values", len(times), len(values))
	}
	iv := make([]Interval, len(times))
	for i, t := range times {
		e := end
		if i+1 < len(times) {
			e = times[i+1]
		}
		iv[i] = Interval{Start: t, End: e, Value: values[i]}
	}
	return NewSeries(iv)
}

// Intervals returns the series' intervals (do not modify them).
func (s *Series) Intervals() []Interval { return s.iv }

// Len is the number of intervals.
func (s *Series) Len() int { return len(s.iv) }

// Range is the time from the start of the first interval to the end of
// the last (which may contain gaps); ok is false for an empty series.
func (s *Series) Range() (from, to float64, ok bool) {
	if len(s.iv) == 0 {
		return 0, 0, false
	}
	return s.iv[0].Start, s.iv[len(s.iv)-1].End, true
}

// find returns the index of the last interval starting at or before t, or
// -1.
func (s *Series) find(t float64) int {
	return sort.Search(len(s.iv), func(i int) bool { return s.iv[i].Start > t }) - 1
}

// At returns the value at time t: that of the interval containing t. ok is
// false when no interval contains t or its value is a gap.
func (s *Series) At(t float64) (v float64, ok bool) {
	i := s.find(t)
	if i < 0 || !(t < s.iv[i].End) || math.IsNaN(s.iv[i].Value) {
		return math.NaN(), false
	}
	return s.iv[i].Value, true
}

// joulesPerMWh converts: 1 MWh = 3.6e9 J. A price in EUR/MWh times J over
// it is EUR; an intensity in g/kWh times J over it is kg as well
// (J / 3.6e6 = kWh, g / 1000 = kg).
const joulesPerMWh = 3.6e9

// Cost is the price of the energy a job drew, in EUR, with s in EUR/MWh:
// the exact integral of power(t) * price(t) dt, where power is the
// piecewise-linear curve through the samples (times in epoch seconds,
// power in W) and price the step function s. Samples with a NaN time or
// power are skipped (the curve bridges them); times must not decrease.
// Part of the job's range without a price is an ErrNoData (a *GapError).
func (s *Series) Cost(times, power []float64) (eur float64, err error) {
	x, err := s.integrate(times, power)
	return x / joulesPerMWh, err
}

// Carbon is the job's emissions in kg CO2e with s in g CO2e/kWh, computed
// as Cost is: J / 3.6e6 kWh * g/kWh / 1000 = kg.
func (s *Series) Carbon(times, power []float64) (kg float64, err error) {
	x, err := s.integrate(times, power)
	return x / joulesPerMWh, err
}

// integrate returns the integral of power * value over the samples' time
// range, in J times the series' unit.
func (s *Series) integrate(times, power []float64) (float64, error) {
	if len(times) != len(power) {
		return 0, fmt.Errorf("pricing: %d times but %d power values", len(times), len(power))
	}
	var gaps gapList
	sum := 0.0
	k := -1 // index of the previous usable sample
	j := 0  // first interval that can still overlap
	for i := range times {
		t1, p1 := times[i], power[i]
		if math.IsNaN(t1) || math.IsNaN(p1) {
			continue
		}
		if math.IsInf(t1, 0) || math.IsInf(p1, 0) {
			return 0, fmt.Errorf("pricing: sample %d is infinite (time %v, power %v)", i, t1, p1)
		}
		if k < 0 {
			k = i
			if _, ok := s.At(t1); !ok {
				gaps.add(t1, t1)
			}
			j = max(s.find(t1), 0)
			continue
		}
		t0, p0 := times[k], power[k]
		if t1 < t0 {
			return 0, fmt.Errorf("pricing: sample %d: time %v is before the previous sample's %v", i, t1, t0)
		}
		k = i
		if t1 == t0 {
			continue
		}
		slope := (p1 - p0) / (t1 - t0)
		at := func(x float64) float64 { return p0 + slope*(x-t0) }
		cur := t0 // covered or reported up to here
		for ; j < len(s.iv) && s.iv[j].Start < t1; j++ {
			v := s.iv[j]
			if v.End <= cur {
				continue
			}
			a, b := max(cur, v.Start), min(t1, v.End)
			if a > cur {
				gaps.add(cur, a)
			}
			if math.IsNaN(v.Value) {
				gaps.add(a, b)
			} else {
				sum += v.Value * (b - a) * (at(a) + at(b)) / 2
			}
			cur = b
			if v.End > t1 {
				break // this interval goes on into the next segment
			}
		}
		if cur < t1 {
			gaps.add(cur, t1)
		}
	}
	if err := gaps.err(); err != nil {
		return 0, err
	}
	return sum, nil
}

// gapList gathers uncovered ranges, merging touching ones.
type gapList struct {
	first [2]float64
	last  [2]float64
	n     int
	total float64
}

func (g *gapList) add(a, b float64) {
	if g.n > 0 && a <= g.last[1] {
		if b > g.last[1] {
			g.total += b - g.last[1]
			g.last[1] = b
			if g.n == 1 {
				g.first[1] = b
			}
		}
		return
	}
	g.n++
	g.total += b - a
	g.last = [2]float64{a, b}
	if g.n == 1 {
		g.first = g.last
	}
}

func (g *gapList) err() error {
	if g.n == 0 {
		return nil
	}
	return &GapError{From: g.first[0], To: g.first[1], Gaps: g.n, Total: g.total}
}
