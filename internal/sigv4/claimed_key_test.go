package sigv4_test

import (
	"net/http/httptest"
	"testing"

	"github.com/ebsd/ebsd/internal/sigv4"
)

func TestClaimedKeyID(t *testing.T) {
	tests := []struct {
		name, auth, want string
	}{
		{"no header", "", ""},
		{"no Credential", "AWS4-HMAC-SHA256 SignedHeaders=host, Signature=00", ""},
		{"scoped", "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260101/us-east-1/ebs/aws4_request, SignedHeaders=host, Signature=abc", "AKIDEXAMPLE"},
		{"no scope, comma", "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE, SignedHeaders=host, Signature=abc", "AKIDEXAMPLE"},
		{"no scope, space", "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE Signature=abc", "AKIDEXAMPLE"},
		{"empty key", "AWS4-HMAC-SHA256 Credential=/20260101/us-east-1/ebs/aws4_request", ""},
		{"never the signature", "AWS4-HMAC-SHA256 Signature=secret, Credential=AKID", "AKID"},
	}
	for _, tc := range tests {
		r := httptest.NewRequest("POST", "/", nil)
		if tc.auth != "" {
			r.Header.Set("Authorization", tc.auth)
		}
		if got := sigv4.ClaimedKeyID(r); got != tc.want {
			t.Errorf("%s: ClaimedKeyID = %q, want %q", tc.name, got, tc.want)
		}
	}
}
