package sigv4

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"
)

// signable reports whether Sign signs the header name (lowercase). Like
// the official Go signer it leaves out headers that change in transit or
// are the signature itself; content-length is signed from r.ContentLength.
func signable(name string) bool {
	switch name {
	case "authorization", "user-agent", "x-amzn-trace-id", "expect", "transfer-encoding", "content-length":
		return false
	}
	return true
}

// Sign signs r with SigV4 in the header form, the way the official SDKs do
// for a non-S3 service: it sets X-Amz-Date and Authorization, and signs
// host, content-length (when r.ContentLength > 0) and every other header
// in r except User-Agent, Expect, Transfer-Encoding and X-Amzn-Trace-Id.
//
// payloadHash is UnsignedPayload or a hex SHA-256 and is then also sent as
// X-Amz-Content-Sha256; empty means hash the body, which Sign reads and
// puts back (setting r.ContentLength and r.GetBody), without sending the
// header, like the SDKs do for JSON operations.
//
// Sign is for ebsd's own tests, fuzzing and tools; the signatures it makes
// are the ones Verify and AWS accept.
func Sign(r *http.Request, accessKeyID, secret, region, service, payloadHash string, now time.Time) error {
	if r.URL == nil {
		return errors.New("sigv4: sign: request has no URL")
	}
	if r.Header == nil {
		r.Header = make(http.Header)
	}
	amzDate := now.UTC().Format(amzDateLayout)
	r.Header.Del("Authorization")
	r.Header.Set("X-Amz-Date", amzDate)
	if payloadHash == "" {
		h, err := hashBody(r)
		if err != nil {
			return fmt.Errorf("sigv4: sign: %w", err)
		}
		payloadHash = h
	} else {
		r.Header.Set("X-Amz-Content-Sha256", payloadHash)
	}

	names := []string{"host"}
	if r.ContentLength > 0 {
		names = append(names, "content-length")
	}
	for k := range r.Header {
		name := strings.ToLower(k)
		if signable(name) && !slices.Contains(names, name) {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	signedHeaders := strings.Join(names, ";")

	scope := amzDate[:8] + "/" + region + "/" + service + "/" + terminator
	cr, err := appendCanonicalRequest(nil, r, signedHeaders, payloadHash)
	if err != nil {
		return fmt.Errorf("sigv4: sign: %w", err)
	}
	sig := signature(deriveKey(secret, amzDate[:8], region, service), appendStringToSign(nil, amzDate, scope, cr))
	r.Header.Set("Authorization", algorithm+" Credential="+accessKeyID+"/"+scope+
		", SignedHeaders="+signedHeaders+", Signature="+string(sig[:]))
	return nil
}

// hashBody reads r's body, puts it back, and returns its hex SHA-256.
func hashBody(r *http.Request) (string, error) {
	var body []byte
	if r.Body != nil && r.Body != http.NoBody {
		var err error
		if body, err = io.ReadAll(r.Body); err != nil {
			return "", err
		}
		if err := r.Body.Close(); err != nil {
			return "", err
		}
		// Known length from now on: net/http sends Content-Length, not
		// chunks, and an empty body as no body.
		r.Body, r.GetBody = http.NoBody, nil
		if len(body) > 0 {
			r.Body = io.NopCloser(bytes.NewReader(body))
			r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
		}
		r.ContentLength = int64(len(body))
	}
	sum := sha256.Sum256(body)
	return hex.EncodeToString(sum[:]), nil
}
