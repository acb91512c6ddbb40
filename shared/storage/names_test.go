package storage

import (
	"strings"
	"testing"
)

func TestSanitizeName(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"run.h5", "run.h5"},
		{"a b.csv", "a_b.csv"},
		{"stream_triad/job_123/slurm-123.out", "stream_triad_job_123_slurm-123.out"},
		{"../bob/x", ""},
		{"bob/x", "bob_x"},
		{"/etc/passwd", "_etc_passwd"},
		{"%2F..%2Fbob", ""},
		{"%2Fbob", "_2Fbob"},
		{"é;x", "__x"},
		{"日本.h5", "__.h5"},
		{"", ""},
		{"..", ""},
		{"a..b", ""},
		{strings.Repeat("a", 256), strings.Repeat("a", 256)}, // the client allows 256 characters
		{strings.Repeat("a", 1024), strings.Repeat("a", 1024)},
		{strings.Repeat("a", 1025), ""},
		{strings.Repeat("é", 200), strings.Repeat("_", 200)}, // one '_' per character
	} {
		got, err := SanitizeName(c.in)
		if c.want == "" {
			if err == nil || err.Error() != MsgInvalidName {
				t.Errorf("SanitizeName(%q) = %q, %v; want %q", c.in, got, err, MsgInvalidName)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("SanitizeName(%q) = %q, %v; want %q", c.in, got, err, c.want)
		}
		// Only a long name's parts add slashes, and they map back.
		if name, ok := NameOfKey("alice", Key("alice", got)); !ok || name != got {
			t.Errorf("key for %q leaves the prefix", c.in)
		}
	}
}

func TestSanitizeBenchmark(t *testing.T) {
	if got := SanitizeBenchmark("stream triad\r\nX-Evil: 1"); got != "stream_triad__X-Evil__1" {
		t.Errorf("got %q", got)
	}
	if got := SanitizeBenchmark(strings.Repeat("b", 300)); len(got) != MaxBenchmarkName {
		t.Errorf("len %d", len(got))
	}
}

func TestKeyOfLongNames(t *testing.T) {
	for _, n := range []int{1, 255, 256, 510, 511, 1003} {
		name := strings.Repeat("n", n)
		key := Key("alice", name)
		for _, seg := range strings.Split(key, "/") {
			if len(seg) > MaxSegmentBytes {
				t.Errorf("%d: segment of %d bytes", n, len(seg))
			}
		}
		if n <= MaxSegmentBytes && key != "alice/"+name {
			t.Errorf("%d: short name's key changed: %q", n, key)
		}
		if got, ok := NameOfKey("alice", key); !ok || got != name {
			t.Errorf("%d: NameOfKey = %d bytes, %v", n, len(got), ok)
		}
	}
	if _, ok := NameOfKey("alice", "alice/a/b"); ok {
		t.Error("a key Key does not make was taken for one")
	}
	if _, ok := NameOfKey("alice", "bob/x"); ok {
		t.Error("another prefix was taken")
	}
}
