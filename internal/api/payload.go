package api

import (
	"crypto/sha256"
	"errors"
	"io"
	"net/http"

	"github.com/ebsd/ebsd/internal/ebs"
	"github.com/ebsd/ebsd/internal/sigv4"
)

const (
	// maxSmallBody caps the body of every operation but PutSnapshotBlock.
	// Only StartSnapshot has a body at all, a few hundred bytes of JSON.
	// The verifier reads no more to hash a body (sigv4.DefaultMaxBody).
	maxSmallBody = sigv4.DefaultMaxBody

	msgPayloadMismatch  = "The provided 'x-amz-content-sha256' header does not match what was computed."
	msgPayloadMalformed = "The provided 'x-amz-content-sha256' header must be UNSIGNED-PAYLOAD or a lowercase hex-encoded SHA-256 digest."
)

// payloadHash returns the SHA-256 that the request claims for its body and
// whether it claims one at all. The claim is the Caller's signed payload
// hash or, when the Authenticator gave none, the X-Amz-Content-Sha256
// header. UNSIGNED-PAYLOAD and no claim at all mean no check; anything
// else that sigv4.ParsePayloadHash does not accept (the one rule, shared
// with the verifier) is a malformed signature.
func payloadHash(op operation, r *http.Request, c Caller) (ebs.Digest, bool, error) {
	v := c.PayloadHash
	if v == "" {
		if p := header(r.Header, hdrContentSHA256); p != nil {
			v = *p
		}
	}
	if v == "" {
		return ebs.Digest{}, false, nil
	}
	d, signed, ok := sigv4.ParsePayloadHash(v)
	if !ok {
		return ebs.Digest{}, false, ebs.E(op.String(), ebs.KindBadSignature, "", msgPayloadMalformed)
	}
	return d, signed, nil
}

// readBody reads the whole (small) body of an operation other than
// PutSnapshotBlock and checks it against the signed payload hash.
func readBody(op operation, r *http.Request, c Caller) ([]byte, error) {
	want, signed, err := payloadHash(op, r, c)
	if err != nil {
		return nil, err
	}
	body, err := readSmallBody(op, r)
	if err != nil {
		return nil, err
	}
	if signed && sha256.Sum256(body) != want {
		return nil, ebs.E(op.String(), ebs.KindBadSignature, "", msgPayloadMismatch)
	}
	return body, nil
}

// readSmallBody reads at most maxSmallBody bytes of body.
func readSmallBody(op operation, r *http.Request) ([]byte, error) {
	if r.ContentLength == 0 {
		// A server request with no Content-Length and no chunking has no
		// body; reading would only allocate.
		return nil, nil
	}
	tooLarge := func() error {
		return ebs.E(op.String(), ebs.KindSerialization, "",
			"The request body is larger than %d bytes.", maxSmallBody)
	}
	if r.ContentLength > maxSmallBody {
		return nil, tooLarge()
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxSmallBody+1))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, tooLarge()
		}
		return nil, &ebs.Error{Op: op.String(), Kind: ebs.KindSerialization,
			Message: "Failed to read the request body.", Err: err}
	}
	if len(body) > maxSmallBody {
		return nil, tooLarge()
	}
	return body, nil
}
