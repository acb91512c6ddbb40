package function

import (
	"testing"

	"github.com/benchwrap/backend/shared/fnhttp/fnhttptest"
)

// Tests that need no servers; the Dockerfile runs these. The rest are in
// cmd/internal/functiontest/presign (build tag integration, run by make test).
func TestAuthComesFirst(t *testing.T) {
	fnhttptest.ExpectAuthFirst(t, Handle, "POST", "object_name=x.h5")
	fnhttptest.ExpectAuthFirst(t, Handle, "GET", "object_name=x.h5")
	fnhttptest.ExpectOnly(t, Handle, "GET, POST")
}
