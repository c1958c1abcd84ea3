package ec2api

import (
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/ebsd/ebsd/internal/ebs"
	"github.com/ebsd/ebsd/internal/sigv4"
)

// TestErrorTable pins the mapping of the brief and docs/ec2-api.md §4: the
// service's Kind and Reason, and the verifier's refusals, to the code and
// status of each API.
func TestErrorTable(t *testing.T) {
	skew := &ebs.Error{Kind: ebs.KindBadSignature, Message: "Signature expired: 20260101T000000Z is now earlier than ...",
		Err: &sigv4.Failure{Cause: sigv4.CauseClockSkew, Skew: -20 * time.Minute}}
	mismatch := &ebs.Error{Kind: ebs.KindBadSignature, Message: "The request signature we calculated does not match ...",
		Err: &sigv4.Failure{Cause: sigv4.CauseMismatch}}
	scope := &ebs.Error{Kind: ebs.KindBadSignature, Message: "Credential should be scoped to correct service: 'ec2'.",
		Err: &sigv4.Failure{Cause: sigv4.CauseScope}}
	invalid := func(r ebs.Reason) error { return ebs.E("Op", ebs.KindInvalid, r, "m") }
	tests := []struct {
		name      string
		err       error
		code      string
		status    int
		stsCode   string
		stsStatus int
		msg       string // "" = the error's own
	}{
		{"not found", ebs.SnapshotNotFound("Op", "snap-1"), "InvalidSnapshot.NotFound", 400, "", 0, "The snapshot 'snap-1' does not exist."},
		{"malformed", invalid(ebs.ReasonMalformedSnapshotID), "InvalidSnapshotID.Malformed", 400, "", 0, ""},
		{"combination", invalid(ebs.ReasonInvalidParameterCombination), "InvalidParameterCombination", 400, "", 0, ""},
		{"missing", invalid(ebs.ReasonMissingParameter), "MissingParameter", 400, "", 0, ""},
		{"tag limit", invalid(ebs.ReasonTagLimitExceeded), "TagLimitExceeded", 400, "", 0, ""},
		{"resource id", invalid(ebs.ReasonInvalidResourceID), "InvalidID", 400, "", 0, ""},
		{"page token", invalid(ebs.ReasonInvalidPageToken), "InvalidPaginationToken", 400, "", 0, ""},
		{"other invalid", invalid(ebs.ReasonInvalidParameterValue), "InvalidParameterValue", 400, "", 0, ""},
		{"invalid, no reason", invalid(""), "InvalidParameterValue", 400, "", 0, ""},
		{"invalid field", ebs.E("Op", ebs.KindInvalidField, "", "m"), "InvalidParameterValue", 400, "", 0, ""},
		{"access denied", ebs.E("Op", ebs.KindAccessDenied, "", "m"), "AuthFailure", 403, "AccessDenied", 403, ""},
		{"concurrent", ebs.E("Op", ebs.KindConcurrentLimit, "", "m"), "ResourceLimitExceeded", 400, "", 0, ""},
		{"quota", ebs.E("Op", ebs.KindQuotaExceeded, "", "m"), "ResourceLimitExceeded", 400, "", 0, ""},
		{"conflict", ebs.E("Op", ebs.KindConflict, "", "m"), "IdempotentParameterMismatch", 400, "", 0, ""},
		{"throttled", ebs.E("Op", ebs.KindThrottled, "", "m"), "RequestLimitExceeded", 503, "Throttling", 400, msgThrottled},
		{"account throttled", ebs.E("Op", ebs.KindAccountThrottled, "", "m"), "RequestLimitExceeded", 503, "Throttling", 400, msgThrottled},
		{"unavailable", ebs.E("Op", ebs.KindUnavailable, "", "m"), "Unavailable", 503, "ServiceUnavailable", 503, ""},
		{"internal", ebs.E("Op", ebs.KindInternal, "", "disk on fire"), "InternalError", 500, "InternalFailure", 500, msgInternal},
		{"not an ebs.Error", errors.New("boom"), "InternalError", 500, "InternalFailure", 500, msgInternal},
		{"wrapped", fmt.Errorf("ctx: %w", ebs.SnapshotNotFound("Op", "snap-2")), "InvalidSnapshot.NotFound", 400, "", 0, "The snapshot 'snap-2' does not exist."},
		{"unknown key", &ebs.Error{Kind: ebs.KindUnknownClient, Message: "x"}, "AuthFailure", 401, "InvalidClientTokenId", 403, ""},
		{"missing auth", &ebs.Error{Kind: ebs.KindMissingAuth, Message: "x"}, "MissingAuthenticationToken", 403, "", 0, msgMissingAuth},
		{"incomplete", &ebs.Error{Kind: ebs.KindIncompleteSignature, Message: "m"}, "IncompleteSignature", 400, "", 0, ""},
		{"mismatch", mismatch, "SignatureDoesNotMatch", 403, "", 0, ""},
		{"scope", scope, "SignatureDoesNotMatch", 403, "", 0, ""},
		{"clock skew", skew, "RequestExpired", 400, "SignatureDoesNotMatch", 403, ""},
		{"dry run", errDryRun(), "DryRunOperation", 412, "", 0, msgDryRun},
		{"unknown action", wireErr(fInvalidAction, "m"), "InvalidAction", 400, "", 0, ""},
		{"unknown parameter", wireErr(fUnknownParameter, "m"), "UnknownParameter", 400, "", 0, ""},
		{"too large", errTooLarge(10), "RequestEntityTooLarge", 413, "", 0, ""},
	}
	for _, tt := range tests {
		for _, a := range []apiName{apiEC2, apiSTS} {
			f, msg := classify(tt.err, a)
			code, status := f.row(a)
			wantCode, wantStatus := tt.code, tt.status
			if a == apiSTS && tt.stsCode != "" {
				wantCode, wantStatus = tt.stsCode, tt.stsStatus
			}
			if code != wantCode || status != wantStatus {
				t.Errorf("%s (%v): %s %d, want %s %d", tt.name, a, code, status, wantCode, wantStatus)
			}
			wantMsg := tt.msg
			if wantMsg == "" {
				var e *ebs.Error
				var l *localError
				switch {
				case errors.As(tt.err, &e):
					wantMsg = e.Message
				case errors.As(tt.err, &l):
					wantMsg = l.msg
				}
			}
			if tt.name == "unknown key" {
				wantMsg = map[apiName]string{apiEC2: msgUnknownKey, apiSTS: msgUnknownKeySTS}[a]
			}
			if tt.name == "clock skew" && a == apiEC2 {
				wantMsg = msgExpired
			}
			if msg != wantMsg {
				t.Errorf("%s (%v): message %q, want %q", tt.name, a, msg, wantMsg)
			}
		}
	}
}

// TestErrorTableComplete: every failure has a row with a code and an
// error status, and every ebs.Kind has a mapping other than the generic
// internal error unless it is KindInternal.
func TestErrorTableComplete(t *testing.T) {
	for f := range numFailures {
		w := wireErrors[f]
		if w.Code == "" || w.Status < 400 {
			t.Errorf("failure %d has no row: %+v", f, w)
		}
	}
	for k := ebs.KindInternal + 1; k <= ebs.KindAccountThrottled; k++ {
		f, _ := classify(ebs.E("Op", k, "", "m"), apiEC2)
		if f == fInternal {
			t.Errorf("Kind %v maps to InternalError", k)
		}
	}
	if _, status := failure(numFailures + 3).row(apiEC2); status != http.StatusInternalServerError {
		t.Errorf("an unknown failure is answered %d", status)
	}
}
