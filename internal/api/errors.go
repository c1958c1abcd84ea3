package api

import (
	"context"
	"errors"
	"log/slog"
	"net/http"

	"github.com/ebsd/ebsd/internal/ebs"
)

// bodyShape is the JSON shape of an error body.
type bodyShape uint8

const (
	// shapeService is the service's own errors: {"Message","Reason"}.
	shapeService bodyShape = iota
	// shapeLower is the AWS framework's errors (signature, routing,
	// serialization), which real AWS sends as {"message"}. Old Go SDKs
	// (service/ebs <= v1.42) read only "Message" into typed errors, so
	// both spellings are sent with the same text.
	shapeLower
)

// reasonRule says whether an error type carries a Reason.
type reasonRule uint8

const (
	reasonNone     reasonRule = iota // the type has no Reason member: never send one
	reasonOptional                   // send the error's Reason when it has one
	reasonRequired                   // always send one: the error's, else the row's default
)

// wireError is how one ebs.Kind goes on the wire.
type wireError struct {
	Type          string // the exact, case-sensitive AWS shape name: X-Amzn-ErrorType
	Status        int
	Shape         bodyShape
	Reason        reasonRule
	DefaultReason ebs.Reason // for reasonRequired
}

// wireErrors is THE table from ebs.Kind to the wire. Statuses and body
// shapes are from shared/ebs-api-spec.md §5; the SDKs type errors by the
// header alone, never by the status, but botocore's legacy retry mode only
// retries RequestThrottledException when it comes with 400.
var wireErrors = [...]wireError{
	ebs.KindInternal:            {Type: "InternalServerException", Status: http.StatusInternalServerError},
	ebs.KindInvalid:             {Type: "ValidationException", Status: http.StatusBadRequest, Reason: reasonOptional},
	ebs.KindInvalidField:        {Type: "ValidationException", Status: http.StatusBadRequest, Shape: shapeLower, Reason: reasonRequired, DefaultReason: ebs.ReasonInvalidParameterValue},
	ebs.KindNotFound:            {Type: "ResourceNotFoundException", Status: http.StatusNotFound, Reason: reasonOptional},
	ebs.KindConflict:            {Type: "ConflictException", Status: http.StatusConflict},
	ebs.KindAccessDenied:        {Type: "AccessDeniedException", Status: http.StatusForbidden, Reason: reasonRequired, DefaultReason: ebs.ReasonUnauthorizedAccount},
	ebs.KindBadSignature:        {Type: "InvalidSignatureException", Status: http.StatusForbidden, Shape: shapeLower},
	ebs.KindUnknownClient:       {Type: "UnrecognizedClientException", Status: http.StatusForbidden, Shape: shapeLower},
	ebs.KindMissingAuth:         {Type: "MissingAuthenticationTokenException", Status: http.StatusForbidden, Shape: shapeLower},
	ebs.KindThrottled:           {Type: "RequestThrottledException", Status: http.StatusBadRequest, Reason: reasonOptional},
	ebs.KindQuotaExceeded:       {Type: "ServiceQuotaExceededException", Status: http.StatusPaymentRequired, Reason: reasonOptional},
	ebs.KindConcurrentLimit:     {Type: "ConcurrentLimitExceededException", Status: http.StatusBadRequest},
	ebs.KindUnknownOperation:    {Type: "UnknownOperationException", Status: http.StatusNotFound, Shape: shapeLower},
	ebs.KindUnavailable:         {Type: "ServiceUnavailableException", Status: http.StatusServiceUnavailable, Shape: shapeLower},
	ebs.KindIncompleteSignature: {Type: "IncompleteSignatureException", Status: http.StatusBadRequest, Shape: shapeLower},
	ebs.KindSerialization:       {Type: "SerializationException", Status: http.StatusBadRequest, Shape: shapeLower},
	ebs.KindAccountThrottled:    {Type: "ThrottlingException", Status: http.StatusBadRequest, Shape: shapeLower},
}

// wireErrorOf returns the row of k; a Kind the table does not know is an
// internal error.
func wireErrorOf(k ebs.Kind) wireError {
	if int(k) < len(wireErrors) && wireErrors[k].Type != "" {
		return wireErrors[k]
	}
	return wireErrors[ebs.KindInternal]
}

// outcomeCanceled is the metrics outcome of a request whose client went
// away before it was answered.
const outcomeCanceled = "Canceled"

const (
	msgInternal = "We encountered an internal error. Please try again."
	msgTimeout  = "The request timed out. Please try again."
	msgCanceled = "The request was canceled by the client."
)

// writeError writes err as the AWS error response of x, and is the only
// writer of error responses. An *ebs.Error is written from the table; a
// deadline is 503 (SDKs retry it); the client's own cancellation is logged
// at debug only, since nobody is left to read the answer; anything else is
// a 500 whose cause is logged but never sent.
func (h *Handler) writeError(x *exchange, r *http.Request, err error) {
	ctx := r.Context()
	var (
		row     wireError
		message string
		reason  ebs.Reason
		e       *ebs.Error
	)
	switch {
	case errors.Is(err, context.Canceled) && ctx.Err() != nil:
		// Still answered, in case the connection is half-open: an empty
		// 200 would read as success.
		row, message = wireErrors[ebs.KindUnavailable], msgCanceled
		x.outcome = outcomeCanceled
		h.log.LogAttrs(ctx, slog.LevelDebug, "request canceled by the client",
			slog.String("request_id", x.id), slog.String("operation", x.op.String()))
	case errors.Is(err, context.DeadlineExceeded):
		row, message = wireErrors[ebs.KindUnavailable], msgTimeout
	case errors.As(err, &e):
		row, message, reason = wireErrorOf(e.Kind), e.Message, e.Reason
	default:
		row = wireErrors[ebs.KindInternal]
	}
	if message == "" && row.Status >= http.StatusInternalServerError {
		message = msgInternal + " (request ID " + x.id + ")"
	}
	switch row.Reason {
	case reasonNone:
		reason = ""
	case reasonRequired:
		if reason == "" {
			reason = row.DefaultReason
		}
	}
	if x.outcome == "" {
		x.outcome = row.Type
	}
	// A deliberate 503 (KindUnavailable: overload) is no fault to look
	// into, and logging each would flood the log when it matters least.
	refused := e != nil && e.Kind == ebs.KindUnavailable
	if row.Status >= http.StatusInternalServerError && x.outcome != outcomeCanceled && !refused {
		h.log.LogAttrs(ctx, slog.LevelError, "request failed",
			slog.String("request_id", x.id), slog.String("operation", x.op.String()),
			slog.String("error_type", row.Type), slog.Any("error", err))
	}
	if x.Status != 0 {
		// The status is already sent (a panic after WriteHeader): all
		// that is left is to log it.
		h.log.LogAttrs(ctx, slog.LevelDebug, "error after the response started",
			slog.String("request_id", x.id), slog.String("operation", x.op.String()), slog.Any("error", err))
		return
	}

	body := make([]byte, 0, 64+2*len(message))
	body = append(body, '{')
	if row.Shape == shapeLower {
		body = appendKey(body, "message")
		body = appendString(body, message)
	}
	body = appendKey(body, "Message")
	body = appendString(body, message)
	if reason != "" {
		body = appendKey(body, "Reason")
		body = appendString(body, string(reason))
	}
	body = append(body, '}')

	x.setHeader(hdrErrorType, row.Type)
	writeJSON(x, row.Status, body)
}
