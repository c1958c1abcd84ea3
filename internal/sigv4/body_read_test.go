package sigv4_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/ebsd/ebsd/internal/ebs"
	"github.com/ebsd/ebsd/internal/sigv4"
)

// countingBody counts the body bytes Verify reads.
type countingBody struct {
	rc io.ReadCloser
	n  int64
}

func (c *countingBody) Read(p []byte) (int, error) {
	n, err := c.rc.Read(p)
	c.n += int64(n)
	return n, err
}

func (c *countingBody) Close() error { return c.rc.Close() }

// TestVerifyBodyBytesRead checks how much of the body Verify reads before
// it decides: nothing when X-Amz-Content-Sha256 is present (the signature
// is checked from headers alone), nothing for an unknown key or no
// Authorization, nothing for a declared length above the small-body bound,
// and at most that bound (plus the byte that proves it too long) for a
// chunked body. A forged signature with a big body must not make the
// server buffer it (review F5: 1 MiB per connection before).
func TestVerifyBodyBytesRead(t *testing.T) {
	big := block(1 << 20)
	json := []byte(`{"VolumeSize":8,"Description":"` + strings.Repeat("d", 60<<10) + `"}`)
	post := func(body []byte, chunked bool) reqSpec {
		return reqSpec{method: http.MethodPost, url: "http://127.0.0.1:8080/snapshots",
			headers: []header{{"Content-Type", "application/json"}}, body: body, chunked: chunked}
	}
	forged := func(s reqSpec) reqSpec { s.secret = "forged"; return s }
	withSHA := func(s reqSpec, mode string) reqSpec { s.contentSHA = mode; return s }
	// The largest body the JSON operations take (api/payload.go): the most a
	// request without X-Amz-Content-Sha256 may make the server read.
	const limit = 64 << 10

	tests := []struct {
		name     string
		spec     reqSpec
		tamper   func(*http.Request)
		wantKind ebs.Kind // 0 (KindInternal) never expected: use ok
		ok       bool
		maxRead  int64
	}{
		{name: "forged, UNSIGNED-PAYLOAD, 1 MiB", spec: forged(withSHA(putBlockSpec(big), sigv4.UnsignedPayload)),
			wantKind: ebs.KindBadSignature, maxRead: 0},
		{name: "forged, hex payload hash, 1 MiB", spec: forged(withSHA(putBlockSpec(big), "hex")),
			wantKind: ebs.KindBadSignature, maxRead: 0},
		{name: "forged, no payload header, Content-Length 1 MiB", spec: forged(post(big, false)),
			wantKind: ebs.KindInvalid, maxRead: 0},
		{name: "forged, no payload header, Content-Length just over the bound", spec: forged(post(block(limit+1), false)),
			wantKind: ebs.KindInvalid, maxRead: 0},
		{name: "forged, no payload header, chunked 1 MiB", spec: forged(post(big, true)),
			wantKind: ebs.KindInvalid, maxRead: limit + 1},
		{name: "forged, no payload header, small JSON", spec: forged(post(json, false)),
			wantKind: ebs.KindBadSignature, maxRead: int64(len(json))},
		{name: "unknown key, no payload header, 1 MiB", spec: post(big, false),
			tamper: func(r *http.Request) {
				r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), testAKID, "AKIDUNKNOWN", 1))
			}, wantKind: ebs.KindUnknownClient, maxRead: 0},
		{name: "unknown key, no payload header, chunked 1 MiB", spec: post(big, true),
			tamper: func(r *http.Request) {
				r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), testAKID, "AKIDUNKNOWN", 1))
			}, wantKind: ebs.KindUnknownClient, maxRead: 0},
		{name: "no Authorization, chunked 1 MiB", spec: post(big, true),
			tamper:   func(r *http.Request) { r.Header.Del("Authorization") },
			wantKind: ebs.KindMissingAuth, maxRead: 0},
		{name: "valid, no payload header, JSON near the bound", spec: post(json, false), ok: true, maxRead: int64(len(json))},
		{name: "valid, no payload header, chunked JSON", spec: post(json, true), ok: true, maxRead: int64(len(json))},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := sdkSigned(t, tc.spec)
			if tc.tamper != nil {
				tc.tamper(r)
			}
			body := &countingBody{rc: r.Body}
			r.Body = body
			_, err := newVerifier(signTime).Verify(r)
			switch {
			case tc.ok && err != nil:
				t.Fatalf("Verify: %v", err)
			case !tc.ok && err == nil:
				t.Fatal("Verify accepted the request")
			case !tc.ok && ebs.KindOf(err) != tc.wantKind:
				t.Errorf("error kind %v (%v), want %v", ebs.KindOf(err), err, tc.wantKind)
			}
			if body.n > tc.maxRead {
				t.Errorf("Verify read %d body bytes, want at most %d", body.n, tc.maxRead)
			}
			if tc.ok {
				// The handler still gets the whole body.
				got, err := io.ReadAll(r.Body)
				if err != nil || string(got) != string(tc.spec.body) {
					t.Errorf("body after Verify: %d bytes, %v; want the %d sent", len(got), err, len(tc.spec.body))
				}
			}
		})
	}
}

// TestParsePayloadHash pins the one rule for X-Amz-Content-Sha256 values,
// shared by the verifier and the wire layer: UNSIGNED-PAYLOAD, or exactly
// 64 lowercase hex digits (SigV4's hex encoding is lowercase, and the
// value is signed verbatim).
func TestParsePayloadHash(t *testing.T) {
	sum := hexSHA256([]byte("x"))
	tests := []struct {
		in         string
		ok, signed bool
	}{
		{sigv4.UnsignedPayload, true, false},
		{sum, true, true},
		{strings.ToUpper(sum), false, false},
		{sum[:63], false, false},
		{sum + "0", false, false},
		{strings.Repeat("g", 64), false, false},
		{"", false, false},
		{"unsigned-payload", false, false},
		{"STREAMING-AWS4-HMAC-SHA256-PAYLOAD", false, false},
		{" " + sum[1:], false, false},
	}
	for _, tc := range tests {
		d, signed, ok := sigv4.ParsePayloadHash(tc.in)
		if ok != tc.ok || signed != tc.signed {
			t.Errorf("ParsePayloadHash(%q) = signed %v, ok %v; want %v, %v", tc.in, signed, ok, tc.signed, tc.ok)
		}
		if signed && hexOf(d[:]) != tc.in {
			t.Errorf("ParsePayloadHash(%q) digest %x", tc.in, d)
		}
	}
}

func hexOf(b []byte) string {
	const digits = "0123456789abcdef"
	out := make([]byte, 0, 2*len(b))
	for _, c := range b {
		out = append(out, digits[c>>4], digits[c&15])
	}
	return string(out)
}
