package function

import (
	"os"
	"testing"

	"github.com/benchwrap/backend/shared/testenv"
)

// Tests that need no servers; the Dockerfile runs these. The rest are in
// handler_integration_test.go (build tag integration, run by make test).
func TestAuthComesFirst(t *testing.T) {
	if os.Getenv("JWT_SECRET") == "" {
		t.Setenv("JWT_SECRET", "unit-test-secret-unit-test-secret-0123")
	}
	for _, c := range []struct {
		header, detail string
	}{
		{"", "Missing Authorization header."},
		{"Bearer", "Malformed Authorization header."},
		{"Token abc", "Unsupported authorization scheme."},
		{"Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJhbGljZSJ9.", "Invalid or expired token."},
	} {
		r := testenv.Call(t, Handle, "GET", "object_name=x.h5", "", "Authorization", c.header)
		if r.Status != 401 || r.Detail() != c.detail {
			t.Errorf("%q: %d %s", c.header, r.Status, r.Raw)
		}
	}
	if r := testenv.Call(t, Handle, "DELETE", "", ""); r.Status != 405 {
		t.Errorf("DELETE: %d", r.Status)
	}
}
