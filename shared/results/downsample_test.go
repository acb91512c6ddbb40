package results

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestM4KeepsExtremes(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	n := 100000
	ts := make([]float64, n)
	a, b := make([]float64, n), make([]float64, n)
	for i := range ts {
		ts[i] = float64(i) * 0.5
		a[i] = 200 + r.Float64()*10
		b[i] = r.Float64()
	}
	a[31337], b[777] = 5000, -3 // a spike and a dip
	a[5] = math.NaN()
	for _, points := range []int{10, 100, 2000} {
		got := M4(ts, [][]float64{a, b}, ts[0], ts[n-1], BucketsFor(points, 2), 0, n, nil)
		if len(got) > points {
			t.Errorf("%d points: got %d rows", points, len(got))
		}
		seen := map[int32]bool{}
		for i, g := range got {
			if i > 0 && g <= got[i-1] {
				t.Fatalf("not sorted/unique at %d", i)
			}
			seen[g] = true
		}
		for _, want := range []int32{0, int32(n - 1), 31337, 777} {
			if !seen[want] {
				t.Errorf("%d points: row %d missing", points, want)
			}
		}
	}
	// Restricted to candidate rows, the extremes among them survive.
	got := M4(ts, [][]float64{a}, ts[0], ts[n-1], 4, 0, 0, []int32{1, 2, 31337, 40000})
	if len(got) != 4 {
		t.Errorf("candidates: %v", got)
	}
}
