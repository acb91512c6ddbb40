package function

import (
	"testing"

	"github.com/benchwrap/backend/shared/fnhttp/fnhttptest"
)

// Tests that need no servers; the Dockerfile runs these. The rest are in
// cmd/internal/functiontest/storage_test.go (build tag integration, run by make test).
func TestAuthComesFirst(t *testing.T) {
	fnhttptest.ExpectAuthFirst(t, fnhttptest.New(t, New), "GET", "")
	fnhttptest.ExpectOnly(t, fnhttptest.New(t, New), "GET")
}
