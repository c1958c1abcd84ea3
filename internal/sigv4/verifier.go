package sigv4

import (
	"crypto/hmac"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/ebsd/ebsd/internal/ebs"
)

// Defaults of the Verifier's zero fields.
const (
	DefaultService = "ebs"            // the SigV4 signing name of the EBS direct APIs
	DefaultMaxSkew = 15 * time.Minute // AWS's limit on clock difference
	// DefaultMaxBody is the most Verify reads of a body that comes without
	// X-Amz-Content-Sha256, to hash it before it can check the signature.
	// Only the JSON operations omit the header (Go and botocore SDKs), and
	// their bodies are a few hundred bytes; the wire layer caps them at
	// 64 KiB too. Anything Verify reads, it reads for whoever knows an
	// access-key ID, so it must stay small (review F5).
	DefaultMaxBody = 64 << 10
)

// amzDateLayout is the layout of X-Amz-Date, ISO 8601 basic format in UTC.
const amzDateLayout = "20060102T150405Z"

// KeyLookup is what the verifier needs of a credentials store.
type KeyLookup interface {
	// SecretKey returns the secret access key and account ID of
	// accessKeyID; ok=false when unknown.
	SecretKey(accessKeyID string) (secret, accountID string, ok bool)
}

// Verifier checks the SigV4 signature of incoming requests. It is safe for
// concurrent use; its fields must not change, and it must not be copied,
// once it is in use (it caches derived signing keys).
type Verifier struct {
	Service string           // the service in the credential scope; "" means "ebs"
	Keys    KeyLookup        // where secrets come from; required
	Now     func() time.Time // nil means time.Now
	MaxSkew time.Duration    // the largest accepted clock difference; 0 means 15 minutes
	MaxBody int64            // the largest body Verify reads to hash it itself; 0 means DefaultMaxBody

	signingKeys signingKeys
}

// Identity is who signed a request that Verify accepted.
type Identity struct {
	AccessKeyID string
	AccountID   string
	Region      string // the region of the credential scope; any region is accepted

	// PayloadHash is the payload hash the signature covers: UnsignedPayload,
	// or 64 lowercase hex digits. A hex value that came from the
	// X-Amz-Content-Sha256 header was NOT checked against the body, which
	// Verify leaves unread; the caller must hash the body it reads and
	// refuse the request when the two differ. A hex value that Verify
	// computed itself (no header) is the hash of the body it read.
	PayloadHash string
}

