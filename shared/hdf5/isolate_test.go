package hdf5_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/benchwrap/backend/shared/hdf5"
	"github.com/benchwrap/backend/shared/profile"
)

// Files that crash libhdf5 are reported unreadable when the reader is
// isolated, and this process lives on.
func TestIsolatedOpenSurvivesCrashers(t *testing.T) {
	crashers, _ := filepath.Glob("testdata/crashers/*.h5")
	if len(crashers) == 0 {
		t.Fatal("no crasher files")
	}
	for _, p := range crashers {
		r, err := hdf5.Open(p, hdf5.Options{Isolate: true})
		if err == nil {
			r.Close()
			t.Errorf("%s: opened", p)
			continue
		}
		fe, ok := profile.AsFileError(err)
		if !ok || fe.Class != profile.FileUnreadable || !strings.Contains(err.Error(), "crashed") {
			t.Errorf("%s: %v", p, err)
		}
	}
	// Good files still open, and bad ones keep their class.
	r, err := hdf5.Open("testdata/fixtures/12345_0_node01.h5", hdf5.Options{Isolate: true})
	if err != nil {
		t.Fatal(err)
	}
	r.Close()
	if _, err := hdf5.Open("testdata/fixtures/not_hdf5.h5", hdf5.Options{Isolate: true}); err == nil {
		t.Fatal("not_hdf5 opened")
	} else if fe, _ := profile.AsFileError(err); fe == nil || fe.Class != profile.FileNotHDF5 {
		t.Fatalf("not_hdf5: %v", err)
	}
}
