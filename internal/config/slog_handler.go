package config

import (
	"io"
	"log/slog"
	"strings"
)

// SlogHandler returns a handler that writes records at or above LogLevel
// to w, as text or as JSON according to LogFormat. Values that Validate
// would refuse fall back to info and text.
func (c Config) SlogHandler(w io.Writer) slog.Handler {
	level, ok := parseLevel(c.LogLevel)
	if !ok {
		level = slog.LevelInfo
	}
	opts := &slog.HandlerOptions{Level: level}
	if strings.EqualFold(c.LogFormat, "json") {
		return slog.NewJSONHandler(w, opts)
	}
	return slog.NewTextHandler(w, opts)
}

// parseLevel accepts the four level names, in any case.
func parseLevel(s string) (slog.Level, bool) {
	switch strings.ToLower(s) {
	case "debug":
		return slog.LevelDebug, true
	case "info":
		return slog.LevelInfo, true
	case "warn":
		return slog.LevelWarn, true
	case "error":
		return slog.LevelError, true
	}
	return 0, false
}

// AccessLogLevel returns the level of the access log lines: info, or debug
// when AccessLog is off (api.Options.AccessLogLevel).
func (c Config) AccessLogLevel() slog.Level {
	if c.AccessLog {
		return slog.LevelInfo
	}
	return slog.LevelDebug
}
