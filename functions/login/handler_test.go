package function

import (
	"testing"

	"github.com/benchwrap/backend/shared/fnhttp/fnhttptest"
)

// Tests that need no servers; the Dockerfile runs these. The rest are in
// cmd/internal/functiontest/auth_test.go (build tag integration, run by make test).
func TestOnlyPOST(t *testing.T) { fnhttptest.ExpectOnly(t, fnhttptest.New(t, New), "POST") }
