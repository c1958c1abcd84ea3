package sigv4_test

import (
	"bufio"
	"bytes"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ebsd/ebsd/internal/ebs"
	"github.com/ebsd/ebsd/internal/sigv4"
)

const msgMismatch = "The request signature we calculated does not match the signature you provided. " +
	"Check your AWS Secret Access Key and signing method. Consult the service documentation for details."

func TestVerifyAcceptsSDKSignatures(t *testing.T) {
	startBody := []byte(`{"VolumeSize":8,"Timeout":60,"ClientToken":"a b+c","Tags":[{"Key":"k","Value":"v"}]}`)
	data := block(4096)
	tokenQuery := "maxResults=100&pageToken=" + url.QueryEscape("abc+/=def") + "&startingBlockIndex=0"

	tests := []struct {
		name        string
		spec        reqSpec
		wantRegion  string
		wantPayload string
	}{
		{
			name: "GET with +/= tokens in the query",
			spec: reqSpec{method: http.MethodGet,
				url: "http://ebs.us-east-1.amazonaws.com/snapshots/snap-0123456789abcdef0/blocks?" + tokenQuery},
			wantPayload: hexSHA256(nil),
		},
		{
			name: "GET block with a block token and repeated keys",
			spec: reqSpec{method: http.MethodGet,
				url: "http://ebs.us-east-1.amazonaws.com/snapshots/snap-0123456789abcdef0/blocks/3?blockToken=" +
					url.QueryEscape("AAUB+/Ac=") + "&x=2&x=1&x=" + url.QueryEscape("a b~*")},
			wantPayload: hexSHA256(nil),
		},
		{
			name: "POST JSON without X-Amz-Content-Sha256",
			spec: reqSpec{method: http.MethodPost, url: "http://ebs.us-east-1.amazonaws.com/snapshots",
				headers: []header{{"Content-Type", "application/json"}}, body: startBody},
			wantPayload: hexSHA256(startBody),
		},
		{
			name:        "PUT block with UNSIGNED-PAYLOAD",
			spec:        putBlockSpec(data),
			wantPayload: sigv4.UnsignedPayload,
		},
		{
			name: "PUT block with a hex payload hash",
			spec: func() reqSpec {
				s := putBlockSpec(data)
				s.contentSHA = "hex"
				return s
			}(),
			wantPayload: hexSHA256(data),
		},
		{
			name: "headers in mixed case, repeated and with runs of spaces",
			spec: reqSpec{method: http.MethodPost,
				url: "http://ebs.us-east-1.amazonaws.com/snapshots/completion/snap-0123456789abcdef0",
				headers: []header{
					{"x-amz-ChangedBlocksCount", "5"},
					{"x-amz-Checksum-Aggregation-Method", "LINEAR"},
					{"X-Custom", "  a   b  c "},
					{"X-Custom", "second\tvalue"},
				}},
			wantPayload: hexSHA256(nil),
		},
		{
			name: "host with a port and another region",
			spec: reqSpec{method: http.MethodGet, url: "http://localhost:9443/snapshots/snap-1/changedblocks?firstSnapshotId=snap-0",
				region: "eu-west-3"},
			wantRegion:  "eu-west-3",
			wantPayload: hexSHA256(nil),
		},
		{
			name: "Host header different from the URL",
			spec: reqSpec{method: http.MethodGet, url: "http://127.0.0.1:1/snapshots/snap-1/blocks",
				host: "ebs.example.internal:8443"},
			wantPayload: hexSHA256(nil),
		},
		{
			name: "chunked PUT with UNSIGNED-PAYLOAD",
			spec: func() reqSpec {
				s := putBlockSpec(data)
				s.chunked = true
				return s
			}(),
			wantPayload: sigv4.UnsignedPayload,
		},
		{
			name: "chunked POST hashed by the verifier",
			spec: reqSpec{method: http.MethodPost, url: "http://ebs.us-east-1.amazonaws.com/snapshots",
				headers: []header{{"Content-Type", "application/json"}}, body: startBody, chunked: true},
			wantPayload: hexSHA256(startBody),
		},
		{
			name: "path that needs encoding",
			spec: reqSpec{method: http.MethodGet,
				url: "http://ebs.us-east-1.amazonaws.com/snapshots/snap%20x%2Fy~z/blocks/%E2%82%AC"},
			wantPayload: hexSHA256(nil),
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := sdkSigned(t, tc.spec)
			if tc.spec.chunked && (r.ContentLength != -1 || len(r.TransferEncoding) == 0) {
				t.Fatalf("request is not chunked: ContentLength=%d TransferEncoding=%v", r.ContentLength, r.TransferEncoding)
			}
			id, err := newVerifier(signTime.Add(3 * time.Minute)).Verify(r)
			if err != nil {
				t.Fatalf("Verify: %v\nAuthorization: %s", err, r.Header.Get("Authorization"))
			}
			wantRegion := tc.wantRegion
			if wantRegion == "" {
				wantRegion = "us-east-1"
			}
			want := sigv4.Identity{AccessKeyID: testAKID, AccountID: testAccount, Region: wantRegion, PayloadHash: tc.wantPayload}
			if id != want {
				t.Errorf("Identity=%+v, want %+v", id, want)
			}
			got, err := io.ReadAll(r.Body)
			if err != nil {
				t.Fatalf("reading the body after Verify: %v", err)
			}
			if !bytes.Equal(got, tc.spec.body) {
				t.Errorf("body after Verify has %d bytes, want the %d sent", len(got), len(tc.spec.body))
			}
		})
	}
}

