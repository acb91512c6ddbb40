package hdf5_test

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/benchwrap/backend/shared/hdf5"
	"github.com/benchwrap/backend/shared/profile"
)

var (
	fuzzOnce sync.Once
	fuzzDir  string
)

// FuzzReadFile writes the input to a file and opens, walks and loads all of
// it with tight limits, isolated as the services open uploads (a file that
// crashes libhdf5 while its metadata is walked only kills the child). It
// must never crash or hang: a watchdog turns an input that runs for more
// than 20 s into a crash the fuzzer records.
func FuzzReadFile(f *testing.F) {
	// Seeds: the test files up to 16 KiB (the fuzzer minimises every input
	// that reaches new Go code, which takes long on big inputs).
	seeds, _ := filepath.Glob("testdata/fixtures/*.h5")
	more, _ := filepath.Glob("testdata/*.h5")
	regress, _ := filepath.Glob("testdata/regress/*.h5")
	for _, p := range append(append(seeds, more...), regress...) {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		if len(b) <= 16<<10 {
			f.Add(b)
		}
	}
	fuzzOnce.Do(func() {
		d, err := os.MkdirTemp("", "hdf5fuzz")
		if err != nil {
			f.Fatal(err)
		}
		fuzzDir = d
	})
	path := filepath.Join(fuzzDir, fmt.Sprintf("in-%d.h5", os.Getpid()))
	opt := hdf5.Options{MaxRows: 1 << 20, MaxBytes: 64 << 20, MaxColumns: 256,
		MaxChunkBytes: 8 << 20, MaxObjects: 2000, MaxDepth: 16, Isolate: true}
	f.Fuzz(func(t *testing.T, data []byte) {
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		watchdog := time.AfterFunc(20*time.Second, func() {
			panic(fmt.Sprintf("FuzzReadFile: input of %d bytes still running after 20s", len(data)))
		})
		defer watchdog.Stop()
		r, err := hdf5.Open(path, opt)
		if err != nil {
			if _, ok := profile.AsFileError(err); !ok {
				t.Fatalf("not a FileError: %v", err)
			}
			return
		}
		f := r.File()
		for _, ds := range f.Datasets() {
			if err := r.Load(ds); err == nil {
				for _, c := range ds.Columns {
					if c.Len() != ds.Rows {
						t.Fatalf("%s: column %s has %d values, rows %d", ds.Path(), c.Name, c.Len(), ds.Rows)
					}
				}
				r.Release(ds)
			} else if _, ok := profile.AsDatasetError(err); !ok {
				t.Fatalf("%s: not a DatasetError: %v", ds.Path(), err)
			}
		}
		_ = f.Problems()
		if err := r.Close(); err != nil {
			t.Fatalf("close: %v", err)
		}
	})
}
