package storage

import "testing"

func TestDownloadKeyKeepsResultsFolders(t *testing.T) {
	s := &Service{}
	for name, want := range map[string]string{
		"run.h5":                                "alice/run.h5",
		"a/b.h5":                                "alice/a_b.h5",
		"results/20005/summary.parquet":         "alice/results/20005/summary.parquet",
		"results/20005/tables/x y.parquet":      "alice/results/20005/tables/x_y.parquet",
		"results/../../bob/results/1/s.parquet": "",
		"results//x":                            "",
	} {
		got, err := s.downloadKey("alice", name)
		if want == "" {
			if err == nil {
				t.Errorf("%q: accepted as %q", name, got)
			}
			continue
		}
		if err != nil || got != want {
			t.Errorf("%q: %q %v, want %q", name, got, err, want)
		}
	}
}
