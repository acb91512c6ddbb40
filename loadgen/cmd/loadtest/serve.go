package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"
)

// serve is a hidden subcommand: a trivial HTTP server for benchmarks and
// smoke tests ("loadtest serve -addr 127.0.0.1:0"). It answers every
// request with the same status and body, speaks HTTP/1.1 and h2c, prints
// its URL on the first line of stdout and runs until interrupted.
func serve(ctx context.Context, args []string, e env) int {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	addr := fs.String("addr", "127.0.0.1:0", "listen address")
	status := fs.Int("status", http.StatusOK, "response status")
	body := fs.String("body", "ok", "response body")
	delay := fs.Duration("delay", 0, "wait this long before answering")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintf(e.stderr, "loadtest serve: %v\n", err)
		return 1
	}
	payload := []byte(*body)
	var protocols http.Protocols
	protocols.SetHTTP1(true)
	protocols.SetUnencryptedHTTP2(true)
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if *delay > 0 {
				time.Sleep(*delay)
			}
			w.Header().Set("Content-Type", "text/plain")
			w.WriteHeader(*status)
			w.Write(payload)
		}),
		Protocols:         &protocols,
		ReadHeaderTimeout: 10 * time.Second,
	}
	fmt.Fprintf(e.stdout, "http://%s/\n", strings.TrimPrefix(ln.Addr().String(), "[::]"))
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	select {
	case <-ctx.Done():
		shutdown, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		srv.Shutdown(shutdown)
		return 0
	case err := <-done:
		fmt.Fprintf(e.stderr, "loadtest serve: %v\n", err)
		return 1
	}
}
