package analyzer

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/benchwrap/backend/shared/analysis"
	"github.com/benchwrap/backend/shared/pricing"
)

// compatPrices adds the original's optional pricing columns to a compat
// table: Price_EUR_per_MWh (the nearest price of each row's EpochTime,
// gaps filled by row position) and Cumulative_cost_EUR (Energy_used_J /
// 3.6e6 * price, the original's formula, unit slip included). A source
// that fails or has no data leaves both columns NULL and says why in the
// details' warnings; the analysis goes on.
//
// The engine's table is a view computed as it is read, so this reads the
// two input columns once, then appends the computed columns while the
// writer streams the table.
func (a *Analyzer) compatPrices(ctx context.Context, out *Output) error {
	epochCol, usedCol := -1, -1
	for i, c := range out.Columns {
		switch c.Name {
		case "EpochTime":
			epochCol = i
		case "Energy_used_J":
			usedCol = i
		}
	}
	if epochCol < 0 || usedCol < 0 {
		out.Details.Warnings = append(out.Details.Warnings, "pricing: the table has no EpochTime or Energy_used_J column")
		return nil
	}
	epochs := make([]float64, 0, out.Result.Rows)
	used := make([]float64, 0, out.Result.Rows)
	err := a.engine.ScanRows(ctx, func(row []any) error {
		epochs = append(epochs, analysis.Number(row[epochCol]))
		used = append(used, analysis.Number(row[usedCol]))
		return nil
	})
	if err != nil {
		return fmt.Errorf("pricing: read the table: %w", err)
	}
	from, to := math.Inf(1), math.Inf(-1)
	for _, e := range epochs {
		if !math.IsNaN(e) {
			from, to = math.Min(from, e), math.Max(to, e)
		}
	}
	price := make([]float64, len(epochs))
	cost := make([]float64, len(epochs))
	for i := range price {
		price[i], cost[i] = math.NaN(), math.NaN()
	}
	if from <= to {
		s, err := a.cfg.Price.Series(ctx, time.Unix(int64(from), 0), time.Unix(int64(to)+1, 0))
		if err == nil {
			price, cost = pricing.CompatColumns(epochs, used, s)
		} else {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			out.Details.Warnings = append(out.Details.Warnings, "pricing: "+err.Error())
		}
	} else {
		out.Details.Warnings = append(out.Details.Warnings, "pricing: no EpochTime values")
	}
	out.Columns = append(append([]analysis.Column{}, out.Columns...),
		analysis.Column{Name: "Price_EUR_per_MWh", Type: analysis.Float64},
		analysis.Column{Name: "Cumulative_cost_EUR", Type: analysis.Float64})
	out.rows = withColumns{src: out.rows, cols: [][]float64{price, cost}}
	return nil
}

// withColumns appends float columns (NaN as NULL) to each row of src.
var _ analysis.FloatRowSource = withColumns{}

type withColumns struct {
	src  analysis.RowSource
	cols [][]float64
}

var errRowCount = errors.New("pricing: the table changed length between reads")

func (w withColumns) ScanRows(ctx context.Context, fn func([]any) error) error {
	i := 0
	var row []any
	return w.src.ScanRows(ctx, func(r []any) error {
		if i >= len(w.cols[0]) {
			return errRowCount
		}
		row = append(row[:0], r...)
		for _, c := range w.cols {
			if math.IsNaN(c[i]) {
				row = append(row, nil)
			} else {
				row = append(row, c[i])
			}
		}
		i++
		return fn(row)
	})
}

// ScanFloatRows gives the rows unboxed when src can (NaN is NULL there,
// as in the added columns).
func (w withColumns) ScanFloatRows(ctx context.Context, fn func(texts []string, values []float64) error) (bool, error) {
	fs, ok := w.src.(analysis.FloatRowSource)
	if !ok {
		return false, nil
	}
	i := 0
	var vals []float64
	return fs.ScanFloatRows(ctx, func(texts []string, values []float64) error {
		if i >= len(w.cols[0]) {
			return errRowCount
		}
		vals = append(vals[:0], values...)
		for _, c := range w.cols {
			vals = append(vals, c[i])
		}
		i++
		return fn(texts, vals)
	})
}
