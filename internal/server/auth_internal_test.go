package server

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/ebsd/ebsd/internal/api"
	"github.com/ebsd/ebsd/internal/sigv4"
)

type oneKey struct{}

func (oneKey) SecretKey(id string) (string, string, bool) {
	if id == "AKIDKNOWN" {
		return "the-secret", "123456789012", true
	}
	return "", "", false
}

// TestAuthFailure checks that the adapter tells the access log why the
// verifier refused a request, with the claimed key ID and the skew, and
// never the signature.
func TestAuthFailure(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	a := &authenticator{v: &sigv4.Verifier{Keys: oneKey{}, Now: func() time.Time { return now }}}
	signed := func(keyID, secret string, date time.Time) *http.Request {
		r := httptest.NewRequest("GET", "/snapshots/snap-1/blocks", nil)
		if err := sigv4.Sign(r, keyID, secret, "us-east-1", "ebs", sigv4.UnsignedPayload, date); err != nil {
			t.Fatal(err)
		}
		return r
	}
	malformed := httptest.NewRequest("GET", "/snapshots/snap-1/blocks", nil)
	malformed.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKIDKNOWN, Signature=abc")
	malformed.Header.Set("X-Amz-Date", "20260301T120000Z")
	tests := []struct {
		name       string
		r          *http.Request
		wantReason string
		wantKeyID  string
		wantSkew   time.Duration
	}{
		{"Missing", httptest.NewRequest("GET", "/snapshots/snap-1/blocks", nil), "missing_authorization", "", 0},
		{"Malformed", malformed, "malformed_authorization", "AKIDKNOWN", 0},
		{"UnknownKey", signed("AKIDUNKNOWN", "the-secret", now), "unknown_access_key_id", "AKIDUNKNOWN", 0},
		{"BadSignature", signed("AKIDKNOWN", "not-the-secret", now), "signature_mismatch", "AKIDKNOWN", 0},
		{"Expired", signed("AKIDKNOWN", "the-secret", now.Add(-16*time.Minute)), "clock_skew", "AKIDKNOWN", -16 * time.Minute},
		{"Future", signed("AKIDKNOWN", "the-secret", now.Add(time.Hour)), "clock_skew", "AKIDKNOWN", time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := a.Authenticate(tt.r)
			var f *api.AuthFailure
			if !errors.As(err, &f) {
				t.Fatalf("Authenticate: %v, want an *api.AuthFailure", err)
			}
			if f.Reason != tt.wantReason || f.AccessKeyID != tt.wantKeyID || f.ClockSkew != tt.wantSkew {
				t.Errorf("AuthFailure = {%s %q %v}, want {%s %q %v}", f.Reason, f.AccessKeyID, f.ClockSkew,
					tt.wantReason, tt.wantKeyID, tt.wantSkew)
			}
			if _, sig, ok := strings.Cut(tt.r.Header.Get("Authorization"), "Signature="); ok && strings.Contains(f.AccessKeyID, sig) {
				t.Errorf("the key ID %q holds the signature", f.AccessKeyID)
			}
		})
	}

	ok := signed("AKIDKNOWN", "the-secret", now)
	if c, err := a.Authenticate(ok); err != nil || c.AccountID != "123456789012" {
		t.Errorf("Authenticate(good) = %+v, %v", c, err)
	}
}
