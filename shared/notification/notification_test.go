package notification

import (
	"errors"
	"os"
	"strings"
	"testing"
)

// testdata/minio-event.json is a notification exactly as MinIO sent it.
func TestParseCapturedEvent(t *testing.T) {
	body, err := os.ReadFile("testdata/minio-event.json")
	if err != nil {
		t.Fatal(err)
	}
	ev, bad, err := Parse(body)
	if err != nil || len(bad) != 0 || len(ev) != 1 {
		t.Fatalf("Parse = %v, %v, %v", ev, bad, err)
	}
	want := Event{Name: "s3:ObjectCreated:Put", Bucket: "feas", Key: "runs/run-001/sample.h5",
		ETag: "0396beb7fa83ba853e7fe6422eea4120", Size: 5000, Sequencer: "18EC602712AE2BDA"}
	if ev[0] != want {
		t.Errorf("got %+v\nwant %+v", ev[0], want)
	}
	if !ev[0].Created() || !ev[0].IsProfile() {
		t.Error("classification")
	}
}

func TestParse(t *testing.T) {
	for _, c := range []struct {
		body            string
		events, bad     int
		notNotification bool
	}{
		{`not json`, 0, 0, true},
		{`[]`, 0, 0, true},
		{`{}`, 0, 0, true},
		{`{"Records": []}`, 0, 0, false},
		{`{"Records": [{"eventName":"s3:ObjectRemoved:Delete","s3":{"bucket":{"name":"b"},"object":{"key":"a%2Fx.h5"}}}]}`, 1, 0, false},
		{`{"Records": [{"s3":{"bucket":{"name":"b"}}}]}`, 0, 1, false},
		{`{"Records": [{"s3":{"bucket":{"name":"b"},"object":{"key":"bad%zz"}}}]}`, 0, 1, false},
		{`{"Records": [5]}`, 0, 1, false},
	} {
		ev, bad, err := Parse([]byte(c.body))
		if errors.Is(err, ErrNotNotification) != c.notNotification || len(ev) != c.events || len(bad) != c.bad {
			t.Errorf("%s: %v %v %v", c.body, ev, bad, err)
		}
	}
	ev, _, _ := Parse([]byte(`{"Records":[{"eventName":"s3:ObjectCreated:Put","s3":{"bucket":{"name":"b"},"object":{"key":"alice%2Fmy+run%C3%A9.h5","eTag":"\"abc\""}}}]}`))
	if ev[0].Key != "alice/my runé.h5" || ev[0].ETag != "abc" {
		t.Errorf("decoded %+v", ev[0])
	}
}

func TestValidSequencer(t *testing.T) {
	for s, want := range map[string]bool{"": true, "18EC602712AE2BDB": true, "ff": true, "zz": false, "1 2": false,
		"0123456789abcdef0123456789abcdef0": false, "-1": false} {
		if ValidSequencer(s) != want {
			t.Errorf("ValidSequencer(%q) != %v", s, want)
		}
	}
}

func TestKeyProblem(t *testing.T) {
	for key, bad := range map[string]bool{
		"alice/run.h5":        false,
		"alice/../bob/run.h5": true,
		"alice/run.out":       true,
		"alice/nul\x00.h5":    true,
		"alice/" + strings.Repeat("a", 1020) + ".h5": true,
		"alice/" + strings.Repeat("a", 1014) + ".h5": false,
	} {
		if (KeyProblem(key) != "") != bad {
			t.Errorf("KeyProblem(%q) = %q", key, KeyProblem(key))
		}
	}
}

func TestParseRejectsMalformedSequencer(t *testing.T) {
	ev, bad, err := Parse([]byte(`{"Records":[{"eventName":"s3:ObjectCreated:Put","s3":{"bucket":{"name":"b"},"object":{"key":"alice%2Fx.h5","sequencer":"ZZZZ"}}}]}`))
	if err != nil || len(ev) != 0 || len(bad) != 1 || bad[0].Key != "alice/x.h5" || bad[0].Bucket != "b" {
		t.Fatalf("%v %v %v", ev, bad, err)
	}
}