// Verify checks the SigV4 Authorization of r and returns who signed it.
//
// With an X-Amz-Content-Sha256 header the signature is checked from the
// headers alone and the body is not touched. Without it, Verify must hash
// the body first: it refuses a declared Content-Length above MaxBody before
// reading a byte, reads at most MaxBody+1 bytes of a chunked body, and
// replaces r.Body with a reader over the bytes it read. Bounding how long
// that read may take is the caller's job (a read deadline), since Verify
// knows no connection.
//
// Every error is an *ebs.Error of kind KindMissingAuth,
// KindIncompleteSignature, KindUnknownClient or KindBadSignature (or
// KindInvalid when the body cannot be read or is too large), with Op "".
func (v *Verifier) Verify(r *http.Request) (Identity, error) {
	auths := r.Header["Authorization"]
	if len(auths) == 1 && strings.TrimSpace(auths[0]) == "" {
		auths = nil
	}
	if len(auths) == 0 {
		if r.URL != nil && r.URL.Query().Has("X-Amz-Signature") {
			return Identity{}, errIncomplete("Query-string (presigned) authentication is not supported; sign the request with an Authorization header.")
		}
		return Identity{}, errMissingAuth()
	}
	if len(auths) > 1 {
		return Identity{}, errIncomplete("The request must have exactly one Authorization header.")
	}

	amzDate, dateValue, hasDate := requestDate(r)
	a, err := parseAuthorization(auths[0], hasDate)
	if err != nil {
		return Identity{}, err
	}
	date, err := parseDate(dateValue, amzDate != "")
	if err != nil {
		return Identity{}, err
	}
	if amzDate == "" {
		amzDate = date.Format(amzDateLayout)
	}
	if service := v.service(); a.service != service {
		return Identity{}, errBadSignature("Credential should be scoped to correct service: '%s'.", service)
	}
	if a.date != amzDate[:8] {
		return Identity{}, errBadSignature("Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '%s' != '%s', from '%s'.",
			echo(a.date), amzDate[:8], amzDate)
	}
	if v.Keys == nil {
		return Identity{}, &ebs.Error{Kind: ebs.KindInternal, Message: "Internal error.", Err: errors.New("sigv4: Verifier has no Keys")}
	}
	secret, account, ok := v.Keys.SecretKey(a.accessKeyID)
	if !ok {
		return Identity{}, errUnknownClient()
	}
	now := v.now()
	if skew := v.maxSkew(); date.Before(now.Add(-skew)) || date.After(now.Add(skew)) {
		return Identity{}, errSkew(date, now, skew)
	}

	payload, err := payloadHash(r, v.maxBody())
	if err != nil {
		return Identity{}, err
	}

	// A PutSnapshotBlock canonical request is about 600 bytes: build it on
	// the stack.
	var crBuf [1024]byte
	cr, err := appendCanonicalRequest(crBuf[:0], r, a.signedHeaders, payload)
	if err != nil {
		return Identity{}, errMismatch(fmt.Errorf("canonical request: %w", err))
	}
	var stsBuf [256]byte
	sts := appendStringToSign(stsBuf[:0], amzDate, a.scope, cr)
	want := signature(v.signingKeys.get(a.accessKeyID, secret, a.date, a.region, a.service), sts)
	if !hmac.Equal(want[:], []byte(a.signature)) {
		return Identity{}, errMismatch(fmt.Errorf("string to sign %q", sts))
	}
	return Identity{AccessKeyID: a.accessKeyID, AccountID: account, Region: a.region, PayloadHash: payload}, nil
}

// requestDate returns the date the request was signed at. amzDate is the
// X-Amz-Date value ("" when the request has only Date), value the header
// to parse, and ok whether the request has either header.
func requestDate(r *http.Request) (amzDate, value string, ok bool) {
	if vs := lookupHeader(r.Header, "X-Amz-Date"); len(vs) > 0 {
		return vs[0], vs[0], true
	}
	if vs := lookupHeader(r.Header, "Date"); len(vs) > 0 {
		return "", vs[0], true
	}
	return "", "", false
}

// parseDate parses an X-Amz-Date value (amz) or a Date value. Both may be
// in ISO 8601 basic format, which must round-trip so that the date checked
// is the date that was signed; Date may also be an HTTP date.
func parseDate(s string, amz bool) (time.Time, error) {
	var buf [len(amzDateLayout)]byte
	if t, err := time.Parse(amzDateLayout, s); err == nil && string(t.AppendFormat(buf[:0], amzDateLayout)) == s {
		return t, nil
	}
	if t, err := http.ParseTime(s); err == nil && !amz {
		return t.UTC(), nil
	}
	return time.Time{}, errIncomplete("Date must be in ISO-8601 'basic format'. Got '%s'. See http://en.wikipedia.org/wiki/ISO_8601", echo(s))
}

func (v *Verifier) service() string {
	if v.Service == "" {
		return DefaultService
	}
	return v.Service
}

func (v *Verifier) now() time.Time {
	if v.Now == nil {
		return time.Now()
	}
	return v.Now()
}

func (v *Verifier) maxSkew() time.Duration {
	if v.MaxSkew <= 0 {
		return DefaultMaxSkew
	}
	return v.MaxSkew
}

func (v *Verifier) maxBody() int64 {
	if v.MaxBody <= 0 {
		return DefaultMaxBody
	}
	return v.MaxBody
}
