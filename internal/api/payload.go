package api

import (
	"crypto/sha256"
	"errors"
	"io"
	"net/http"

	"github.com/ebsd/ebsd/internal/ebs"
)

const (
	// unsignedPayload is the X-Amz-Content-Sha256 of a request whose body
	// is not covered by its signature (PutSnapshotBlock from every SDK but
	// JS v3 with a Buffer).
	unsignedPayload = "UNSIGNED-PAYLOAD"

	// maxSmallBody caps the body of every operation but PutSnapshotBlock.
	// Only StartSnapshot has a body at all, a few hundred bytes of JSON.
	maxSmallBody = 64 << 10

	msgPayloadMismatch  = "The provided 'x-amz-content-sha256' header does not match what was computed."
	msgPayloadMalformed = "The provided 'x-amz-content-sha256' header must be UNSIGNED-PAYLOAD or a hex-encoded SHA-256 digest."
)

// payloadHash returns the SHA-256 that the request claims for its body and
// whether it claims one at all. The claim is the Caller's signed payload
// hash or, when the Authenticator gave none, the X-Amz-Content-Sha256
// header. UNSIGNED-PAYLOAD and no claim at all mean no check; anything
// else that is not 64 hex digits is a malformed signature.
func payloadHash(op operation, r *http.Request, c Caller) (ebs.Digest, bool, error) {
	var d ebs.Digest
	v := c.PayloadHash
	if v == "" {
		if p := header(r.Header, hdrContentSHA256); p != nil {
			v = *p
		}
	}
	if v == "" || v == unsignedPayload {
		return d, false, nil
	}
	if !decodeHex(d[:], v) {
		return d, false, ebs.E(op.String(), ebs.KindBadSignature, "", msgPayloadMalformed)
	}
	return d, true, nil
}

// decodeHex decodes the hex string s into dst, which it must fill exactly.
// Unlike hex.DecodeString it does not allocate.
func decodeHex(dst []byte, s string) bool {
	if len(s) != 2*len(dst) {
		return false
	}
	for i := range dst {
		hi, ok1 := fromHexChar(s[2*i])
		lo, ok2 := fromHexChar(s[2*i+1])
		if !ok1 || !ok2 {
			return false
		}
		dst[i] = hi<<4 | lo
	}
	return true
}

func fromHexChar(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
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
