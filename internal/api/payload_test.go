package api_test

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/ebsd/ebsd/internal/api"
	"github.com/ebsd/ebsd/internal/snapshot"
)

// TestPayloadHash checks X-Amz-Content-Sha256 handling: PutSnapshotBlock
// hands a hex hash to the service, every other operation checks it against
// the body itself, and a malformed value is an InvalidSignatureException.
func TestPayloadHash(t *testing.T) {
	startBody := `{"VolumeSize":1}`
	sumHex := func(s string) string { h := sha256.Sum256([]byte(s)); return hex.EncodeToString(h[:]) }
	tests := []struct {
		name       string
		caller     string // Caller.PayloadHash
		header     string // X-Amz-Content-Sha256
		method     string
		target     string
		body       string
		wantStatus int
		wantType   string
	}{
		{"StartSignedOK", sumHex(startBody), "", "POST", "/snapshots", startBody, 201, ""},
		// One rule with the verifier (sigv4.ParsePayloadHash): lowercase only.
		{"StartSignedUppercaseRefused", strings.ToUpper(sumHex(startBody)), "", "POST", "/snapshots", startBody, 403, "InvalidSignatureException"},
		{"StartHeaderUppercaseRefused", "", strings.ToUpper(sumHex(startBody)), "POST", "/snapshots", startBody, 403, "InvalidSignatureException"},
		{"StartSignedMismatch", sumHex("{}"), "", "POST", "/snapshots", startBody, 403, "InvalidSignatureException"},
		{"StartHeaderMismatch", "", sumHex("{}"), "POST", "/snapshots", startBody, 403, "InvalidSignatureException"},
		{"StartCallerWinsOverHeader", sumHex(startBody), "garbage", "POST", "/snapshots", startBody, 201, ""},
		{"StartUnsigned", "UNSIGNED-PAYLOAD", "", "POST", "/snapshots", startBody, 201, ""},
		{"StartMalformed", "", "abc", "POST", "/snapshots", startBody, 403, "InvalidSignatureException"},
		{"StartMalformedHex", "", strings.Repeat("g", 64), "POST", "/snapshots", startBody, 403, "InvalidSignatureException"},
		{"StartStreaming", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD", "", "POST", "/snapshots", startBody, 403, "InvalidSignatureException"},
		{"GetEmptyOK", sumHex(""), "", "GET", "/snapshots/snap-1/blocks", "", 200, ""},
		{"GetBodyMismatch", sumHex(""), "", "GET", "/snapshots/snap-1/blocks", "x", 403, "InvalidSignatureException"},
		{"CompleteMismatch", "", sumHex("x"), "POST", "/snapshots/completion/snap-1", "", 403, "InvalidSignatureException"},
		{"ChangedMalformed", "", "UNSIGNED-PAYLOAD ", "GET", "/snapshots/snap-2/changedblocks", "", 403, "InvalidSignatureException"},
		{"GetBlockMismatch", "", sumHex("x"), "GET", "/snapshots/snap-1/blocks/1?blockToken=t", "", 403, "InvalidSignatureException"},
		{"PutMalformed", "", "nope", "PUT", "/snapshots/snap-1/blocks/1", "data", 403, "InvalidSignatureException"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			svc := &fakeService{}
			h := newHandler(t, svc, func(o *api.Options) {
				o.Auth = authFunc(func(*http.Request) (api.Caller, error) {
					return api.Caller{AccountID: testAccount, PayloadHash: tc.caller}, nil
				})
			})
			r := httptest.NewRequest(tc.method, tc.target, strings.NewReader(tc.body))
			if tc.header != "" {
				r.Header.Set("X-Amz-Content-Sha256", tc.header)
			}
			w := serve(t, h, r)
			if tc.wantType != "" {
				checkError(t, w, tc.wantStatus, tc.wantType)
				if svc.calls() != 0 {
					t.Error("a request with a bad payload hash reached the service")
				}
				if msg := decodeBody(t, w.Body.Bytes())["message"]; !strings.Contains(msg, "x-amz-content-sha256") {
					t.Errorf("message = %q", msg)
				}
				return
			}
			if w.Code != tc.wantStatus {
				t.Errorf("status = %d, want %d (body %s)", w.Code, tc.wantStatus, w.Body)
			}
		})
	}

	t.Run("PutSigned", func(t *testing.T) {
		svc := &fakeService{}
		h := newHandler(t, svc, func(o *api.Options) {
			o.Auth = authFunc(func(*http.Request) (api.Caller, error) {
				return api.Caller{AccountID: testAccount, PayloadHash: sumHex("data")}, nil
			})
		})
		w := serve(t, h, httptest.NewRequest("PUT", "/snapshots/snap-1/blocks/1", strings.NewReader("data")))
		if w.Code != 201 {
			t.Fatalf("status = %d, body %s", w.Code, w.Body)
		}
		in := lastInput[snapshot.PutBlockInput](t, svc)
		if in.PayloadHash == nil || hex.EncodeToString(in.PayloadHash[:]) != sumHex("data") {
			t.Errorf("PayloadHash = %v, want %s", in.PayloadHash, sumHex("data"))
		}
	})
	t.Run("PutUnsigned", func(t *testing.T) {
		svc := &fakeService{}
		r := httptest.NewRequest("PUT", "/snapshots/snap-1/blocks/1", strings.NewReader("data"))
		r.Header.Set("X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD")
		serve(t, newHandler(t, svc), r)
		if in := lastInput[snapshot.PutBlockInput](t, svc); in.PayloadHash != nil {
			t.Errorf("PayloadHash = %x, want nil for UNSIGNED-PAYLOAD", *in.PayloadHash)
		}
	})
}
