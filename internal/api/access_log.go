package api

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/ebsd/ebsd/internal/ebs"
	"github.com/ebsd/ebsd/internal/sigv4"
)

// maxLoggedKeyID bounds the access key ID quoted in a log line: it comes
// from the client, and a refused request must not make a huge line. AWS
// key IDs are at most 128 characters.
const maxLoggedKeyID = 128

// logAccess writes the access log line of a served request, one per
// request, at h.accessLevel (Info unless the access log is off). It is
// what an operator reads to see who was refused and why, so it is the
// only line of a client error: only server failures also get an Error
// line (writeError). It never holds a secret, a signature or a token: the
// target, which holds block and page tokens, is not logged, only the
// operation.
func (h *Handler) logAccess(ctx context.Context, x *exchange, outcome string, d time.Duration) {
	// The check first: building the attributes costs time on the hot
	// path when nobody listens.
	if !h.log.Enabled(ctx, h.accessLevel) {
		return
	}
	errorType := outcome
	switch outcome {
	case outcomeSuccess:
		errorType = ""
	case outcomeCanceled:
		errorType = wireErrors[ebs.KindUnavailable].Type // what was written
	}
	// Attributes in an array: LogAttrs copies them, so they stay on the
	// stack.
	var buf [13]slog.Attr
	attrs := append(buf[:0],
		slog.String("request_id", x.id),
		slog.String("operation", x.op.String()),
		slog.Int("status", x.Status),
		slog.String("error_type", errorType),
		slog.String("account", x.account),
		slog.Int64("received_bytes", x.body.n),
		slog.Int64("sent_bytes", x.Sent),
		slog.Duration("duration", d),
		slog.String("remote_addr", x.remote),
	)
	if outcome == outcomeCanceled {
		attrs = append(attrs, slog.Bool("canceled", true))
	}
	if f := x.authFailure; f != nil {
		attrs = append(attrs, slog.String("auth_failure", f.Reason))
		if f.AccessKeyID != "" {
			attrs = append(attrs, slog.String("access_key_id", sigv4.Clip(f.AccessKeyID, maxLoggedKeyID)))
		}
		if f.ClockSkew != 0 {
			attrs = append(attrs, slog.Duration("clock_skew", f.ClockSkew))
		}
	}
	h.log.LogAttrs(ctx, h.accessLevel, "request", attrs...)
}

// noteAuthFailure keeps why authentication failed, when the Authenticator
// said, for the access log.
func (x *exchange) noteAuthFailure(err error) {
	var f *AuthFailure
	if errors.As(err, &f) {
		x.authFailure = f
	}
}
