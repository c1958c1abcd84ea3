package sigv4

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"strconv"

	"github.com/ebsd/ebsd/internal/ebs"
)

// Payload hashes with a meaning of their own.
const (
	// UnsignedPayload is the X-Amz-Content-Sha256 value of a request whose
	// body is not signed, as every SDK sends for PutSnapshotBlock.
	UnsignedPayload = "UNSIGNED-PAYLOAD"
	// emptyPayloadHash is the hex SHA-256 of no bytes.
	emptyPayloadHash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
)

// payloadHash returns the payload hash of the canonical request: the
// X-Amz-Content-Sha256 header verbatim when the request has one, otherwise
// the hex SHA-256 of the body, which it reads (at most maxBody bytes) and
// puts back so that the handler can still read it. A declared length above
// maxBody is refused before any byte is read.
func payloadHash(r *http.Request, maxBody int64) (string, error) {
	if vs := lookupHeader(r.Header, "X-Amz-Content-Sha256"); vs != nil {
		if _, _, ok := ParsePayloadHash(vs[0]); len(vs) != 1 || !ok {
			return "", errIncomplete("x-amz-content-sha256 must be %s or the lowercase hex SHA-256 of the payload.", UnsignedPayload)
		}
		return vs[0], nil
	}
	if r.Body == nil || r.Body == http.NoBody {
		return emptyPayloadHash, nil
	}
	if r.ContentLength > maxBody {
		return "", errBodyTooLarge(maxBody)
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		return "", &ebs.Error{Kind: ebs.KindInvalid, Reason: ebs.ReasonInvalidParameterValue,
			Message: "Failed to read the request body.", Err: err}
	}
	if int64(len(body)) > maxBody {
		return "", errBodyTooLarge(maxBody)
	}
	r.Body = replayBody{Reader: bytes.NewReader(body), Closer: r.Body}
	sum := sha256.Sum256(body)
	return hex.EncodeToString(sum[:]), nil
}

// replayBody gives the handler the bytes Verify already read, and closes
// the original body.
type replayBody struct {
	io.Reader
	io.Closer
}

func errBodyTooLarge(max int64) error {
	return &ebs.Error{Kind: ebs.KindInvalid, Reason: ebs.ReasonInvalidParameterValue,
		Message: "The request body is too large to be signed without x-amz-content-sha256: more than " +
			strconv.FormatInt(max, 10) + " bytes."}
}

// ParsePayloadHash is the one rule for an X-Amz-Content-Sha256 value, used
// by Verify and by the wire layer alike: UnsignedPayload (signed=false), or
// exactly 64 lowercase hex digits, returned decoded (signed=true). Anything
// else is malformed (ok=false). SigV4's hex encoding is lowercase and every
// SDK sends it so; the value is signed verbatim, so accepting another
// spelling would only invite two readings of one request.
func ParsePayloadHash(v string) (sum [sha256.Size]byte, signed, ok bool) {
	if v == UnsignedPayload {
		return sum, false, true
	}
	if len(v) != 2*sha256.Size {
		return sum, false, false
	}
	for i := range sum {
		hi, ok1 := lowerHexDigit(v[2*i])
		lo, ok2 := lowerHexDigit(v[2*i+1])
		if !ok1 || !ok2 {
			return [sha256.Size]byte{}, false, false
		}
		sum[i] = hi<<4 | lo
	}
	return sum, true, true
}

func lowerHexDigit(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	}
	return 0, false
}
