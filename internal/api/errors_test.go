package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/ebsd/ebsd/internal/api"
	"github.com/ebsd/ebsd/internal/ebs"
)

// TestErrorTable checks every row of the Kind -> wire table through the
// handler: status, X-Amzn-ErrorType, Content-Type, and the exact body keys.
func TestErrorTable(t *testing.T) {
	const m = "it went wrong"
	tests := []struct {
		name       string
		err        error
		wantStatus int
		wantType   string
		wantBody   map[string]string // exact keys and values
	}{
		{"Internal", ebs.E("op", ebs.KindInternal, "", m), 500, "InternalServerException", map[string]string{"Message": m}},
		{"InternalDropsReason", ebs.E("op", ebs.KindInternal, ebs.ReasonInvalidBlock, m), 500, "InternalServerException", map[string]string{"Message": m}},
		{"Invalid", ebs.E("op", ebs.KindInvalid, ebs.ReasonInvalidBlockToken, m), 400, "ValidationException", map[string]string{"Message": m, "Reason": "INVALID_BLOCK_TOKEN"}},
		{"InvalidNoReason", ebs.E("op", ebs.KindInvalid, "", m), 400, "ValidationException", map[string]string{"Message": m}},
		{"InvalidField", ebs.InvalidFields("op", ebs.Violation{Member: "maxResults", Value: ptr("50"), Constraint: ebs.ConstraintMin(100)}), 400, "ValidationException", map[string]string{
			"message": "1 validation error detected: Value '50' at 'maxResults' failed to satisfy constraint: Member must have value greater than or equal to 100",
			"Message": "1 validation error detected: Value '50' at 'maxResults' failed to satisfy constraint: Member must have value greater than or equal to 100",
			"Reason":  "INVALID_PARAMETER_VALUE",
		}},
		{"InvalidFieldDefaultReason", ebs.E("op", ebs.KindInvalidField, "", m), 400, "ValidationException", map[string]string{"message": m, "Message": m, "Reason": "INVALID_PARAMETER_VALUE"}},
		{"NotFound", ebs.SnapshotNotFound("op", "snap-1"), 404, "ResourceNotFoundException", map[string]string{"Message": "The snapshot 'snap-1' does not exist.", "Reason": "SNAPSHOT_NOT_FOUND"}},
		{"Conflict", ebs.E("op", ebs.KindConflict, ebs.ReasonInvalidParameterValue, m), 409, "ConflictException", map[string]string{"Message": m}},
		{"AccessDeniedDefaultReason", ebs.E("op", ebs.KindAccessDenied, "", m), 403, "AccessDeniedException", map[string]string{"Message": m, "Reason": "UNAUTHORIZED_ACCOUNT"}},
		{"AccessDeniedReason", ebs.E("op", ebs.KindAccessDenied, ebs.ReasonDependencyAccessDenied, m), 403, "AccessDeniedException", map[string]string{"Message": m, "Reason": "DEPENDENCY_ACCESS_DENIED"}},
		{"BadSignature", ebs.E("op", ebs.KindBadSignature, "", m), 403, "InvalidSignatureException", map[string]string{"message": m, "Message": m}},
		{"UnknownClient", ebs.E("op", ebs.KindUnknownClient, "", m), 403, "UnrecognizedClientException", map[string]string{"message": m, "Message": m}},
		{"MissingAuth", ebs.E("op", ebs.KindMissingAuth, "", m), 403, "MissingAuthenticationTokenException", map[string]string{"message": m, "Message": m}},
		{"IncompleteSignature", ebs.E("op", ebs.KindIncompleteSignature, "", m), 400, "IncompleteSignatureException", map[string]string{"message": m, "Message": m}},
		{"Serialization", ebs.E("op", ebs.KindSerialization, ebs.ReasonInvalidBlock, m), 400, "SerializationException", map[string]string{"message": m, "Message": m}},
		{"Throttled", ebs.E("op", ebs.KindThrottled, ebs.ReasonResourceLevelThrottle, m), 400, "RequestThrottledException", map[string]string{"Message": m, "Reason": "RESOURCE_LEVEL_THROTTLE"}},
		{"QuotaExceeded", ebs.E("op", ebs.KindQuotaExceeded, "DEPENDENCY_SERVICE_QUOTA_EXCEEDED", m), 402, "ServiceQuotaExceededException", map[string]string{"Message": m, "Reason": "DEPENDENCY_SERVICE_QUOTA_EXCEEDED"}},
		{"ConcurrentLimit", ebs.E("op", ebs.KindConcurrentLimit, ebs.ReasonInvalidParameterValue, m), 400, "ConcurrentLimitExceededException", map[string]string{"Message": m}},
		{"UnknownOperation", ebs.E("op", ebs.KindUnknownOperation, "", m), 404, "UnknownOperationException", map[string]string{"message": m, "Message": m}},
		{"Unavailable", ebs.E("op", ebs.KindUnavailable, "", m), 503, "ServiceUnavailableException", map[string]string{"message": m, "Message": m}},
		{"UnknownKind", ebs.E("op", ebs.Kind(200), ebs.ReasonInvalidBlock, m), 500, "InternalServerException", map[string]string{"Message": m}},
		{"Wrapped", fmt.Errorf("complete: %w", ebs.SnapshotNotFound("op", "snap-2")), 404, "ResourceNotFoundException", map[string]string{"Message": "The snapshot 'snap-2' does not exist.", "Reason": "SNAPSHOT_NOT_FOUND"}},
		{"Deadline", fmt.Errorf("store: %w", context.DeadlineExceeded), 503, "ServiceUnavailableException", map[string]string{"message": "The request timed out. Please try again.", "Message": "The request timed out. Please try again."}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			svc := &fakeService{}
			svc.errAll(tc.err)
			w := serve(t, newHandler(t, svc), httptest.NewRequest(http.MethodPost, "/snapshots/completion/snap-1", nil))
			checkError(t, w, tc.wantStatus, tc.wantType)
			if got := decodeBody(t, w.Body.Bytes()); !maps.Equal(got, tc.wantBody) {
				t.Errorf("body = %v, want %v", got, tc.wantBody)
			}
		})
	}
}

