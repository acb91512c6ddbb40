package function

import (
	"os"
	"testing"

	"github.com/benchwrap/backend/shared/fnhttp/fnhttptest"
)

// Tests that need no servers; the Dockerfile runs these. The rest are in
// the end-to-end tests of the local stack.
func TestWebhookAuthAndShape(t *testing.T) {
	if os.Getenv("WEBHOOK_TOKEN") == "" {
		t.Setenv("WEBHOOK_TOKEN", "unit-test-webhook-token-of-32-bytes-or-more")
	}
	token := os.Getenv("WEBHOOK_TOKEN")
	event := `{"Records":[{"eventName":"s3:ObjectCreated:Put","s3":{"bucket":{"name":"b"},"object":{"key":"alice%2Fx.h5","eTag":"e"}}}]}`
	for _, c := range []struct {
		name, auth, body string
		status           int
	}{
		{"no token", "", event, 401},
		{"wrong token", "Bearer nope", event, 401},
		{"token without scheme", token, event, 401},
		{"not JSON", "Bearer " + token, "hello", 400},
		{"no Records", "Bearer " + token, `{"EventName":"x"}`, 400},
		{"nothing to analyse", "Bearer " + token, `{"Records":[{"eventName":"s3:ObjectRemoved:Delete","s3":{"bucket":{"name":"b"},"object":{"key":"alice%2Fx.h5"}}}]}`, 200},
	} {
		r := fnhttptest.Call(t, fnhttptest.New(t, New), "POST", "", c.body, "Authorization", c.auth)
		if r.Status != c.status {
			t.Errorf("%s: %d %s", c.name, r.Status, r.Raw)
		}
		if c.status == 200 && (r.JSON["accepted"] != 0.0 || len(r.JSON["objects"].([]any)) != 0) {
			t.Errorf("%s: %s", c.name, r.Raw)
		}
	}
	if r := fnhttptest.Call(t, fnhttptest.New(t, New), "GET", "", ""); r.Status != 405 {
		t.Fatalf("GET: %d %s", r.Status, r.Raw)
	}
}
