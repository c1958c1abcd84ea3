package api

import (
	"context"
	"log/slog"
	"net/http"
	"time"
)

// logAccess writes the access log line of a served request: at debug, or
// at info when the server failed (5xx) and an operator should see it
// without turning on debug.
func (h *Handler) logAccess(ctx context.Context, x *exchange, outcome string, d time.Duration) {
	level := slog.LevelDebug
	if x.status >= http.StatusInternalServerError && outcome != outcomeCanceled {
		level = slog.LevelInfo
	}
	// The check first: building the attributes costs allocations on the
	// hot path when nobody listens.
	if !h.log.Enabled(ctx, level) {
		return
	}
	h.log.LogAttrs(ctx, level, "request",
		slog.String("request_id", x.id),
		slog.String("operation", x.op.String()),
		slog.Int("status", x.status),
		slog.String("outcome", outcome),
		slog.Duration("duration", d),
		slog.String("account", x.account),
		slog.Int64("received_bytes", x.body.n),
		slog.Int64("sent_bytes", x.sent),
	)
}