// TestErrorTableCoversEveryKind guards against a Kind added to package ebs
// without a row: it would silently become a 500.
func TestErrorTableCoversEveryKind(t *testing.T) {
	for k := ebs.Kind(0); !strings.HasPrefix(k.String(), "kind("); k++ {
		svc := &fakeService{}
		svc.errAll(ebs.E("op", k, "", "m"))
		w := serve(t, newHandler(t, svc), httptest.NewRequest(http.MethodPost, "/snapshots/completion/snap-1", nil))
		if got := w.Header().Get("X-Amzn-ErrorType"); k != ebs.KindInternal && got == "InternalServerException" {
			t.Errorf("Kind %v has no row in the error table", k)
		}
	}
}

// TestInternalErrorHidesCause checks that an error that is not an
// *ebs.Error reaches the client as a generic 500 with the request ID, and
// the operator's log with the cause.
func TestInternalErrorHidesCause(t *testing.T) {
	var logs bytes.Buffer
	svc := &fakeService{}
	svc.errAll(errBoom)
	h := newHandler(t, svc, func(o *api.Options) {
		o.Logger = slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelError}))
	})
	w := serve(t, h, httptest.NewRequest(http.MethodPost, "/snapshots/completion/snap-1", nil))
	checkError(t, w, 500, "InternalServerException")
	id := w.Header().Get("X-Amzn-RequestId")
	body := decodeBody(t, w.Body.Bytes())
	want := map[string]string{"Message": "We encountered an internal error. Please try again. (request ID " + id + ")"}
	if !maps.Equal(body, want) {
		t.Errorf("body = %v, want %v", body, want)
	}
	if strings.Contains(w.Body.String(), "disk on fire") {
		t.Errorf("the cause leaked to the client: %s", w.Body)
	}
	if !strings.Contains(logs.String(), "disk on fire") || !strings.Contains(logs.String(), id) {
		t.Errorf("log %q lacks the cause or the request ID %s", logs.String(), id)
	}
}

// TestCanceledContext checks the two faces of context.Canceled: the
// client's own cancellation is answered (503, never an empty 200) without an
// error log, and a cancellation the client did not ask for is a 500.
func TestCanceledContext(t *testing.T) {
	t.Run("ByClient", func(t *testing.T) {
		var logs bytes.Buffer
		svc := &fakeService{}
		svc.errAll(fmt.Errorf("store: %w", context.Canceled))
		h := newHandler(t, svc, func(o *api.Options) {
			o.Logger = slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
		})
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		r := httptest.NewRequestWithContext(ctx, http.MethodPost, "/snapshots/completion/snap-1", nil)
		w := serve(t, h, r)
		checkError(t, w, 503, "ServiceUnavailableException")
		// Its access line only: a client that went away is no fault.
		if s := logs.String(); strings.Count(s, "\n") != 1 || !strings.Contains(s, `"msg":"request"`) ||
			!strings.Contains(s, `"canceled":true`) {
			t.Errorf("a client's cancellation: want one access line, got %s", s)
		}
	})
	t.Run("NotByClient", func(t *testing.T) {
		svc := &fakeService{}
		svc.errAll(fmt.Errorf("store: %w", context.Canceled))
		w := serve(t, newHandler(t, svc), httptest.NewRequest(http.MethodPost, "/snapshots/completion/snap-1", nil))
		checkError(t, w, 500, "InternalServerException")
	})
}

// checkError checks the headers every error response carries.
func checkError(tb testing.TB, w *httptest.ResponseRecorder, wantStatus int, wantType string) {
	tb.Helper()
	if w.Code != wantStatus {
		tb.Errorf("status = %d, want %d (body %s)", w.Code, wantStatus, w.Body)
	}
	if got := w.Header().Get("X-Amzn-ErrorType"); got != wantType {
		tb.Errorf("X-Amzn-ErrorType = %q, want %q", got, wantType)
	}
	if got := w.Header().Get("Content-Type"); got != "application/json" {
		tb.Errorf("Content-Type = %q, want application/json", got)
	}
	if got, want := w.Header().Get("Content-Length"), fmt.Sprint(w.Body.Len()); got != want {
		tb.Errorf("Content-Length = %q, want %q", got, want)
	}
	if id := w.Header().Get("X-Amzn-RequestId"); !isUUIDv4(id) {
		tb.Errorf("x-amzn-RequestId = %q, want a UUIDv4", id)
	}
	if w.Header().Get("Date") == "" {
		tb.Error("no Date header")
	}
}

// decodeBody decodes a JSON object whose values are all strings.
func decodeBody(tb testing.TB, body []byte) map[string]string {
	tb.Helper()
	var m map[string]string
	if err := json.Unmarshal(body, &m); err != nil {
		tb.Fatalf("body %q is not a JSON object of strings: %v", body, err)
	}
	return m
}

func isUUIDv4(s string) bool {
	if len(s) != 36 || s[14] != '4' || !strings.ContainsRune("89ab", rune(s[19])) {
		return false
	}
	for i, c := range s {
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !strings.ContainsRune("0123456789abcdef", c) {
				return false
			}
		}
	}
	return true
}

func ptr[T any](v T) *T { return &v }
