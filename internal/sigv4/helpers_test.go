package sigv4_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/ebsd/ebsd/internal/ebs"
	"github.com/ebsd/ebsd/internal/sigv4"
)

// The credentials of the AWS SigV4 test suite, with an account of ours.
const (
	testAKID    = "AKIDEXAMPLE"
	testSecret  = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
	testAccount = "123456789012"
)

// signTime is when the test requests are signed.
var signTime = time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)

// keyMap is a KeyLookup over a map: access key ID -> {secret, account}.
type keyMap map[string][2]string

func (m keyMap) SecretKey(id string) (string, string, bool) {
	k, ok := m[id]
	return k[0], k[1], ok
}

func testKeys() keyMap { return keyMap{testAKID: {testSecret, testAccount}} }

// newVerifier returns a Verifier of the test keys whose clock reads now.
func newVerifier(now time.Time) *sigv4.Verifier {
	return &sigv4.Verifier{Service: "ebs", Keys: testKeys(), Now: func() time.Time { return now }}
}

// header is one header line; names are set verbatim, so "x-amz-Checksum"
// goes on the wire in that casing, like botocore sends it.
type header struct{ name, value string }

// reqSpec describes a client request and how the official SDK signs it.
type reqSpec struct {
	method, url string
	host        string // overrides the URL's host in the Host header
	headers     []header
	body        []byte
	chunked     bool   // send the body with Transfer-Encoding: chunked
	contentSHA  string // X-Amz-Content-Sha256: "", sigv4.UnsignedPayload or "hex"
	secret      string // "" means testSecret
	service     string // "" means "ebs"
	region      string // "" means "us-east-1"
	at          time.Time
}

// clientRequest builds the client side of s, unsigned.
func clientRequest(tb testing.TB, s reqSpec) *http.Request {
	tb.Helper()
	var body io.Reader
	if s.body != nil {
		body = bytes.NewReader(s.body)
		if s.chunked {
			body = io.MultiReader(body) // hides the length: net/http chunks it
		}
	}
	r, err := http.NewRequest(s.method, s.url, body)
	if err != nil {
		tb.Fatalf("NewRequest: %v", err)
	}
	if s.host != "" {
		r.Host = s.host
	}
	for _, h := range s.headers {
		r.Header[h.name] = append(r.Header[h.name], h.value)
	}
	switch s.contentSHA {
	case "":
	case "hex":
		r.Header.Set("X-Amz-Content-Sha256", hexSHA256(s.body))
	default:
		r.Header.Set("X-Amz-Content-Sha256", s.contentSHA)
	}
	return r
}

// sdkSigned returns s signed by the official aws-sdk-go-v2 signer, as a
// server receives it.
func sdkSigned(tb testing.TB, s reqSpec) *http.Request {
	tb.Helper()
	r := clientRequest(tb, s)
	sdkSign(tb, r, s)
	return overTheWire(tb, r)
}

// sdkSign signs r in place with the official aws-sdk-go-v2 signer.
func sdkSign(tb testing.TB, r *http.Request, s reqSpec) {
	tb.Helper()
	secret, service, region, at := s.secret, s.service, s.region, s.at
	if secret == "" {
		secret = testSecret
	}
	if service == "" {
		service = "ebs"
	}
	if region == "" {
		region = "us-east-1"
	}
	if at.IsZero() {
		at = signTime
	}
	payload := r.Header.Get("X-Amz-Content-Sha256")
	if payload == "" {
		payload = hexSHA256(s.body)
	}
	creds := aws.Credentials{AccessKeyID: testAKID, SecretAccessKey: secret}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, r, payload, service, region, at); err != nil {
		tb.Fatalf("SignHTTP: %v", err)
	}
}

// overTheWire returns r as a net/http server receives it: written by the
// client's request writer and parsed by the server's request reader, which
// moves Host and Transfer-Encoding out of the header map.
func overTheWire(tb testing.TB, r *http.Request) *http.Request {
	tb.Helper()
	var wire bytes.Buffer
	if err := r.Write(&wire); err != nil {
		tb.Fatalf("Write: %v", err)
	}
	sr, err := http.ReadRequest(bufio.NewReader(&wire))
	if err != nil {
		tb.Fatalf("ReadRequest: %v\n%s", err, wire.Bytes())
	}
	return sr
}

func hexSHA256(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// block returns n bytes of test data.
func block(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i * 7)
	}
	return b
}

// putBlockSpec is a PutSnapshotBlock as aws-sdk-go-v2 sends it.
func putBlockSpec(data []byte) reqSpec {
	sum := sha256.Sum256(data)
	return reqSpec{
		method: http.MethodPut,
		url:    "http://127.0.0.1:8080/snapshots/snap-0123456789abcdef0/blocks/7",
		headers: []header{
			{"Content-Type", "application/octet-stream"},
			{"X-Amz-Checksum", base64.StdEncoding.EncodeToString(sum[:])},
			{"X-Amz-Checksum-Algorithm", "SHA256"},
			{"X-Amz-Data-Length", strconv.Itoa(len(data))},
			{"X-Amz-Progress", "50"},
			{"Amz-Sdk-Invocation-Id", "0b4a1b9e-7d1e-4c4a-9e0b-6f1b0c3a2d11"},
			{"Amz-Sdk-Request", "attempt=1; max=3"},
		},
		body:       data,
		contentSHA: sigv4.UnsignedPayload,
	}
}

// asEBSError returns err as an *ebs.Error or fails the test.
func asEBSError(tb testing.TB, err error) *ebs.Error {
	tb.Helper()
	var e *ebs.Error
	if !errors.As(err, &e) {
		tb.Fatalf("error %v (%T) is not an *ebs.Error", err, err)
	}
	return e
}
