package analyzer

import (
	"context"
	"errors"
	"fmt"
	"math"
	"testing"
)

// floatRows is a two-column source that can give its rows either way.
type floatRows [][2]float64

func (f floatRows) ScanRows(ctx context.Context, fn func([]any) error) error {
	for _, r := range f {
		if err := fn([]any{r[0], r[1]}); err != nil {
			return err
		}
	}
	return nil
}

func (f floatRows) ScanFloatRows(ctx context.Context, fn func([]string, []float64) error) (bool, error) {
	for _, r := range f {
		if err := fn(nil, r[:]); err != nil {
			return true, err
		}
	}
	return true, nil
}

// TestWithColumnsBothWays: the priced columns come the same boxed and
// unboxed (NULL as nil, NaN), and a source longer than the columns fails.
func TestWithColumnsBothWays(t *testing.T) {
	nan := math.NaN()
	w := withColumns{src: floatRows{{1, 2}, {3, 4}}, cols: [][]float64{{10, nan}, {nan, 20}}}
	var boxed, unboxed []string
	if err := w.ScanRows(context.Background(), func(r []any) error {
		boxed = append(boxed, fmt.Sprint(r...))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	ok, err := w.ScanFloatRows(context.Background(), func(texts []string, v []float64) error {
		r := make([]any, len(v))
		for i, x := range v {
			if !math.IsNaN(x) {
				r[i] = x
			}
		}
		unboxed = append(unboxed, fmt.Sprint(r...))
		return nil
	})
	if !ok || err != nil {
		t.Fatalf("unboxed: %v %v", ok, err)
	}
	want := []string{"1 2 10 <nil>", "3 4 <nil> 20"}
	if fmt.Sprint(boxed) != fmt.Sprint(want) || fmt.Sprint(unboxed) != fmt.Sprint(want) {
		t.Errorf("boxed %q, unboxed %q, want %q", boxed, unboxed, want)
	}
	short := withColumns{src: floatRows{{1, 2}, {3, 4}}, cols: [][]float64{{1}, {2}}}
	if _, err := short.ScanFloatRows(context.Background(), func([]string, []float64) error { return nil }); !errors.Is(err, errRowCount) {
		t.Errorf("longer source: %v", err)
	}
}
