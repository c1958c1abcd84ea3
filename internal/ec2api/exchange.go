package ec2api

import (
	"net/http"
	"time"

	"github.com/ebsd/ebsd/internal/reqmetrics"
	"github.com/ebsd/ebsd/internal/sigv4"
)

// exchange is one request/response in flight: the ResponseWriter the
// handler writes to, which records the status and counts the bytes sent,
// plus what the metrics and the access log need to know once the request
// is served.
type exchange struct {
	reqmetrics.Writer

	id       string    // the request ID, sent as x-amzn-RequestId and in the body
	api      apiName   // the API whose words the answer uses
	op       operation // set once the action is known
	account  string    // the authenticated account, "" before
	remote   string    // the client's address
	outcome  string    // the error code written, "" on success
	received int64     // request body bytes read

	// authFailure is why authentication failed, for the access log; nil
	// otherwise.
	authFailure *authFailure
}

// authFailure is why the verifier refused a request, in words for an
// operator: the client's message is AWS's, which does not tell a wrong
// secret from a wrong clock. It holds no secret and no signature.
type authFailure struct {
	cause       string        // e.g. "unknown_access_key_id", "clock_skew"
	accessKeyID string        // the key the request claimed, "" when none
	skew        time.Duration // the request's date minus the server's clock, for clock_skew
}

// noteAuthFailure keeps why the verifier refused r, for the access log.
func (x *exchange) noteAuthFailure(r *http.Request, err error) {
	f := sigv4.FailureOf(err)
	if f == nil {
		return // not a refusal of the signature (an internal error)
	}
	x.authFailure = &authFailure{cause: f.Cause.String(), accessKeyID: echo(sigv4.ClaimedKeyID(r)), skew: f.Skew}
}
