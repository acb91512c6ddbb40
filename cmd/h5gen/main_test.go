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
	// A renamed power group beside a minor Energy dataset, and a bomb.
	other := filepath.Join(dir, "other")
	if err := run([]string{"-q", "-out", other, "-energy", "xcc", "-energy-group", "XCC", "-minor-power", "30", "-rows", "20"}); err != nil {
		t.Fatal(err)
	}
	f, err = hdf5.ReadFile(filepath.Join(other, "12345_0_node01.h5"), hdf5.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if it, ok := f.Lookup("/node01/XCC"); !ok || !it.Dataset.HasField("CurrPower") {
		t.Errorf("no XCC dataset with CurrPower")
	}
	if it, ok := f.Lookup("/node01/Energy"); !ok || !it.Dataset.HasField("Power") {
		t.Errorf("no minor Energy dataset with Power")
	}
	bomb := filepath.Join(dir, "bomb")
	if err := run([]string{"-q", "-out", bomb, "-bomb", "1073741824"}); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(bomb, "12345_0_node01.h5")
	st, err := os.Stat(p)
	if err != nil || st.Size() > 1<<20 {
		t.Fatalf("bomb file: %v, %d bytes", err, st.Size())
	}
	r, err := hdf5.Open(p, hdf5.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if b, rows := r.Declared(); b < 1<<30-1<<20 || rows < 1<<30/24-1 {
		t.Errorf("bomb declares %d bytes, %d rows; want about 1 GiB", b, rows)
	}
	for _, bad := range [][]string{
		{"-layout", "flat"}, {"-energy", "gpu:x"}, {"-start", "yesterday"}, {"-rows", "-1"}, {"extra"}, {"-nosuchflag"},
	} {
		if err := run(append([]string{"-q", "-out", dir}, bad...)); err == nil {
			t.Errorf("%s accepted", strings.Join(bad, " "))
		}
	}
}
