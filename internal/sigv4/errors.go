package sigv4

import (
	"fmt"
	"time"
	"unicode/utf8"

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

// echo returns s shortened to about maxEcho bytes, at a rune boundary,
// for quoting in a message.
func echo(s string) string {
	if len(s) <= maxEcho {
		return s
	}
	n := maxEcho
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "..."
}

func errMissingAuth() error {
	return &ebs.Error{Kind: ebs.KindMissingAuth, Message: msgMissingAuth}
}

func errUnknownClient() error {
	return &ebs.Error{Kind: ebs.KindUnknownClient, Message: msgUnknownClient}
}

// errIncomplete reports a malformed or incomplete Authorization.
func errIncomplete(format string, args ...any) error {
	return &ebs.Error{Kind: ebs.KindIncompleteSignature, Message: fmt.Sprintf(format, args...)}
}

// errBadSignature reports a signature problem with a message of its own
// (expired, wrong scope), as InvalidSignatureException.
func errBadSignature(format string, args ...any) error {
	return &ebs.Error{Kind: ebs.KindBadSignature, Message: fmt.Sprintf(format, args...)}
}

// errMismatch reports a signature that does not match. cause explains why
// for the server log; it must never contain the secret or the expected
// signature.
func errMismatch(cause error) error {
	return &ebs.Error{Kind: ebs.KindBadSignature, Message: msgMismatch, Err: cause}
}

// errSkew reports a request date outside [now-skew, now+skew], in AWS's
// words, e.g. "Signature expired: 20260101T000000Z is now earlier than
// 20260101T001000Z (20260101T002500Z - 15 min.)".
func errSkew(date, now time.Time, skew time.Duration) error {
	if date.Before(now) {
		return errBadSignature("Signature expired: %s is now earlier than %s (%s - %s)",
			date.Format(amzDateLayout), now.Add(-skew).Format(amzDateLayout), now.Format(amzDateLayout), skewText(skew))
	}
	return errBadSignature("Signature not yet current: %s is still later than %s (%s + %s)",
		date.Format(amzDateLayout), now.Add(skew).Format(amzDateLayout), now.Format(amzDateLayout), skewText(skew))
}

// skewText writes d like AWS does ("15 min.") when it is whole minutes.
func skewText(d time.Duration) string {
	if d%time.Minute == 0 {
		return fmt.Sprintf("%d min.", d/time.Minute)
	}
	return d.String()
}
