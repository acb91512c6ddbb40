package pricing

import (
	"context"
	"fmt"
	"math"
	"time"
)

// Footprint is a job's cost and carbon (corrected mode). A figure that
// could not be computed is nil with the reason beside it; a source that
// is off leaves both empty.
type Footprint struct {
	CostEUR      *float64 `json:"cost_eur,omitempty"`
	PriceSource  string   `json:"price_source,omitempty"`
	CostError    string   `json:"cost_error,omitempty"`
	CarbonKgCO2e *float64 `json:"carbon_kg_co2e,omitempty"`
	CarbonSource string   `json:"carbon_source,omitempty"`
	CarbonError  string   `json:"carbon_error,omitempty"`
	Notes        []string `json:"notes,omitempty"`
}

// Assess prices a job's power samples (times in epoch seconds, power in
// W; see Series.Cost) with prices and carbon, either of which may be nil
// (off). It never fails: what goes wrong is recorded in the Footprint.
func Assess(ctx context.Context, prices, carbon Source, times, power []float64) Footprint {
	var f Footprint
	if prices != nil {
		f.PriceSource = fmt.Sprint(prices)
		v, notes, err := assess(ctx, prices, times, power)
		f.CostEUR, f.CostError = v, errString(err)
		f.Notes = append(f.Notes, notes...)
	}
	if carbon != nil {
		f.CarbonSource = fmt.Sprint(carbon)
		v, notes, err := assess(ctx, carbon, times, power)
		f.CarbonKgCO2e, f.CarbonError = v, errString(err)
		f.Notes = append(f.Notes, notes...)
	}
	return f
}

func assess(ctx context.Context, src Source, times, power []float64) (*float64, []string, error) {
	from, to, ok := timeRange(times, power)
	if !ok {
		return nil, nil, fmt.Errorf("no power samples with a time")
	}
	s, err := src.Series(ctx, from, to)
	if err != nil {
		return nil, nil, err
	}
	// Cost and Carbon differ in the unit of s only.
	v, err := s.Cost(times, power)
	if err != nil {
		return nil, s.Notes, err
	}
	return &v, s.Notes, nil
}

// timeRange is the span of the usable samples, widened to whole seconds.
func timeRange(times, power []float64) (from, to time.Time, ok bool) {
	lo, hi := math.Inf(1), math.Inf(-1)
	for i, t := range times {
		if i >= len(power) || math.IsNaN(t) || math.IsInf(t, 0) || math.IsNaN(power[i]) {
			continue
		}
		lo, hi = min(lo, t), max(hi, t)
	}
	if lo > hi {
		return time.Time{}, time.Time{}, false
	}
	return time.Unix(int64(math.Floor(lo)), 0), time.Unix(int64(math.Ceil(hi)), 0), true
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
