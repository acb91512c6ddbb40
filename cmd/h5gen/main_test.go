package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/benchwrap/backend/shared/hdf5"
)

func TestRun(t *testing.T) {
	dir := t.TempDir()
	args := []string{"-q", "-out", dir, "-layout", "merged", "-job", "77", "-batch", "-steps", "2", "-nodes", "2",
		"-rows", "50", "-series", "all", "-energy", "gpu:2", "-power", "ramp", "-jitter", "0.5", "-seed", "3"}
	if err := run(args); err != nil {
		t.Fatal(err)
	}
	f, err := hdf5.ReadFile(filepath.Join(dir, "job_77.h5"), hdf5.Options{})
	if err != nil {
		t.Fatal(err)
	}
	it, ok := f.Lookup("/Steps/1/Nodes/node02/Energy")
	if !ok || it.Dataset.Rows != 50 || !it.Dataset.HasField("GPU1Power") {
		t.Fatalf("%+v", it.Dataset)
	}
	if err := run([]string{"-q", "-out", dir, "-layout", "node-step", "-nodes", "2", "-fractional", "-energy", "xcc"}); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"12345_0_node01.h5", "12345_0_node02.h5"} {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			t.Error(err)
		}
	}
	for _, bad := range [][]string{
		{"-layout", "flat"}, {"-energy", "gpu:x"}, {"-start", "yesterday"}, {"-rows", "-1"}, {"extra"}, {"-nosuchflag"},
	} {
		if err := run(append([]string{"-q", "-out", dir}, bad...)); err == nil {
			t.Errorf("%s accepted", strings.Join(bad, " "))
		}
	}
}