// failReader fails the test if anything reads it.
type failReader struct{ tb testing.TB }

func (f failReader) Read([]byte) (int, error) {
	f.tb.Error("Verify read a body it must leave alone")
	return 0, io.ErrUnexpectedEOF
}

func (f failReader) Close() error { return nil }

func TestVerifyLeavesBodyUnreadWithPayloadHeader(t *testing.T) {
	for _, mode := range []string{sigv4.UnsignedPayload, "hex"} {
		t.Run(mode, func(t *testing.T) {
			s := putBlockSpec(block(1024))
			s.contentSHA = mode
			r := sdkSigned(t, s)
			r.Body = failReader{t}
			if _, err := newVerifier(signTime).Verify(r); err != nil {
				t.Fatalf("Verify: %v", err)
			}
		})
	}
}

func TestVerifyRejects(t *testing.T) {
	data := block(2048)
	get := reqSpec{method: http.MethodGet,
		url: "http://ebs.us-east-1.amazonaws.com/snapshots/snap-0123456789abcdef0/blocks?maxResults=100&pageToken=" + url.QueryEscape("ab+/=")}
	post := reqSpec{method: http.MethodPost, url: "http://ebs.us-east-1.amazonaws.com/snapshots",
		headers: []header{{"Content-Type", "application/json"}}, body: []byte(`{"VolumeSize":8}`)}
	put := putBlockSpec(data)
	signed := func(s reqSpec, tamper func(r *http.Request)) func(tb testing.TB) *http.Request {
		return func(tb testing.TB) *http.Request {
			r := sdkSigned(tb, s)
			if tamper != nil {
				tamper(r)
			}
			return r
		}
	}
	setAuth := func(v string) func(r *http.Request) {
		return func(r *http.Request) { r.Header.Set("Authorization", v) }
	}
	editAuth := func(old, new string) func(r *http.Request) {
		return func(r *http.Request) {
			r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), old, new, 1))
		}
	}
	const cred = "Credential=AKIDEXAMPLE/20260101/us-east-1/ebs/aws4_request"
	const sig = "Signature=0000000000000000000000000000000000000000000000000000000000000000"

	tests := []struct {
		name     string
		req      func(tb testing.TB) *http.Request
		now      time.Time // zero means signTime
		maxBody  int64
		wantKind ebs.Kind
		wantMsg  string // exact message
	}{
		{name: "wrong secret", req: signed(reqSpec{method: get.method, url: get.url, secret: "not-the-secret"}, nil),
			wantKind: ebs.KindBadSignature, wantMsg: msgMismatch},
		{name: "unknown access key", req: signed(get, editAuth("AKIDEXAMPLE/", "AKIDOTHER/")),
			wantKind: ebs.KindUnknownClient, wantMsg: "The security token included in the request is invalid."},
		{name: "tampered signed header", req: signed(put, func(r *http.Request) { r.Header.Set("X-Amz-Data-Length", "4096") }),
			wantKind: ebs.KindBadSignature, wantMsg: msgMismatch},
		{name: "tampered host", req: signed(put, func(r *http.Request) { r.Host = "127.0.0.1:8081" }),
			wantKind: ebs.KindBadSignature, wantMsg: msgMismatch},
		{name: "tampered query value", req: signed(get, func(r *http.Request) { r.URL.RawQuery = strings.Replace(r.URL.RawQuery, "100", "101", 1) }),
			wantKind: ebs.KindBadSignature, wantMsg: msgMismatch},
		{name: "added query parameter", req: signed(get, func(r *http.Request) { r.URL.RawQuery += "&startingBlockIndex=5" }),
			wantKind: ebs.KindBadSignature, wantMsg: msgMismatch},
		{name: "undecodable query", req: signed(get, func(r *http.Request) { r.URL.RawQuery += "&x=%zz" }),
			wantKind: ebs.KindBadSignature, wantMsg: msgMismatch},
		{name: "tampered path", req: signed(put, func(r *http.Request) {
			r.RequestURI = strings.Replace(r.RequestURI, "/blocks/7", "/blocks/8", 1)
		}), wantKind: ebs.KindBadSignature, wantMsg: msgMismatch},
		{name: "tampered method", req: signed(put, func(r *http.Request) { r.Method = http.MethodPost }),
			wantKind: ebs.KindBadSignature, wantMsg: msgMismatch},
		{name: "tampered body without payload header", req: signed(post, func(r *http.Request) {
			r.Body = io.NopCloser(strings.NewReader(`{"VolumeSize":9}`))
		}), wantKind: ebs.KindBadSignature, wantMsg: msgMismatch},
		{name: "payload header added after signing", req: signed(post, func(r *http.Request) {
			r.Header.Set("X-Amz-Content-Sha256", sigv4.UnsignedPayload)
		}), wantKind: ebs.KindBadSignature, wantMsg: msgMismatch},
		{name: "signed header removed", req: signed(put, func(r *http.Request) { r.Header.Del("X-Amz-Checksum") }),
			wantKind: ebs.KindBadSignature, wantMsg: msgMismatch},
		{name: "signature of another length", req: signed(get, editAuth("Signature=", "Signature=00")),
			wantKind: ebs.KindBadSignature, wantMsg: msgMismatch},
		{name: "expired", req: signed(get, nil), now: signTime.Add(15*time.Minute + time.Second),
			wantKind: ebs.KindBadSignature,
			wantMsg:  "Signature expired: 20260101T120000Z is now earlier than 20260101T120001Z (20260101T121501Z - 15 min.)"},
		{name: "from the future", req: signed(get, nil), now: signTime.Add(-16 * time.Minute),
			wantKind: ebs.KindBadSignature,
			wantMsg:  "Signature not yet current: 20260101T120000Z is still later than 20260101T115900Z (20260101T114400Z + 15 min.)"},
		{name: "wrong service in scope", req: signed(reqSpec{method: get.method, url: get.url, service: "s3"}, nil),
			wantKind: ebs.KindBadSignature, wantMsg: "Credential should be scoped to correct service: 'ebs'."},
		{name: "scope date differs from X-Amz-Date", req: signed(get, func(r *http.Request) { r.Header.Set("X-Amz-Date", "20260102T000100Z") }),
			now: time.Date(2026, 1, 2, 0, 1, 0, 0, time.UTC), wantKind: ebs.KindBadSignature,
			wantMsg: "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '20260101' != '20260102', from '20260102T000100Z'."},
		{name: "X-Amz-Date changed within the day", req: signed(get, func(r *http.Request) { r.Header.Set("X-Amz-Date", "20260101T120500Z") }),
			wantKind: ebs.KindBadSignature, wantMsg: msgMismatch},
		{name: "no Authorization", req: signed(get, func(r *http.Request) { r.Header.Del("Authorization") }),
			wantKind: ebs.KindMissingAuth, wantMsg: "Missing Authentication Token"},
		{name: "empty Authorization", req: signed(get, setAuth("")),
			wantKind: ebs.KindMissingAuth, wantMsg: "Missing Authentication Token"},
		{name: "presigned query", req: signed(get, func(r *http.Request) {
			r.Header.Del("Authorization")
			r.URL.RawQuery += "&X-Amz-Signature=abc"
		}), wantKind: ebs.KindIncompleteSignature,
			wantMsg: "Query-string (presigned) authentication is not supported; sign the request with an Authorization header."},
		{name: "algorithm only", req: signed(get, setAuth("AWS4-HMAC-SHA256")), wantKind: ebs.KindIncompleteSignature,
			wantMsg: "Authorization header requires 'Credential' parameter. Authorization header requires 'Signature' parameter. " +
				"Authorization header requires 'SignedHeaders' parameter."},
		{name: "everything missing", req: signed(get, func(r *http.Request) {
			r.Header.Set("Authorization", "AWS4-HMAC-SHA256 Foo=bar")
			r.Header.Del("X-Amz-Date")
		}), wantKind: ebs.KindIncompleteSignature,
			wantMsg: "Authorization header requires 'Credential' parameter. Authorization header requires 'Signature' parameter. " +
				"Authorization header requires 'SignedHeaders' parameter. " +
				"Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header."},
		{name: "no X-Amz-Date", req: signed(get, func(r *http.Request) { r.Header.Del("X-Amz-Date") }),
			wantKind: ebs.KindIncompleteSignature,
			wantMsg:  "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header."},
		{name: "no Signature", req: signed(get, setAuth("AWS4-HMAC-SHA256 "+cred+", SignedHeaders=host;x-amz-date")),
			wantKind: ebs.KindIncompleteSignature, wantMsg: "Authorization header requires 'Signature' parameter."},
		{name: "no SignedHeaders", req: signed(get, setAuth("AWS4-HMAC-SHA256 "+cred+", "+sig)),
			wantKind: ebs.KindIncompleteSignature, wantMsg: "Authorization header requires 'SignedHeaders' parameter."},
		{name: "empty Credential", req: signed(get, setAuth("AWS4-HMAC-SHA256 Credential=, SignedHeaders=host, "+sig)),
			wantKind: ebs.KindIncompleteSignature, wantMsg: "Authorization header requires 'Credential' parameter."},
		{name: "duplicate Signature", req: signed(get, setAuth("AWS4-HMAC-SHA256 "+cred+", SignedHeaders=host, "+sig+", "+sig)),
			wantKind: ebs.KindIncompleteSignature, wantMsg: "Authorization header has more than one 'Signature' parameter."},
		{name: "pair without equal sign", req: signed(get, setAuth("AWS4-HMAC-SHA256 "+cred+", SignedHeaders, "+sig)),
			wantKind: ebs.KindIncompleteSignature, wantMsg: "Invalid key=value pair (missing equal-sign) in Authorization header: 'SignedHeaders'."},
		{name: "SigV2 header", req: signed(get, setAuth("AWS AKIDEXAMPLE:c2lnbmF0dXJl")),
			wantKind: ebs.KindIncompleteSignature, wantMsg: "Unsupported Authorization type 'AWS': only AWS4-HMAC-SHA256 (Signature Version 4) is accepted."},
		{name: "other algorithm", req: signed(get, editAuth("AWS4-HMAC-SHA256", "AWS4-ECDSA-P256-SHA256")),
			wantKind: ebs.KindIncompleteSignature, wantMsg: "Unsupported Authorization type 'AWS4-ECDSA-P256-SHA256': only AWS4-HMAC-SHA256 (Signature Version 4) is accepted."},
		{name: "scope with too few parts", req: signed(get, editAuth("/us-east-1/ebs/", "/us-east-1/")),
			wantKind: ebs.KindIncompleteSignature,
			wantMsg:  "Credential should be of the form '<access key ID>/<yyyymmdd>/<region>/<service>/aws4_request', not 'AKIDEXAMPLE/20260101/us-east-1/aws4_request'."},
		{name: "scope with an empty region", req: signed(get, editAuth("/us-east-1/", "//")),
			wantKind: ebs.KindIncompleteSignature, wantMsg: "Credential should be scoped to a valid region, not ''."},
		{name: "scope with a wrong terminator", req: signed(get, editAuth("/aws4_request", "/aws4_reqest")),
			wantKind: ebs.KindIncompleteSignature, wantMsg: "Credential should be scoped with a valid terminator: 'aws4_request', not 'aws4_reqest'."},
		{name: "host not signed", req: signed(get, setAuth("AWS4-HMAC-SHA256 "+cred+", SignedHeaders=x-amz-date, "+sig)),
			wantKind: ebs.KindIncompleteSignature, wantMsg: "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization."},
		{name: "malformed X-Amz-Date", req: signed(get, func(r *http.Request) { r.Header.Set("X-Amz-Date", "2026-01-01T12:00:00Z") }),
			wantKind: ebs.KindIncompleteSignature,
			wantMsg:  "Date must be in ISO-8601 'basic format'. Got '2026-01-01T12:00:00Z'. See http://en.wikipedia.org/wiki/ISO_8601"},
		{name: "HTTP date in X-Amz-Date", req: signed(get, func(r *http.Request) { r.Header.Set("X-Amz-Date", "Thu, 01 Jan 2026 12:00:00 GMT") }),
			wantKind: ebs.KindIncompleteSignature,
			wantMsg:  "Date must be in ISO-8601 'basic format'. Got 'Thu, 01 Jan 2026 12:00:00 GMT'. See http://en.wikipedia.org/wiki/ISO_8601"},
		{name: "two Authorization headers", req: signed(get, func(r *http.Request) { r.Header.Add("Authorization", "x") }),
			wantKind: ebs.KindIncompleteSignature, wantMsg: "The request must have exactly one Authorization header."},
		{name: "bad X-Amz-Content-Sha256", req: signed(put, func(r *http.Request) { r.Header.Set("X-Amz-Content-Sha256", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD") }),
			wantKind: ebs.KindIncompleteSignature, wantMsg: "x-amz-content-sha256 must be UNSIGNED-PAYLOAD or the lowercase hex SHA-256 of the payload."},
		{name: "uppercase hex X-Amz-Content-Sha256", req: signed(put, func(r *http.Request) {
			r.Header.Set("X-Amz-Content-Sha256", strings.ToUpper(hexSHA256(data)))
		}), wantKind: ebs.KindIncompleteSignature, wantMsg: "x-amz-content-sha256 must be UNSIGNED-PAYLOAD or the lowercase hex SHA-256 of the payload."},
		{name: "body larger than MaxBody", req: signed(post, nil), maxBody: 8,
			wantKind: ebs.KindInvalid, wantMsg: "The request body is too large to be signed without x-amz-content-sha256: more than 8 bytes."},
		{name: "chunked body larger than MaxBody", req: signed(reqSpec{method: post.method, url: post.url, body: post.body, chunked: true}, nil),
			maxBody: 8, wantKind: ebs.KindInvalid,
			wantMsg: "The request body is too large to be signed without x-amz-content-sha256: more than 8 bytes."},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := tc.req(t)
			now := tc.now
			if now.IsZero() {
				now = signTime
			}
			v := newVerifier(now)
			v.MaxBody = tc.maxBody
			id, err := v.Verify(r)
			if err == nil {
				t.Fatalf("Verify accepted the request: %+v", id)
			}
			e := asEBSError(t, err)
			if e.Kind != tc.wantKind {
				t.Errorf("Kind=%v, want %v (%v)", e.Kind, tc.wantKind, err)
			}
			if e.Message != tc.wantMsg {
				t.Errorf("Message=%q\nwant     %q", e.Message, tc.wantMsg)
			}
			if e.Op != "" {
				t.Errorf("Op=%q, want \"\"", e.Op)
			}
			if id != (sigv4.Identity{}) {
				t.Errorf("Identity=%+v with an error, want zero", id)
			}
			if strings.Contains(err.Error(), testSecret) {
				t.Errorf("error %q reveals the secret", err)
			}
		})
	}
}

