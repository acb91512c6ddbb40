package engine_test

import (
	"context"
	"errors"
	"testing"

	"github.com/benchwrap/backend/shared/analysis"
	"github.com/benchwrap/backend/shared/engine"
)

// oneRow is a table of one column and one row.
func oneRow(r *engine.Run) (*engine.Table, error) {
	return &engine.Table{
		Columns: []analysis.Column{{Name: "x", Type: analysis.Float64}},
		Rows:    1,
		Scan:    func(ctx context.Context, fn func([]any) error) error { return fn([]any{1.5}) },
	}, nil
}

func TestRunOutcomes(t *testing.T) {
	e := engine.New(engine.Options{})
	ctx := context.Background()
	boom := errors.New("boom")
	for _, c := range []struct {
		name     string
		p        engine.Pipeline
		skip     analysis.SkipClass // "" when the run gives a table
		runError bool               // the engine's own failure
	}{
		{"table", oneRow, "", false},
		{"skip", func(*engine.Run) (*engine.Table, error) {
			return nil, engine.Skipf(analysis.SkipNoData, "nothing")
		}, analysis.SkipNoData, false},
		{"panic", func(*engine.Run) (*engine.Table, error) { panic("bad file") }, analysis.SkipUnexpected, false},
		{"failure", func(*engine.Run) (*engine.Table, error) { return nil, boom }, "", true},
		{"no table", func(*engine.Run) (*engine.Table, error) { return nil, nil }, "", true},
	} {
		t.Run(c.name, func(t *testing.T) {
			if _, err := e.Run(ctx, analysis.Compat, "/x/1_0_a.h5", "", oneRow); err != nil {
				t.Fatal(err) // a table from an earlier run, which must not survive this one
			}
			res, err := e.Run(ctx, analysis.Compat, "/x/2_0_b.h5", "", c.p)
			if (err != nil) != c.runError {
				t.Fatalf("error %v", err)
			}
			if c.runError {
				if c.name == "failure" && !errors.Is(err, boom) {
					t.Errorf("error %v does not wrap the cause", err)
				}
			} else if c.skip == "" {
				if res.Skip != nil || res.JobID != "2" || res.File != "2_0_b.h5" {
					t.Errorf("result %+v", res)
				}
			} else if res.Skip == nil || res.Skip.Class != c.skip {
				t.Errorf("skip %v, want %s", res.Skip, c.skip)
			}
			var rows int
			err = e.ScanRows(ctx, func([]any) error { rows++; return nil })
			if c.skip == "" && !c.runError {
				if err != nil || rows != 1 {
					t.Errorf("scan: %v, %d rows", err, rows)
				}
			} else if !errors.Is(err, engine.ErrNoTable) {
				t.Errorf("scan after a run without a table: %v", err)
			}
		})
	}
	e.Close()
	if _, err := e.Run(ctx, analysis.Compat, "/x/1_0_a.h5", "", oneRow); err == nil {
		t.Error("a closed engine ran a pipeline")
	}
}
