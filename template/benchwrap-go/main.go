// Command handler serves one benchwrap function over HTTP (see
// fnhttp.Main): behind the of-watchdog in mode=http, the image's fprocess
// passes -listen 127.0.0.1:8082; on its own (Knative without the
// watchdog) it listens on :$PORT.
//
// The process's wiring is built here, once: the application (settings;
// pool, keys and services on first use), then the function on it.
// handle.go, written by build.sh next to this file, binds newFunction to
// the function's New.
package main

import (
	"github.com/benchwrap/backend/shared/app"
	"github.com/benchwrap/backend/shared/fnhttp"
)

func main() {
	fnhttp.Main(func() (fnhttp.Function, error) {
		a, err := app.New()
		if err != nil {
			return fnhttp.Function{}, err
		}
		return newFunction(a)
	})
}
