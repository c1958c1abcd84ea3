package api

import (
	"net/http"
	"net/url"

	"github.com/ebsd/ebsd/internal/ebs"
)

// Header names, in the canonical form net/http keys them by. Clients spell
// them differently (botocore x-amz-ChangedBlocksCount, Go
// X-Amz-Changedblockscount, JS lowercase); HTTP header names are
// case-insensitive, and header() matches them so.
const (
	hdrRequestID          = "X-Amzn-Requestid"
	hdrErrorType          = "X-Amzn-Errortype"
	hdrDate               = "Date"
	hdrContentType        = "Content-Type"
	hdrContentLength      = "Content-Length"
	hdrContentSHA256      = "X-Amz-Content-Sha256"
	hdrDataLength         = "X-Amz-Data-Length"
	hdrChecksum           = "X-Amz-Checksum"
	hdrChecksumAlgorithm  = "X-Amz-Checksum-Algorithm"
	hdrAggregationMethod  = "X-Amz-Checksum-Aggregation-Method"
	hdrProgress           = "X-Amz-Progress"
	hdrChangedBlocksCount = "X-Amz-Changedblockscount"
)

// Query keys: exact, as the model names them.
const (
	qBlockToken         = "blockToken"
	qPageToken          = "pageToken"
	qMaxResults         = "maxResults"
	qStartingBlockIndex = "startingBlockIndex"
	qFirstSnapshotID    = "firstSnapshotId"
)

// header returns the raw text of the header named key (in canonical form),
// or nil when the request does not carry it. Several values are joined with
// ",", as HTTP defines, so that a repeated header reaches the service as the
// invalid value it is rather than as one of its copies.
func header(h http.Header, key string) *string {
	vs, ok := h[key]
	if !ok {
		// net/http canonicalizes every header name made of token
		// characters, so this only matters for a Header built elsewhere.
		for k, v := range h {
			if asciiEqualFold(k, key) {
				vs, ok = v, true
				break
			}
		}
	}
	switch len(vs) {
	case 0:
		return nil
	case 1:
		return &vs[0]
	}
	joined := vs[0]
	for _, v := range vs[1:] {
		joined += "," + v
	}
	return &joined
}

// asciiEqualFold reports whether a and b are equal under ASCII case
// folding. Header names are ASCII tokens: Unicode folding (strings.EqualFold
// maps U+212A KELVIN SIGN to k) would match names that are not equal.
func asciiEqualFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		ca, cb := a[i], b[i]
		if ca == cb {
			continue
		}
		if 'A' <= ca && ca <= 'Z' {
			ca += 'a' - 'A'
		}
		if 'A' <= cb && cb <= 'Z' {
			cb += 'a' - 'A'
		}
		if ca != cb {
			return false
		}
	}
	return true
}

// parseQuery parses the request's query string. A query that is not valid
// URL encoding cannot be deserialized into the operation's input.
func parseQuery(op operation, r *http.Request) (url.Values, error) {
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, &ebs.Error{
			Op:      op.String(),
			Kind:    ebs.KindSerialization,
			Message: "The query string is not valid URL encoding.",
			Err:     err,
		}
	}
	return q, nil
}

// queryValue returns the decoded value of the query key, or nil when the
// query does not carry it. A repeated key yields its first value.
func queryValue(q url.Values, key string) *string {
	if vs := q[key]; len(vs) > 0 {
		return &vs[0]
	}
	return nil
}
