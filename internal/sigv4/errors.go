package sigv4

import (
	"errors"
	"fmt"
	"time"

	"github.com/ebsd/ebsd/internal/ebs"
)

// AWS's wording for the signature failures a client can act on.
const (
	msgMissingAuth   = "Missing Authentication Token"
	msgUnknownClient = "The security token included in the request is invalid."
	msgMismatch      = "The request signature we calculated does not match the signature you provided. " +
		"Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
	msgMissingDate = "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header."
)

// maxEcho bounds how much of a client's own input is quoted back in an
// error message, so a huge header cannot make a huge error.
const maxEcho = 64

// echo returns s clipped to maxEcho bytes, for quoting in a message.
func echo(s string) string { return Clip(s, maxEcho) }

func errMissingAuth() error {
	return &ebs.Error{Kind: ebs.KindMissingAuth, Message: msgMissingAuth, Err: &Failure{Cause: CauseMissing}}
}

func errUnknownClient() error {
	return &ebs.Error{Kind: ebs.KindUnknownClient, Message: msgUnknownClient, Err: &Failure{Cause: CauseUnknownKey}}
}

// errIncomplete reports a malformed or incomplete Authorization.
func errIncomplete(format string, args ...any) error {
	return &ebs.Error{Kind: ebs.KindIncompleteSignature, Message: fmt.Sprintf(format, args...),
		Err: &Failure{Cause: CauseMalformed}}
}

// errBadSignature reports a credential scope that does not match (wrong
// service, wrong date) with a message of its own, as
// InvalidSignatureException.
func errBadSignature(format string, args ...any) error {
	return &ebs.Error{Kind: ebs.KindBadSignature, Message: fmt.Sprintf(format, args...),
		Err: &Failure{Cause: CauseScope}}
}

// errMismatch reports a signature that does not match. cause explains why
// for the server log; it must never contain the secret or the expected
// signature.
func errMismatch(cause error) error {
	return &ebs.Error{Kind: ebs.KindBadSignature, Message: msgMismatch, Err: &Failure{Cause: CauseMismatch, Err: cause}}
}

// errSkew reports a request date outside [now-skew, now+skew], in AWS's
// words, e.g. "Signature expired: 20260101T000000Z is now earlier than
// 20260101T001000Z (20260101T002500Z - 15 min.)".
func errSkew(date, now time.Time, skew time.Duration) error {
	var msg string
	if date.Before(now) {
		msg = fmt.Sprintf("Signature expired: %s is now earlier than %s (%s - %s)",
			date.Format(amzDateLayout), now.Add(-skew).Format(amzDateLayout), now.Format(amzDateLayout), skewText(skew))
	} else {
		msg = fmt.Sprintf("Signature not yet current: %s is still later than %s (%s + %s)",
			date.Format(amzDateLayout), now.Add(skew).Format(amzDateLayout), now.Format(amzDateLayout), skewText(skew))
	}
	return &ebs.Error{Kind: ebs.KindBadSignature, Message: msg, Err: &Failure{Cause: CauseClockSkew, Skew: date.Sub(now)}}
}

// skewText writes d like AWS does ("15 min.") when it is whole minutes.
func skewText(d time.Duration) string {
	if d%time.Minute == 0 {
		return fmt.Sprintf("%d min.", d/time.Minute)
	}
	return d.String()
}

// Cause is why Verify refused a request, in a word for the operator's log:
// the client's message is AWS's wording, which does not tell a forged
// signature from a wrong clock without reading it.
type Cause uint8

// The causes of a refusal.
const (
	CauseMissing    Cause = iota + 1 // no Authorization header
	CauseMalformed                   // a malformed Authorization, date or payload hash header
	CauseUnknownKey                  // the access key ID is not known
	CauseMismatch                    // the signature does not match: a wrong secret or signing bug
	CauseClockSkew                   // the request date is too far from the server's clock
	CauseScope                       // the credential scope names another service or date
)

var causeNames = [...]string{
	CauseMissing:    "missing_authorization",
	CauseMalformed:  "malformed_authorization",
	CauseUnknownKey: "unknown_access_key_id",
	CauseMismatch:   "signature_mismatch",
	CauseClockSkew:  "clock_skew",
	CauseScope:      "credential_scope_mismatch",
}

func (c Cause) String() string {
	if int(c) < len(causeNames) && causeNames[c] != "" {
		return causeNames[c]
	}
	return fmt.Sprintf("cause(%d)", c)
}

// Failure is the machine-readable cause of a refusal by Verify, carried as
// the Err of its *ebs.Error. It holds nothing secret: no secret, no
// signature, no expected signature.
type Failure struct {
	Cause Cause
	// Skew is the request's date minus the server's clock, for
	// CauseClockSkew: negative when the client's clock is behind.
	Skew time.Duration
	// Err is more detail for the log, or nil.
	Err error
}

func (f *Failure) Error() string {
	s := f.Cause.String()
	if f.Cause == CauseClockSkew {
		s += " " + f.Skew.String()
	}
	if f.Err != nil {
		s += ": " + f.Err.Error()
	}
	return s
}

func (f *Failure) Unwrap() error { return f.Err }

// FailureOf returns the Failure of an error returned by Verify, or nil
// when err is not a refusal of the signature (a body too large, say).
func FailureOf(err error) *Failure {
	var f *Failure
	if errors.As(err, &f) {
		return f
	}
	return nil
}
