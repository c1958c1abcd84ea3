package ec2api

import (
	"context"
	"log/slog"
	"time"
)

// logAccess writes the one access-log line of a served request, at
// h.accessLevel, with the attributes of the EBS API's lines
// (internal/api/access_log.go) so that one query reads both, plus the API
// ("ec2" or "sts"). It never holds a secret, a signature or a token.
func (h *Handler) logAccess(ctx context.Context, x *exchange, outcome string, d time.Duration) {
	if !h.log.Enabled(ctx, h.accessLevel) {
		return
	}
	errorType := outcome
	if outcome == outcomeSuccess {
		errorType = ""
	}
	var buf [14]slog.Attr
	attrs := append(buf[:0],
		slog.String("request_id", x.id),
		slog.String("api", x.api.String()),
		slog.String("operation", x.op.String()),
		slog.Int("status", x.Status),
		slog.String("error_type", errorType),
		slog.String("account", x.account),
		slog.Int64("received_bytes", x.received),
		slog.Int64("sent_bytes", x.Sent),
		slog.Duration("duration", d),
		slog.String("remote_addr", x.remote),
	)
	if f := x.authFailure; f != nil {
		attrs = append(attrs, slog.String("auth_failure", f.cause))
		if f.accessKeyID != "" {
			attrs = append(attrs, slog.String("access_key_id", f.accessKeyID))
		}
		if f.skew != 0 {
			attrs = append(attrs, slog.Duration("clock_skew", f.skew))
		}
	}
	h.log.LogAttrs(ctx, h.accessLevel, "request", attrs...)
}
