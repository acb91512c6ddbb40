package function

import (
	"testing"

	"github.com/benchwrap/backend/shared/testenv"
)

// Tests that need no servers; the Dockerfile runs these. The rest are in
// handler_integration_test.go (build tag integration, run by make test).
func TestOnlyPOST(t *testing.T) { testenv.ExpectOnly(t, Handle, "POST") }
