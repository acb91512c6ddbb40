package hdf5_test

import (
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/benchwrap/backend/shared/hdf5"
	"github.com/benchwrap/backend/shared/hdf5/gen"
	"github.com/benchwrap/backend/shared/profile"
)

const bigRows = 2_000_000

var (
	bigOnce sync.Once
	bigDir  string
	bigPath string
	bigTree *profile.Group
	bigErr  error
)

// bigFile writes (once per test binary) a node-step file whose Energy
// dataset has 2,000,000 rows x 3 u64 members, Slurm's physical layout.
func bigFile(b *testing.B) (string, *profile.Group) {
	b.Helper()
	bigOnce.Do(func() {
		bigDir, bigErr = os.MkdirTemp("", "hdf5bench")
		if bigErr != nil {
			return
		}
		s := gen.Default()
		s.Rows = bigRows
		s.Series = []string{gen.SeriesEnergy}
		s.Jitter = 0.3
		var files []gen.File
		files, bigErr = gen.Generate(s)
		if bigErr != nil {
			return
		}
		bigTree = files[0].Root
		bigPath = filepath.Join(bigDir, files[0].Name)
		start := time.Now()
		bigErr = hdf5.WriteFile(bigPath, bigTree, hdf5.WriteOptions{})
		b.Logf("wrote %d rows in %v", bigRows, time.Since(start))
	})
	if bigErr != nil {
		b.Fatal(bigErr)
	}
	return bigPath, bigTree
}

func TestMain(m *testing.M) {
	code := m.Run()
	if bigDir != "" {
		os.RemoveAll(bigDir)
	}
	if fuzzDir != "" {
		os.RemoveAll(fuzzDir)
	}
	os.Exit(code)
}

// BenchmarkRead2M opens the file, walks it and loads the 2M-row Energy
// dataset (one H5Dread per 1 MiB block, then split into 3 columns).
func BenchmarkRead2M(b *testing.B) {
	path, tree := bigFile(b)
	want := tree.Items[0].Group.Items[0].Dataset
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r, err := hdf5.Open(path, hdf5.Options{})
		if err != nil {
			b.Fatal(err)
		}
		ds := r.File().Datasets()[0]
		if err := r.Load(ds); err != nil {
			b.Fatal(err)
		}
		if ds.Rows != bigRows {
			b.Fatalf("rows %d", ds.Rows)
		}
		if i == 0 {
			b.StopTimer()
			for j := range want.Columns {
				if !equalColumn(&want.Columns[j], &ds.Columns[j]) {
					b.Fatalf("column %s differs", want.Columns[j].Name)
				}
			}
			b.StartTimer()
		}
		r.Close()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/bigRows, "ns/row")
}

// BenchmarkWrite2M writes the same 2M-row file.
func BenchmarkWrite2M(b *testing.B) {
	_, tree := bigFile(b)
	dir := b.TempDir()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := hdf5.WriteFile(filepath.Join(dir, "w.h5"), tree, hdf5.WriteOptions{}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/bigRows, "ns/row")
}

func equalColumn(a, b *profile.Column) bool {
	if a.Name != b.Name || a.Kind != b.Kind || a.Size != b.Size || a.Len() != b.Len() {
		return false
	}
	for i := 0; i < a.Len(); i++ {
		switch a.Kind {
		case profile.Uint:
			if a.U[i] != b.U[i] {
				return false
			}
		case profile.Int:
			if a.I[i] != b.I[i] {
				return false
			}
		default:
			x, y := a.F[i], b.F[i]
			if x != y && !(x != x && y != y) {
				return false
			}
		}
	}
	return true
}
