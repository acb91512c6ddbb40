package hdf5_test

import (
	"path/filepath"
	"sync"
	"testing"

	"github.com/benchwrap/backend/shared/hdf5"
	"github.com/benchwrap/backend/shared/hdf5/gen"
	"github.com/benchwrap/backend/shared/profile"
)

// TestPrefetch: a prefetched dataset is read once, whether its Load comes
// after the prefetch or during it; a prefetch the budget cannot hold does
// nothing (no error recorded, the later Load succeeds once room is made);
// a dataset used and released is not read again; the budget ends where it
// started.
func TestPrefetch(t *testing.T) {
	s := gen.Default()
	s.Rows, s.TasksPerNode = 3000, 2
	out, err := gen.Write(t.TempDir(), s)
	if err != nil {
		t.Fatal(err)
	}
	open := func(maxBytes int64) (*hdf5.Reader, *profile.Dataset, *profile.Dataset) {
		r, err := hdf5.Open(out[0], hdf5.Options{MaxBytes: maxBytes})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { r.Close() })
		f := r.File()
		energy, ok := f.Lookup(filepath.Join("/", s.NodeName(0), "Energy"))
		task, ok2 := f.Lookup(filepath.Join("/", s.NodeName(0), "Tasks", "0"))
		if !ok || !ok2 {
			t.Fatal("datasets not found")
		}
		return r, energy.Dataset, task.Dataset
	}
	reads := func() int64 { return hdf5.SetDirect(true) }

	// After, and during.
	r, energy, task := open(0)
	before := reads()
	if !r.Prefetch(energy) || !energy.Loaded {
		t.Fatal("prefetch did not load")
	}
	if err := r.Load(energy); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Go(func() { r.Prefetch(task) })
	if err := r.Load(task); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	if n := reads() - before; n != 2 {
		t.Errorf("%d reads for two datasets", n)
	}
	// Released: not read again.
	r.Release(task)
	if !r.Prefetch(task) || task.Loaded {
		t.Error("a released dataset was prefetched again")
	}

	// A budget that holds one dataset at a time.
	need := int64(energy.Rows * len(energy.Columns) * 8)
	r, energy, task = open(need)
	if err := r.Load(energy); err != nil {
		t.Fatal(err)
	}
	if r.Prefetch(task) || task.Loaded || task.Err != nil {
		t.Fatalf("prefetch beyond the budget: loaded %v, err %v", task.Loaded, task.Err)
	}
	r.Release(energy)
	if err := r.Load(task); err != nil {
		t.Fatalf("load after the release: %v", err)
	}
	r.Release(task)
	if err := r.Load(energy); err != nil {
		t.Fatalf("the budget did not return to its start: %v", err)
	}
}
