// Command handler serves one benchwrap function over HTTP (see
// fnhttp.Main): behind the of-watchdog in mode=http, the image's fprocess
// passes -listen 127.0.0.1:8082; on its own (Knative without the
// watchdog) it listens on :$PORT.
//
// handle.go, written by build.sh next to this file, binds handle to the
// function's Handle.
package main

import (
	"github.com/benchwrap/backend/shared/app"
	"github.com/benchwrap/backend/shared/fnhttp"
)

func main() { fnhttp.Main(handle, app.Ping, policy) }
