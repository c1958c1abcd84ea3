package sigv4

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/ebsd/ebsd/internal/ebs"
)

func TestAppendTrimmed(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"abc", "abc"},
		{"  a   b  c  ", "a b c"},
		{"\ta \t  b\t", "a \t b"}, // only runs of spaces collapse, as in the Go SDK
		{"a  ", "a"},
		{"\u00a0a\u00a0", "a"},
	}
	for _, tc := range tests {
		if got := string(appendTrimmed(nil, tc.in)); got != tc.want {
			t.Errorf("appendTrimmed(%q)=%q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestAppendCanonicalQuery(t *testing.T) {
	tests := []struct {
		raw, want string
		wantErr   bool
	}{
		{raw: "", want: ""},
		{raw: "b=2&a=1", want: "a=1&b=2"},
		{raw: "pageToken=abc%2b%2f%3d", want: "pageToken=abc%2B%2F%3D"},
		{raw: "a=x+y", want: "a=x%20y"},
		{raw: "a=%7e%41", want: "a=~A"},
		{raw: "a", want: "a="},
		{raw: "x=a%2Fb&x=a-b", want: "x=a%2Fb&x=a-b"}, // sorted after encoding: '%' < '-'
		{raw: "x=2&x=10&x=1", want: "x=1&x=10&x=2"},
		{raw: "&&a=1&", want: "a=1"},
		{raw: "=v", want: "=v"},
		{raw: "k%20ey=v=w", want: "k%20ey=v%3Dw"},
		{raw: "a=%zz", wantErr: true},
		{raw: "a=1;b=2", wantErr: true},
	}
	for _, tc := range tests {
		got, err := appendCanonicalQuery(nil, tc.raw)
		if (err != nil) != tc.wantErr {
			t.Errorf("appendCanonicalQuery(%q) error=%v, want error %v", tc.raw, err, tc.wantErr)
			continue
		}
		if !tc.wantErr && string(got) != tc.want {
			t.Errorf("appendCanonicalQuery(%q)=%q, want %q", tc.raw, got, tc.want)
		}
	}
}

func TestWirePathAndEscape(t *testing.T) {
	tests := []struct {
		requestURI, url, want string
	}{
		{"/snapshots/snap-1/blocks/7", "", "/snapshots/snap-1/blocks/7"},
		{"/snapshots/snap-1/blocks?x=1", "", "/snapshots/snap-1/blocks"},
		{"/a%2Fb/%7e c", "", "/a%252Fb/%257e%20c"},
		{"http://h/x?y", "http://h/x?y", "/x"},     // absolute form: the parsed URL
		{"", "http://h/a%20b/c~d", "/a%2520b/c~d"}, // built in-process
		{"", "http://h", "/"},
	}
	for _, tc := range tests {
		r := &http.Request{RequestURI: tc.requestURI}
		u := tc.url
		if u == "" {
			u = "http://h" + tc.requestURI
		}
		var err error
		if r.URL, err = url.Parse(u); err != nil {
			t.Fatal(err)
		}
		if got := string(appendEscaped(nil, wirePath(r), true)); got != tc.want {
			t.Errorf("canonical URI of %q / %q = %q, want %q", tc.requestURI, tc.url, got, tc.want)
		}
	}
}

func TestLookupHeader(t *testing.T) {
	long := "X-" + strings.Repeat("Long-", 20) + "Name"
	h := http.Header{
		"X-Amz-Checksum": {"c"},
		"x_odd key":      {"odd"},
		long:             {"long"},
	}
	tests := []struct{ name, want string }{
		{"x-amz-checksum", "c"},
		{"X-AMZ-CHECKSUM", "c"},
		{"X_ODD KEY", "odd"},
		{strings.ToLower(long), "long"},
		{"x-absent", ""},
	}
	for _, tc := range tests {
		vs := lookupHeader(h, tc.name)
		if got := strings.Join(vs, ","); got != tc.want {
			t.Errorf("lookupHeader(%q)=%q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestParseAuthorizationForms(t *testing.T) {
	const sig = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	for _, h := range []string{
		"AWS4-HMAC-SHA256 Credential=AK/20260101/r/ebs/aws4_request, SignedHeaders=host;x-amz-date, Signature=" + sig,
		"AWS4-HMAC-SHA256 Credential=AK/20260101/r/ebs/aws4_request,SignedHeaders=host;x-amz-date,Signature=" + sig,
		"AWS4-HMAC-SHA256 Signature=" + sig + ",  Credential=AK/20260101/r/ebs/aws4_request , Extra=1, SignedHeaders=host;x-amz-date",
	} {
		a, err := parseAuthorization(h, true)
		if err != nil {
			t.Errorf("parseAuthorization(%q): %v", h, err)
			continue
		}
		want := authorization{accessKeyID: "AK", date: "20260101", region: "r", service: "ebs",
			scope: "20260101/r/ebs/aws4_request", signedHeaders: "host;x-amz-date", signature: sig}
		if a != want {
			t.Errorf("parseAuthorization(%q)=%+v, want %+v", h, a, want)
		}
	}
}

func TestSkewText(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	err := errSkew(now.Add(-time.Hour), now, 90*time.Second)
	want := "Signature expired: 20251231T230000Z is now earlier than 20251231T235830Z (20260101T000000Z - 1m30s)"
	if got := err.(*ebs.Error).Message; got != want {
		t.Errorf("errSkew message=%q, want %q", got, want)
	}
	if f := FailureOf(err); f == nil || f.Cause != CauseClockSkew || f.Skew != -time.Hour {
		t.Errorf("FailureOf(errSkew)=%+v, want clock skew -1h", f)
	}
}

// TestAppendHeaderValueFraming checks the headers net/http takes out of
// r.Header: host, content-length and transfer-encoding.
func TestAppendHeaderValueFraming(t *testing.T) {
	u, _ := url.Parse("http://url-host:1/x")
	tests := []struct {
		name   string
		r      *http.Request
		header string
		want   string
		ok     bool
	}{
		{"host from r.Host", &http.Request{URL: u, Host: "h:8080"}, "host", "h:8080", true},
		{"host from the URL", &http.Request{URL: u}, "Host", "url-host:1", true},
		{"content-length header", &http.Request{URL: u, ContentLength: 5, Header: http.Header{"Content-Length": {"5"}}}, "content-length", "5", true},
		{"content-length from the request", &http.Request{URL: u, ContentLength: 7}, "content-length", "7", true},
		{"content-length unknown", &http.Request{URL: u, ContentLength: -1}, "content-length", "", false},
		{"transfer-encoding from the request", &http.Request{URL: u, TransferEncoding: []string{"chunked"}}, "transfer-encoding", "chunked", true},
		{"transfer-encoding absent", &http.Request{URL: u}, "transfer-encoding", "", false},
		{"other header absent", &http.Request{URL: u, Header: http.Header{}}, "x-amz-date", "", false},
	}
	for _, tc := range tests {
		got, ok := appendHeaderValue(nil, tc.r, tc.header)
		if string(got) != tc.want || ok != tc.ok {
			t.Errorf("%s: appendHeaderValue=%q, %v; want %q, %v", tc.name, got, ok, tc.want, tc.ok)
		}
	}
}
