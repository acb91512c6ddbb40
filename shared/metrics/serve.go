package metrics

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// AddrEnv names the setting of the metrics listener: host:port, or "off".
const AddrEnv = "METRICS_ADDR"

// DefaultAddr is where a function serves /metrics unless METRICS_ADDR
// says otherwise: all interfaces, so Prometheus can reach the pod, on a
// port the gateway never routes to.
const DefaultAddr = ":9102"

// Path is the scrape path.
const Path = "/metrics"

// Handler serves the registry in the Prometheus text format.
func Handler() http.Handler {
	return promhttp.HandlerFor(Registry, promhttp.HandlerOpts{ErrorLog: slogAdapter{}, Registry: Registry})
}

// Server serves Path on its own listener.
type Server struct {
	srv *http.Server
	ln  net.Listener
}

// Listen starts serving Path on addr ("off" or empty: nothing, nil
// server). The caller closes it.
func Listen(addr string) (*Server, error) {
	if addr == "" || addr == "off" {
		return nil, nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("metrics listener %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET "+Path, Handler())
	s := &Server{ln: ln, srv: &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}}
	go func() {
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			slog.Error("metrics server", "error", err)
		}
	}()
	return s, nil
}

// URL is the scrape URL.
func (s *Server) URL() string { return "http://" + s.ln.Addr().String() + Path }

// Close stops the listener. It is the last thing a process closes, so a
// final scrape during shutdown still works until then.
func (s *Server) Close() error {
	if s == nil {
		return nil
	}
	return s.srv.Close()
}

// slogAdapter sends promhttp's errors to the structured log.
type slogAdapter struct{}

func (slogAdapter) Println(v ...any) { slog.Error("metrics: " + fmt.Sprint(v...)) }
