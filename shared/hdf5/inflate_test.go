package hdf5_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/benchwrap/backend/shared/hdf5"
	"github.com/benchwrap/backend/shared/profile"
	"github.com/benchwrap/backend/testkit/testenv"
)

// TestInflatingChunkRefused: a dataset that declares 1,000 rows (in one
// chunk of 1 MiB) but whose chunk is a deflate stream of 512 MiB is
// refused as too large while reading, without the process
// holding the inflated bytes; its other datasets and the same layout
// without the bomb read normally.
func TestInflatingChunkRefused(t *testing.T) {
	dir := t.TempDir()
	tree := func() *profile.Group {
		var ds []*profile.Dataset
		for _, name := range []string{"Energy", "Other"} {
			el := make([]float64, 1000)
			pw := make([]float64, 1000)
			for i := range el {
				el[i], pw[i] = float64(i), 100
			}
			ds = append(ds, &profile.Dataset{Name: name, Compound: true, Columns: []profile.Column{
				{Name: "ElapsedTime", Kind: profile.Float, F: el},
				{Name: "Power", Kind: profile.Float, F: pw},
			}})
		}
		return treeWith(ds...)
	}
	bomb := filepath.Join(dir, "bomb.h5")
	if err := hdf5.WriteFile(bomb, tree(), hdf5.WriteOptions{ChunkRows: 1 << 16, InflateName: "Energy", InflateBytes: 512 << 20}); err != nil {
		t.Fatal(err)
	}
	plain := filepath.Join(dir, "plain.h5")
	if err := hdf5.WriteFile(plain, tree(), hdf5.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(bomb); err != nil || st.Size() > 2<<20 {
		t.Fatalf("bomb: %v, %d bytes", err, st.Size())
	}

	testenv.ResetPeakRSS()
	before, _ := testenv.ProcStatusBytes(os.Getpid(), "VmHWM")
	r, err := hdf5.Open(bomb, hdf5.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	energy := mustDataset(t, r.File(), "/node01/Energy")
	err = r.Load(energy)
	var de *profile.DatasetError
	if !errors.As(err, &de) || de.Class != profile.DatasetTooLarge {
		t.Fatalf("load of the inflating dataset: %v, want too large", err)
	}
	t.Log(err)
	if after, _ := testenv.ProcStatusBytes(os.Getpid(), "VmHWM"); before > 0 && after-before > 64<<20 {
		t.Errorf("peak RSS grew by %d MiB reading the inflating chunk", (after-before)>>20)
	}
	if err := r.Load(mustDataset(t, r.File(), "/node01/Other")); err != nil {
		t.Fatalf("the other dataset: %v", err)
	}

	f := mustRead(t, plain, hdf5.Options{})
	ds := mustDataset(t, f, "/node01/Energy")
	if ds.Err != nil || ds.Rows != 1000 || ds.Columns[1].F[999] != 100 {
		t.Fatalf("plain file: %v, %d rows", ds.Err, ds.Rows)
	}
}

// TestConcurrentReadsKeepTheirLimits: reads let the library lock go
// between blocks, and the inflation cap is process-wide. Files read at
// once must each keep their own cap: the bomb (chunks declared 1 MiB) is
// refused every time, and a plain file whose chunks are 2 MiB, larger
// than the bomb's cap, reads whole with the right values every time.
func TestConcurrentReadsKeepTheirLimits(t *testing.T) {
	dir := t.TempDir()
	const rows = 1 << 19
	el := make([]float64, rows)
	pw := make([]float64, rows)
	for i := range el {
		el[i], pw[i] = float64(i), float64(i%977)
	}
	plain := filepath.Join(dir, "plain.h5")
	if err := hdf5.WriteFile(plain, treeWith(&profile.Dataset{Name: "Energy", Compound: true, Columns: []profile.Column{
		{Name: "ElapsedTime", Kind: profile.Float, F: el},
		{Name: "Power", Kind: profile.Float, F: pw},
	}}), hdf5.WriteOptions{ChunkRows: 1 << 17}); err != nil {
		t.Fatal(err)
	}
	bomb := filepath.Join(dir, "bomb.h5")
	small := []profile.Column{{Name: "ElapsedTime", Kind: profile.Float, F: el[:1000]}, {Name: "Power", Kind: profile.Float, F: pw[:1000]}}
	if err := hdf5.WriteFile(bomb, treeWith(&profile.Dataset{Name: "Energy", Compound: true, Columns: small}),
		hdf5.WriteOptions{ChunkRows: 1 << 16, InflateName: "Energy", InflateBytes: 64 << 20}); err != nil {
		t.Fatal(err)
	}

	load := func(path string) error {
		r, err := hdf5.Open(path, hdf5.Options{})
		if err != nil {
			return err
		}
		defer r.Close()
		ds := mustDataset(t, r.File(), "/node01/Energy")
		if err := r.Load(ds); err != nil {
			return err
		}
		if ds.Rows != rows {
			return fmt.Errorf("%d rows, want %d", ds.Rows, rows)
		}
		for i := 0; i < rows; i += 4099 {
			if ds.Columns[0].F[i] != el[i] || ds.Columns[1].F[i] != pw[i] {
				return fmt.Errorf("row %d: %v %v", i, ds.Columns[0].F[i], ds.Columns[1].F[i])
			}
		}
		return nil
	}
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for g := range 4 {
		wg.Go(func() {
			for range 4 {
				if g%2 == 0 {
					if err := load(plain); err != nil {
						errs <- fmt.Errorf("plain: %w", err)
					}
					continue
				}
				var de *profile.DatasetError
				if err := load(bomb); !errors.As(err, &de) || de.Class != profile.DatasetTooLarge {
					errs <- fmt.Errorf("bomb: %v, want too large", err)
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
