package sigv4_test

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ebsd/ebsd/internal/ebs"
	"github.com/ebsd/ebsd/internal/sigv4"
)

// FuzzVerify builds a request from arbitrary parts, and checks that
//   - Verify never panics and fails only with the documented error kinds;
//   - a fuzzed Authorization and X-Amz-Date never verify (the secret is
//     random on every run, so no input can carry a valid signature);
//   - the same request signed by the official SDK with the right secret
//     verifies, with a wrong secret does not, and does not after one
//     tampering of a signed part.
func FuzzVerify(f *testing.F) {
	const auth = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260101/us-east-1/ebs/aws4_request, " +
		"SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"
	f.Add(uint8(0), "snapshots/snap-1/blocks", "pageToken=abc%2B%2F%3D&maxResults=100", "X-Amz-Checksum", "q83v", []byte(nil), uint8(0), auth, "20260101T120000Z")
	f.Add(uint8(1), "snapshots/snap-1/blocks/7", "", "x-amz-Data-Length", "524288", []byte("block"), uint8(1), auth, "20260101T120000Z")
	f.Add(uint8(2), "snapshots", "", "Content-Type", "application/json", []byte(`{"VolumeSize":1}`), uint8(4), "AWS4-HMAC-SHA256 Credential=A/B/C/D/E", "")
	f.Add(uint8(2), "snapshots/completion/snap-1", "a=1&a=2&b", "X-Amz-ChangedBlocksCount", "  1   2 ", []byte{}, uint8(10), "AWS4-HMAC-SHA256 ,,=, Signature=", "Thu, 01 Jan 2026 12:00:00 GMT")
	f.Add(uint8(3), "a%2Fb/%7e c/../.", "x=%zz;y", "X-Dup", "v", []byte("xyz"), uint8(22), "AWS AK:sig", "2026")
	f.Add(uint8(1), "snapshots/snap-1/blocks/7", "", "Expect", "100-continue", []byte("xyz"), uint8(45), auth, "20260101T120000Z")

	methods := [...]string{http.MethodGet, http.MethodPut, http.MethodPost, http.MethodDelete}
	f.Fuzz(func(t *testing.T, method uint8, path, query, hname, hval string, body []byte, mode uint8, fuzzAuth, fuzzDate string) {
		if len(body) > 8<<10 {
			body = body[:8<<10]
		}
		var key [16]byte
		rand.Read(key[:])
		secret := hex.EncodeToString(key[:])
		v := &sigv4.Verifier{Keys: keyMap{testAKID: {secret, testAccount}}, Now: func() time.Time { return signTime }}

		payloadMode, chunked, tamper := mode%3, mode&4 != 0, int(mode>>3)
		build := func() (*http.Request, bool) {
			var rd io.Reader
			if len(body) > 0 {
				rd = bytes.NewReader(body)
				if chunked {
					rd = io.MultiReader(rd)
				}
			}
			u := "http://127.0.0.1:8080/" + path
			if query != "" {
				u += "?" + query
			}
			r, err := http.NewRequest(methods[method%4], u, rd)
			if err != nil {
				return nil, false
			}
			if validHeaderName(hname) && validHeaderValue(hval) && !reservedHeader(hname) {
				r.Header[hname] = []string{hval}
			}
			switch payloadMode {
			case 1:
				r.Header.Set("X-Amz-Content-Sha256", sigv4.UnsignedPayload)
			case 2:
				r.Header.Set("X-Amz-Content-Sha256", hexSHA256(body))
			}
			return r, true
		}
		wire := func(r *http.Request) ([]byte, bool) {
			var b bytes.Buffer
			if err := r.Write(&b); err != nil {
				return nil, false
			}
			// Only requests a net/http server would accept are of interest.
			if _, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(b.Bytes()))); err != nil {
				return nil, false
			}
			return b.Bytes(), true
		}
		parse := func(b []byte) *http.Request {
			r, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(b)))
			if err != nil {
				t.Fatalf("ReadRequest of a request that parsed before: %v", err)
			}
			return r
		}
		signedWire := func(secret string) ([]byte, bool) {
			r, ok := build()
			if !ok {
				return nil, false
			}
			sdkSign(t, r, reqSpec{secret: secret, body: body})
			return wire(r)
		}

		// Arbitrary Authorization and date: must never verify.
		if r, ok := build(); ok {
			if validHeaderValue(fuzzAuth) && validHeaderValue(fuzzDate) {
				r.Header.Set("Authorization", fuzzAuth)
				r.Header.Set("X-Amz-Date", fuzzDate)
				if b, ok := wire(r); ok {
					if id, err := v.Verify(parse(b)); err == nil {
						t.Fatalf("Verify accepted a fuzzed Authorization %q: %+v", fuzzAuth, id)
					} else {
						checkKind(t, err)
					}
				}
			}
		}

		good, ok := signedWire(secret)
		if !ok {
			return
		}
		r := parse(good)
		id, err := v.Verify(r)
		if err != nil {
			t.Fatalf("Verify rejected an SDK-signed request: %v\n%s", err, good)
		}
		if payloadMode == 0 {
			if got, _ := io.ReadAll(r.Body); !bytes.Equal(got, body) {
				t.Fatalf("body after Verify=%q, want %q", got, body)
			}
			if id.PayloadHash != hexSHA256(body) {
				t.Fatalf("PayloadHash=%q, want the hash of the body", id.PayloadHash)
			}
		}

		bad, ok := signedWire("wrong" + secret)
		if !ok {
			t.Fatal("the request signed with another secret did not go over the wire")
		}
		if _, err := v.Verify(parse(bad)); ebs.KindOf(err) != ebs.KindBadSignature {
			t.Fatalf("Verify of a request signed with a wrong secret: %v, want a bad signature", err)
		}

		r = parse(good)
		what := tamperWith(r, tamper, payloadMode == 0 && len(body) > 0)
		if _, err := v.Verify(r); err == nil {
			t.Fatalf("Verify accepted a request after %s:\n%s", what, good)
		} else {
			checkKind(t, err)
		}
	})
}

