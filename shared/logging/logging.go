// Package logging sets up the JSON slog logger every program and function
// uses, one line per request or file.
package logging

import (
	"io"
	"log/slog"
	"os"
	"strings"
)

// New returns a JSON logger writing to w at the level named by
// LOG_LEVEL (debug, info, warn, error; default info).
func New(w io.Writer) *slog.Logger {
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: levelFromEnv()}))
}

// Setup makes a JSON logger on stderr the default and returns it.
func Setup() *slog.Logger {
	l := New(os.Stderr)
	slog.SetDefault(l)
	return l
}

func levelFromEnv() slog.Level {
	switch strings.ToLower(os.Getenv("LOG_LEVEL")) {
	case "debug":
		return slog.LevelDebug
	case "warn", "warning":
		return slog.LevelWarn
	case "error":
		return slog.LevelError
	}
	return slog.LevelInfo
}
