package hdf5_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/benchwrap/backend/shared/hdf5"
	"github.com/benchwrap/backend/shared/hdf5/gen"
	"github.com/benchwrap/backend/shared/profile"
)

// sameTree reports the first difference between a written tree and what was
// read back: item order and names, attributes, columns and values.
func sameTree(t testing.TB, want, got *profile.Group) {
	t.Helper()
	if len(want.Attrs) != len(got.Attrs) {
		t.Errorf("%s: %d attrs, want %d", got.Path(), len(got.Attrs), len(want.Attrs))
	}
	for i := range want.Attrs {
		w := &want.Attrs[i]
		g, ok := got.Attr(w.Name)
		if !ok || g.Kind != w.Kind || g.Len() != w.Len() {
			t.Errorf("%s: attr %q = %+v, want %+v", got.Path(), w.Name, g, w)
			continue
		}
		switch w.Kind {
		case profile.AttrString:
			if g.Strings[0] != w.Strings[0] || g.Size != len(w.Strings[0]) {
				t.Errorf("%s: attr %q = %q (size %d), want %q", got.Path(), w.Name, g.Strings[0], g.Size, w.Strings[0])
			}
		case profile.AttrInt:
			if g.Ints[0] != w.Ints[0] || g.Size != 4 {
				t.Errorf("%s: attr %q = %d (size %d), want %d", got.Path(), w.Name, g.Ints[0], g.Size, w.Ints[0])
			}
		}
	}
	if len(want.Items) != len(got.Items) {
		t.Fatalf("%s: %d items, want %d", got.Path(), len(got.Items), len(want.Items))
	}
	for i, wi := range want.Items {
		gi := got.Items[i]
		if wi.Name() != gi.Name() {
			t.Fatalf("%s: item %d is %q, want %q", got.Path(), i, gi.Name(), wi.Name())
		}
		switch {
		case wi.Group != nil:
			if gi.Group == nil {
				t.Fatalf("%s/%s: not a group", got.Path(), wi.Name())
			}
			sameTree(t, wi.Group, gi.Group)
		case wi.Dataset != nil:
			wd, gd := wi.Dataset, gi.Dataset
			if gd == nil || gd.Err != nil || !gd.Loaded {
				t.Fatalf("%s/%s: %+v", got.Path(), wi.Name(), gd)
			}
			if len(gd.Columns) != len(wd.Columns) {
				t.Fatalf("%s: %d columns, want %d", gd.Path(), len(gd.Columns), len(wd.Columns))
			}
			for j := range wd.Columns {
				if !equalColumn(&wd.Columns[j], &gd.Columns[j]) {
					t.Errorf("%s: column %s differs", gd.Path(), wd.Columns[j].Name)
				}
			}
		}
	}
}

// TestGeneratorRoundTrip: generator -> writer -> reader gives back exactly
// what was generated, for both layouts and every generator feature.
func TestGeneratorRoundTrip(t *testing.T) {
	specs := map[string]func(*gen.Spec){
		"default": func(s *gen.Spec) {},
		"merged-all": func(s *gen.Spec) {
			s.Layout = gen.Merged
			s.Batch = true
			s.Steps = 2
			s.Nodes = 2
			s.TasksPerNode = 2
			s.Series = gen.ParseSeries("all")
		},
		"node-step-multi": func(s *gen.Spec) {
			s.Batch = true
			s.Steps = 2
			s.Nodes = 3
			s.Series = gen.ParseSeries("all")
			s.Jitter, s.Gaps, s.Dups = 0.6, 0.05, 0.05
		},
		"xcc":        func(s *gen.Spec) { s.Energy = gen.EnergyXCC; s.Power = gen.Ramp; s.EnergyOffset = 75_000_000 },
		"gpu4":       func(s *gen.Spec) { s.Energy = gen.EnergyGPU; s.GPUs = 4; s.Power = gen.Step },
		"power":      func(s *gen.Spec) { s.Energy = gen.EnergyPower; s.Power = gen.Constant },
		"counter":    func(s *gen.Spec) { s.Energy = gen.EnergyCounter; s.EnergyOffset = 1 << 40; s.EnergyReset = 100 },
		"fractional": func(s *gen.Spec) { s.Fractional = true; s.Jitter = 0.9; s.Series = gen.ParseSeries("all") },
		"old-tasks":  func(s *gen.Spec) { s.TaskFields = 10; s.TasksPerNode = 4; s.CPUsPerTask = 4 },
		"zero-rows":  func(s *gen.Spec) { s.Rows = 0 },
	}
	for name, mod := range specs {
		t.Run(name, func(t *testing.T) {
			s := gen.Default()
			s.Rows = 157
			s.Seed = 42
			mod(&s)
			files, err := gen.Generate(s)
			if err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			paths, err := gen.Write(dir, s)
			if err != nil {
				t.Fatal(err)
			}
			if len(paths) != len(files) {
				t.Fatalf("%d paths for %d files", len(paths), len(files))
			}
			for i, f := range files {
				if filepath.Base(paths[i]) != f.Name {
					t.Fatalf("path %s, want %s", paths[i], f.Name)
				}
				got := mustRead(t, paths[i], hdf5.Options{})
				sameTree(t, f.Root, got.Root)
			}
		})
	}
}

// BenchmarkRoundTrip2M generates, writes and reads back a 2M-row file and
// checks equality (in a benchmark because it takes seconds).
func BenchmarkRoundTrip2M(b *testing.B) {
	s := gen.Default()
	s.Rows = bigRows
	s.Series = gen.ParseSeries("all")
	s.Jitter = 0.4
	dir := b.TempDir()
	for i := 0; i < b.N; i++ {
		files, err := gen.Generate(s)
		if err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		paths, err := gen.Write(dir, s)
		if err != nil {
			b.Fatal(err)
		}
		wrote := time.Since(start)
		start = time.Now()
		f, err := hdf5.ReadFile(paths[0], hdf5.Options{})
		if err != nil {
			b.Fatal(err)
		}
		read := time.Since(start)
		st, _ := os.Stat(paths[0])
		b.Logf("2M rows: file %d MB, write %v, read %v", st.Size()>>20, wrote, read)
		sameTree(b, files[0].Root, f.Root)
	}
}