// tamperWith changes one signed part of r, chosen by n, and says which.
func tamperWith(r *http.Request, n int, hashedBody bool) string {
	switch n % 6 {
	case 0:
		if r.Method == http.MethodGet {
			r.Method = http.MethodHead
		} else {
			r.Method = http.MethodGet
		}
		return "changing the method"
	case 1:
		p, q, hasQ := strings.Cut(r.RequestURI, "?")
		r.RequestURI = p + "x"
		if hasQ {
			r.RequestURI += "?" + q
		}
		return "changing the path"
	case 2:
		r.Header.Set("X-Amz-Date", "20260101T120001Z")
		return "changing X-Amz-Date"
	case 3:
		if hashedBody {
			r.Body = io.NopCloser(strings.NewReader("tampered"))
			return "changing the body"
		}
		if r.URL.RawQuery != "" {
			r.URL.RawQuery += "&"
		}
		r.URL.RawQuery += "tampered=1"
		return "adding a query parameter"
	case 4:
		a := r.Header.Get("Authorization")
		last := a[len(a)-1]
		if last == '0' {
			last = '1'
		} else {
			last = '0'
		}
		r.Header.Set("Authorization", a[:len(a)-1]+string(last))
		return "changing the signature"
	default:
		r.Host = "127.0.0.1:8081"
		return "changing the host"
	}
}

// checkKind fails the test unless err is an *ebs.Error of a kind Verify
// documents.
func checkKind(t *testing.T, err error) {
	t.Helper()
	switch k := asEBSError(t, err).Kind; k {
	case ebs.KindMissingAuth, ebs.KindIncompleteSignature, ebs.KindUnknownClient, ebs.KindBadSignature, ebs.KindInvalid:
	default:
		t.Fatalf("error %v has kind %v", err, k)
	}
}

// reservedHeader reports whether net/http or the signer treat name
// specially, so that a fuzzed header of that name would not reach the
// server as signed.
func reservedHeader(name string) bool {
	switch strings.ToLower(name) {
	case "host", "content-length", "transfer-encoding", "trailer", "user-agent", "authorization",
		"x-amz-date", "x-amz-content-sha256":
		return true
	}
	return false
}

// validHeaderName reports whether name is an HTTP token, which net/http
// sends (it drops other names silently, after the SDK signed them).
func validHeaderName(name string) bool {
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0) {
			return false
		}
	}
	return true
}

// validHeaderValue reports whether v can be sent unchanged as a header.
func validHeaderValue(v string) bool {
	for i := 0; i < len(v); i++ {
		if c := v[i]; c < ' ' && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}
