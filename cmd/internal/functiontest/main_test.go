//go:build integration

package functiontest_test

// Package functiontest holds the functions' integration tests, against
// real PostgreSQL and MinIO: this module already depends on every
// function, and the functions' own modules stay free of the test helpers
// (testkit). Each test builds its own app on servers of its own.

import (
	"testing"

	"github.com/benchwrap/backend/shared/app"
	"github.com/benchwrap/backend/shared/fnhttp/fnhttptest"
	"github.com/benchwrap/backend/testkit/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// function points the functions' settings at a fresh database and bucket
// (testenv.FunctionEnv), builds an app on them and newFunction on that
// app, and returns the app, the bucket and the function's Handle.
func function(t *testing.T, newFunction fnhttptest.Constructor) (*app.App, testenv.Bucket, fnhttptest.Handle) {
	t.Helper()
	b := testenv.FunctionEnv(t)
	a := fnhttptest.App(t)
	return a, b, fnhttptest.Function(t, a, newFunction).Handle
}
