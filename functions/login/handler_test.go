package function

import (
	"testing"

	"github.com/benchwrap/backend/shared/testenv"
)

// Tests that need no servers; the Dockerfile runs these. The rest are in
// handler_integration_test.go (build tag integration, run by make test).
func TestOnlyPOST(t *testing.T) {
	for _, m := range []string{"GET", "PUT", "DELETE", "PATCH"} {
		r := testenv.Call(t, Handle, m, "", "")
		if r.Status != 405 || r.Detail() != "Method Not Allowed" || r.Header.Get("Allow") != "POST" {
			t.Errorf("%s: %d %v %s", m, r.Status, r.Header, r.Raw)
		}
	}
}
