package pricing

import (
	"fmt"
	"math"
	"sort"
)

// CompatColumns computes the original's two price columns for compat mode,
// one value per table row (NaN = NULL):
//
//   - Price_EUR_per_MWh: an as-of join of the row's epoch (seconds) with
//     the nearest price point (an interval's start; at equal distance the
//     earlier point), whatever the distance, as the original's nearest
//     join did. A row whose epoch is NULL, or whose nearest point is a
//     null price, gets NULL; then the NULL runs between two known prices
//     are filled by linear interpolation by row position (not by time),
//     and leading and trailing NULLs stay NULL.
//   - Cumulative_cost_EUR = Energy_used_J / 3.6e6 * Price_EUR_per_MWh,
//     computed in that order. This is the original's formula and keeps its
//     unit slip: J / 3.6e6 is kWh, multiplied by a price per MWh, so the
//     figure is 1000 times the cost in EUR. Corrected mode uses
//     Series.Cost instead.
//
// Each row is joined on its own, so unsorted or NULL epochs do no harm.
// epochs and energyUsed must have the same length. A nil or empty series
// gives all NULL.
func CompatColumns(epochs, energyUsed []float64, s *Series) (price, cost []float64) {
	if len(epochs) != len(energyUsed) {
		panic(fmt.Sprintf("pricing.CompatColumns: %d epochs but %d energy values", len(epochs), len(energyUsed)))
	}
	n := len(epochs)
	price = make([]float64, n)
	cost = make([]float64, n)
	for i, t := range epochs {
		price[i] = math.NaN()
		if s != nil && !math.IsNaN(t) {
			price[i] = s.nearest(t)
		}
	}
	interpolateByPosition(price)
	for i := range cost {
		cost[i] = energyUsed[i] / 3.6e6 * price[i]
	}
	return price, cost
}

// nearest is the value of the point (interval start) nearest to t, ties
// to the earlier one; NaN for an empty series.
func (s *Series) nearest(t float64) float64 {
	if len(s.iv) == 0 {
		return math.NaN()
	}
	j := sort.Search(len(s.iv), func(i int) bool { return s.iv[i].Start > t })
	switch {
	case j == 0:
		return s.iv[0].Value
	case j == len(s.iv):
		return s.iv[j-1].Value
	}
	if t-s.iv[j-1].Start <= s.iv[j].Start-t {
		return s.iv[j-1].Value
	}
	return s.iv[j].Value
}

// interpolateByPosition fills each run of NaN between two numbers with the
// line between them over the row positions: low + k*((high-low)/gap).
func interpolateByPosition(v []float64) {
	prev := -1
	for i, x := range v {
		if math.IsNaN(x) {
			continue
		}
		if prev >= 0 && i-prev > 1 {
			low, high := v[prev], x
			step := (high - low) / float64(i-prev)
			for k := 1; k < i-prev; k++ {
				v[prev+k] = low + float64(k)*step
			}
		}
		prev = i
	}
}
