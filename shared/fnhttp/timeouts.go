package fnhttp

import (
	"net/http"

	"github.com/benchwrap/backend/shared/config"
)

// ServerSettings bound what one connection may hold: a client that sends
// its headers or body slowly is cut off instead of holding a connection
// (and a goroutine, and a buffer) for minutes. Every server of the
// backend uses them: the functions, the local gateway and the dev server.
type ServerSettings struct {
	// Headers must arrive within this time of the connection's start.
	ReadHeaderTimeout config.Duration `envconfig:"HTTP_READ_HEADER_TIMEOUT" default:"5s"`
	// The whole request (headers and body) must arrive within this.
	ReadTimeout config.Duration `envconfig:"HTTP_READ_TIMEOUT" default:"30s"`
	// The answer must be written within this time of the request being
	// read; it covers the handler's work, so it is the longest (the
	// analysis of a large profile answers after minutes).
	WriteTimeout config.Duration `envconfig:"HTTP_WRITE_TIMEOUT" default:"11m"`
	// A kept-alive connection with no request is closed after this.
	IdleTimeout config.Duration `envconfig:"HTTP_IDLE_TIMEOUT" default:"60s"`
	// Request line and headers together are at most this many bytes.
	MaxHeaderBytes int `envconfig:"HTTP_MAX_HEADER_BYTES" default:"65536"`
}

// LoadServerSettings reads the HTTP_* settings from the environment.
func LoadServerSettings() (ServerSettings, error) {
	var s ServerSettings
	err := config.Load(&s)
	return s, err
}

// NewServer returns a server for h with the HTTP_* limits from the
// environment.
func NewServer(h http.Handler) (*http.Server, error) {
	s, err := LoadServerSettings()
	if err != nil {
		return nil, err
	}
	return s.Server(h), nil
}

// Server returns a server for h with these limits.
func (s ServerSettings) Server(h http.Handler) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: s.ReadHeaderTimeout.D(),
		ReadTimeout:       s.ReadTimeout.D(),
		WriteTimeout:      s.WriteTimeout.D(),
		IdleTimeout:       s.IdleTimeout.D(),
		MaxHeaderBytes:    s.MaxHeaderBytes,
	}
}
