package corrected

import (
	"context"
	"testing"

	"github.com/benchwrap/backend/shared/analysis"
	"github.com/benchwrap/backend/shared/engine"
	"github.com/benchwrap/backend/shared/engine/compat"
	"github.com/benchwrap/backend/shared/engine/internal/enginetest"
	"github.com/benchwrap/backend/shared/hdf5/gen"
)

// TestBombRefused: a file of a few KB whose energy dataset declares 4 GiB
// once decompressed is skipped as too_large in both modes before any of it
// is read (the process's peak RSS grows by less than 300 MB), and the
// engine then analyses an ordinary file normally. A smaller bomb is
// refused by a smaller MaxBytes, and a file whose chunk inflates beyond
// its declared size is stopped while it is read.
func TestBombRefused(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		name    string
		bytes   uint64
		inflate uint64
		opt     engine.Options
	}{
		{"4 GiB, default limits", 4 << 30, 0, engine.Options{}},
		{"256 MiB, MaxBytes 64 MiB", 256 << 20, 0, engine.Options{MaxBytes: 64 << 20}},
		// Declares its rows only; its first chunk inflates to 1 GiB.
		{"chunk inflating to 1 GiB", 0, 1 << 30, engine.Options{}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := openEngine(t, c.opt)
			s := gen.Default()
			s.Series, s.Bomb, s.Inflate = gen.ParseSeries("all"), c.bytes, c.inflate
			paths, _ := corrWrite(t, s)
			good, _ := corrWrite(t, gen.Default())
			enginetest.ResetPeakRSS()
			before := enginetest.PeakRSS()
			for _, mode := range []string{"corrected", "compat"} {
				var res *analysis.Result
				var err error
				if mode == "compat" {
					res, err = e.Compat(ctx, paths[0], compat.Options{})
				} else {
					res, _, err = e.Corrected(ctx, paths[0], Options{})
				}
				if err != nil {
					t.Fatalf("%s: %v", mode, err)
				}
				if res.Skip == nil || res.Skip.Class != analysis.SkipTooLarge {
					t.Fatalf("%s: skip %+v, want too_large", mode, res.Skip)
				}
				t.Logf("%s: %s", mode, res.Skip.Detail)
			}
			if grew := enginetest.PeakRSS() - before; before > 0 && grew > 300<<20 {
				t.Errorf("peak RSS grew by %d MB reading a refused bomb", grew>>20)
			}
			res, _, err := e.Corrected(ctx, good[0], Options{})
			if err != nil || res.Skip != nil || res.Rows == 0 {
				t.Fatalf("the next file: %v %+v", err, res)
			}
		})
	}
}
