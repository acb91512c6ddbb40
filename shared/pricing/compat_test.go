package pricing

import (
	"math"
	"testing"
)

func TestCompatColumns(t *testing.T) {
	nan := math.NaN()
	// Quarter-hour points at 0, 900, 1800 (null) and 2700 s.
	s := stepsOf(t, []float64{0, 900, 1800, 2700}, []float64{10, 20, nan, 40}, 3600)
	rows := []struct {
		epoch, energy float64
		price, cost   float64 // by hand
	}{
		{nan, 1e6, nan, nan},    // no epoch, and no known price before it: stays NULL
		{-100, 3.6e6, 10, 10},   // before the first point: nearest is 0
		{0, nan, 10, nan},       // NULL energy: NULL cost
		{449, 3.6e6, 10, 10},    // 449 from 0, 451 from 900
		{450, 7.2e6, 10, 20},    // a tie goes to the earlier point
		{451, 3.6e6, 20, 20},    // nearer 900
		{1800, 3.6e6, nan, nan}, // the null point: interpolated below
		{1900, 3.6e6, nan, nan}, // nearest 1800, null too
		{2400, 1.8e6, 40, 20},   // 600 from 1800, 300 from 2700
		{nan, 3.6e6, nan, 40},   // between 40 and 40
		{5000, 0, 40, 0},        // after the last point: the last
	}
	// Rows 6 and 7 lie between 20 (row 5) and 40 (row 8), three positions
	// apart: 20 + k*(20/3).
	rows[6].price, rows[6].cost = 20+1*(20.0/3), 20+1*(20.0/3)
	rows[7].price, rows[7].cost = 20+2*(20.0/3), 20+2*(20.0/3)
	rows[9].price = 40
	epochs, energy := make([]float64, len(rows)), make([]float64, len(rows))
	for i, r := range rows {
		epochs[i], energy[i] = r.epoch, r.energy
	}
	price, cost := CompatColumns(epochs, energy, s)
	for i, r := range rows {
		if !sameNum(price[i], r.price) || !sameNum(cost[i], r.cost) {
			t.Errorf("row %d (epoch %v): price %v cost %v; want %v, %v", i, r.epoch, price[i], cost[i], r.price, r.cost)
		}
	}
}

// sameNum is equality with NaN equal to NaN and a relative tolerance for
// the interpolated values.
func sameNum(a, b float64) bool {
	if math.IsNaN(a) || math.IsNaN(b) {
		return math.IsNaN(a) && math.IsNaN(b)
	}
	return near(a, b)
}

func TestCompatColumnsUnitSlip(t *testing.T) {
	// 3.6e6 J (1 kWh) at 100 EUR/MWh costs 0.1 EUR, but the original's
	// formula gives 100: J / 3.6e6 (kWh) times EUR per MWh.
	s, _ := Fixed{EURPerKWh: 0.1}.Series(t.Context(), zeroTime, zeroTime)
	price, cost := CompatColumns([]float64{t0}, []float64{3.6e6}, s)
	if price[0] != 100 || cost[0] != 100 {
		t.Fatalf("price %v cost %v; want 100, 100", price[0], cost[0])
	}
}

func TestCompatColumnsNoSeries(t *testing.T) {
	for _, s := range []*Series{nil, {}} {
		price, cost := CompatColumns([]float64{1, 2}, []float64{3, 4}, s)
		for i := range price {
			if !math.IsNaN(price[i]) || !math.IsNaN(cost[i]) {
				t.Fatalf("got %v %v; want NULLs", price, cost)
			}
		}
	}
}

func TestCompatColumnsLengths(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("no panic on different lengths")
		}
	}()
	CompatColumns([]float64{1}, nil, nil)
}