// TestVerifyErrorHidesExpectedSignature checks that a mismatch error
// carries neither the secret nor the signature the server expected.
func TestVerifyErrorHidesExpectedSignature(t *testing.T) {
	s := putBlockSpec(block(512))
	good := sdkSigned(t, s)
	s.secret = "another-secret"
	bad := sdkSigned(t, s)
	_, err := newVerifier(signTime).Verify(bad)
	if err == nil {
		t.Fatal("Verify accepted a signature made with another secret")
	}
	auth := good.Header.Get("Authorization")
	want := auth[strings.LastIndex(auth, "=")+1:]
	if len(want) != 64 {
		t.Fatalf("could not find the signature in %q", auth)
	}
	for _, secret := range []string{want, testSecret} {
		if strings.Contains(err.Error(), secret) {
			t.Errorf("error %q reveals %q", err, secret)
		}
	}
}

// TestVerifyAWSTestSuite verifies requests of the AWS SigV4 test suite:
// get-vanilla of the 2015 suite, and get-vanilla of the 2011 suite, which is
// dated by an HTTP Date header instead of X-Amz-Date.
func TestVerifyAWSTestSuite(t *testing.T) {
	tests := []struct {
		name, service, raw string
		now                time.Time
	}{
		{"2015 get-vanilla", "service",
			"GET / HTTP/1.1\r\nHost: example.amazonaws.com\r\nX-Amz-Date: 20150830T123600Z\r\n" +
				"Authorization: AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, " +
				"SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31\r\n\r\n",
			time.Date(2015, 8, 30, 12, 36, 0, 0, time.UTC)},
		{"2011 get-vanilla with Date", "host",
			"GET / HTTP/1.1\r\nHost: host.foo.com\r\nDate: Mon, 09 Sep 2011 23:36:00 GMT\r\n" +
				"Authorization: AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20110909/us-east-1/host/aws4_request, " +
				"SignedHeaders=date;host, Signature=b27ccfbfa7df52a200ff74193ca6e32d4b48b8856fab7ebf1c595d0670a7e470\r\n\r\n",
			time.Date(2011, 9, 9, 23, 36, 0, 0, time.UTC)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := http.ReadRequest(bufio.NewReader(strings.NewReader(tc.raw)))
			if err != nil {
				t.Fatal(err)
			}
			v := newVerifier(tc.now)
			v.Service = tc.service
			if _, err := v.Verify(r); err != nil {
				t.Fatalf("Verify: %v", err)
			}
		})
	}
}

// TestVerifyConcurrent runs verifications in parallel on one Verifier, for
// the race detector's sake (the signing-key cache is shared).
func TestVerifyConcurrent(t *testing.T) {
	v := newVerifier(signTime)
	wire := make([]*http.Request, 16)
	for i := range wire {
		s := putBlockSpec(block(64))
		s.region = []string{"us-east-1", "eu-west-1"}[i%2]
		wire[i] = sdkSigned(t, s)
	}
	var wg sync.WaitGroup
	for _, r := range wire {
		wg.Go(func() {
			if _, err := v.Verify(r); err != nil {
				t.Errorf("Verify: %v", err)
			}
		})
	}
	wg.Wait()
}
