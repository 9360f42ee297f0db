package app

import (
	"io"
	"log/slog"

	"github.com/payrecon/payrecon/shared/httpapi"
)

// NewLogger returns a JSON logger with secret redaction (local runner, tests).
func NewLogger(w io.Writer, level slog.Level) *slog.Logger {
	return slog.New(httpapi.NewRedactingHandler(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level})))
}
