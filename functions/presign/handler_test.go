package function

import (
	"testing"

	"github.com/benchwrap/backend/shared/testenv"
)

// Tests that need no servers; the Dockerfile runs these. The rest are in
// handler_integration_test.go (build tag integration, run by make test).
func TestAuthComesFirst(t *testing.T) {
	testenv.ExpectAuthFirst(t, Handle, "POST", "object_name=x.h5")
	testenv.ExpectAuthFirst(t, Handle, "GET", "object_name=x.h5")
	testenv.ExpectOnly(t, Handle, "GET, POST")
}
