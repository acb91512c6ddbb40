package duckdb

import (
	"context"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/benchwrap/backend/shared/hdf5/gen"
)

func TestExpSize(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("EXP_ROWS"))
	if n == 0 {
		t.Skip()
	}
	dir := t.TempDir()
	s := gen.Default()
	s.Rows = n
	s.TasksPerNode = 4
	paths, err := gen.Write(dir, s)
	if err != nil {
		t.Fatal(err)
	}
	e, err := New(Options{Threads: expThreads(), Trace: func(q string, d time.Duration) {
		if len(q) > 150 {
			q = q[:150]
		}
		t.Logf("%8.3fs %s", d.Seconds(), q)
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	t0 := time.Now()
	res, err := e.Compat(context.Background(), paths[0], CompatOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("total %v rows %d skip %v", time.Since(t0), res.Rows, res.Skip)
}

func expThreads() int {
	n, _ := strconv.Atoi(os.Getenv("EXP_THREADS"))
	return n
}
