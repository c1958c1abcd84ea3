package sigv4_test

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/ebsd/ebsd/internal/sigv4"
)

// TestSignMatchesSDK checks that Sign produces, byte for byte, the
// Authorization header of the official aws-sdk-go-v2 signer.
func TestSignMatchesSDK(t *testing.T) {
	data := block(4096)
	specs := map[string]reqSpec{
		"GET with tokens": {method: http.MethodGet,
			url: "http://ebs.us-east-1.amazonaws.com/snapshots/snap-1/blocks?pageToken=" + url.QueryEscape("a+/= b") + "&maxResults=100&a=2&a=1"},
		"POST JSON": {method: http.MethodPost, url: "http://ebs.us-east-1.amazonaws.com/snapshots",
			headers: []header{{"Content-Type", "application/json"}}, body: []byte(`{"VolumeSize":8}`)},
		"PUT unsigned": putBlockSpec(data),
		"PUT hex":      func() reqSpec { s := putBlockSpec(data); s.contentSHA = "hex"; return s }(),
		"PUT chunked":  func() reqSpec { s := putBlockSpec(data); s.chunked = true; return s }(),
		"mixed case, ports": {method: http.MethodPost, url: "http://localhost:8080/snapshots/completion/snap-1", region: "ap-south-2",
			headers: []header{{"x-amz-ChangedBlocksCount", " 3 "}, {"X-Multi", "a  b"}, {"X-Multi", "c"}}},
		"encoded path": {method: http.MethodGet, url: "http://ebs.us-east-1.amazonaws.com/snapshots/a%2Fb%20c/blocks/%7E1"},
	}
	for name, s := range specs {
		t.Run(name, func(t *testing.T) {
			want := clientRequest(t, s)
			sdkSign(t, want, s)

			got := clientRequest(t, s)
			region := s.region
			if region == "" {
				region = "us-east-1"
			}
			payload := got.Header.Get("X-Amz-Content-Sha256")
			if err := sigv4.Sign(got, testAKID, testSecret, region, "ebs", payload, signTime); err != nil {
				t.Fatalf("Sign: %v", err)
			}
			if g, w := got.Header.Get("Authorization"), want.Header.Get("Authorization"); g != w {
				t.Errorf("Authorization=\n%s\nwant (SDK)\n%s", g, w)
			}
			if s.body != nil {
				b, err := io.ReadAll(got.Body)
				if err != nil || string(b) != string(s.body) {
					t.Errorf("body after Sign=%q, %v; want %q", b, err, s.body)
				}
			}
		})
	}
}

// TestSignThenVerify checks Sign against Verify over the wire, for a body
// that Sign hashes itself.
func TestSignThenVerify(t *testing.T) {
	r := clientRequest(t, reqSpec{method: http.MethodPost, url: "http://127.0.0.1:8080/snapshots",
		body: []byte(`{"VolumeSize":1}`), chunked: true})
	if err := sigv4.Sign(r, testAKID, testSecret, "us-east-1", "ebs", "", signTime); err != nil {
		t.Fatal(err)
	}
	if r.Header.Get("X-Amz-Content-Sha256") != "" {
		t.Error("Sign set X-Amz-Content-Sha256 for a hashed body; the SDKs do not")
	}
	id, err := newVerifier(signTime).Verify(overTheWire(t, r))
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if want := hexSHA256([]byte(`{"VolumeSize":1}`)); id.PayloadHash != want {
		t.Errorf("PayloadHash=%q, want %q", id.PayloadHash, want)
	}
	if !strings.Contains(r.Header.Get("Authorization"), "SignedHeaders=content-length;host;x-amz-date,") {
		t.Errorf("Authorization=%q, want content-length;host;x-amz-date signed", r.Header.Get("Authorization"))
	}
}
