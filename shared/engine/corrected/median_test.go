package corrected

import (
	"math"
	"math/rand/v2"
	"sort"
	"testing"
)

// TestMedianEqualsSorted: the linear-time median equals the median of the
// sorted values, on regular, jittered, duplicated, tiny, huge and
// subnormal intervals, odd and even counts.
func TestMedianEqualsSorted(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 5))
	gens := map[string]func(i int) float64{
		"regular":   func(int) float64 { return 1 },
		"jitter":    func(int) float64 { return 1 + r.Float64()*1.5 },
		"dups-gaps": func(i int) float64 { return float64(r.IntN(4)) * 10 },
		"wide":      func(int) float64 { return math.Ldexp(r.Float64(), r.IntN(2000)-1000) },
		"subnormal": func(int) float64 { return math.SmallestNonzeroFloat64 * float64(r.IntN(9)) },
		"negzero":   func(i int) float64 { return math.Copysign(0, -1) * float64(i%2) },
	}
	for name, g := range gens {
		for _, n := range []int{1, 2, 3, 10, 1001, 70000, 70001} {
			d := make([]float64, n)
			for i := range d {
				d[i] = g(i)
			}
			s := append([]float64(nil), d...)
			sort.Float64s(s)
			want := s[n/2]
			if n%2 == 0 {
				want = (s[n/2-1] + s[n/2]) / 2
			}
			if got := median(d); got != want {
				t.Errorf("%s n=%d: median %v, sorted %v", name, n, got, want)
			}
		}
	}
}
