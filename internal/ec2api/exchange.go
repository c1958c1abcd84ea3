package ec2api

import (
	"net/http"
	"strings"
	"time"

	"github.com/ebsd/ebsd/internal/sigv4"
)

// exchange is one request/response in flight: the ResponseWriter the
// handler writes to, plus what the metrics and the access log need to know
// once the request is served.
type exchange struct {
	http.ResponseWriter

	id       string    // the request ID, sent as x-amzn-RequestId and in the body
	api      apiName   // the API whose words the answer uses
	op       operation // set once the action is known
	account  string    // the authenticated account, "" before
	remote   string    // the client's address
	outcome  string    // the error code written, "" on success
	status   int       // the status written, 0 before WriteHeader
	received int64     // request body bytes read
	sent     int64     // response body bytes written

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

func (x *exchange) WriteHeader(status int) {
	if x.status != 0 {
		return
	}
	x.status = status
	x.ResponseWriter.WriteHeader(status)
}

func (x *exchange) Write(p []byte) (int, error) {
	if x.status == 0 {
		x.WriteHeader(http.StatusOK)
	}
	n, err := x.ResponseWriter.Write(p)
	x.sent += int64(n)
	return n, err
}

// Unwrap returns the underlying ResponseWriter, for http.ResponseController.
func (x *exchange) Unwrap() http.ResponseWriter { return x.ResponseWriter }

// noteAuthFailure keeps why the verifier refused r, for the access log.
func (x *exchange) noteAuthFailure(r *http.Request, err error) {
	f := sigv4.FailureOf(err)
	if f == nil {
		return // not a refusal of the signature (an internal error)
	}
	x.authFailure = &authFailure{cause: f.Cause.String(), accessKeyID: claimedKeyID(r), skew: f.Skew}
}

// claimedKeyID returns the access key ID in the Credential of r's
// Authorization header, "" when there is none. The key ID is not secret;
// the signature is never returned.
func claimedKeyID(r *http.Request) string {
	_, cred, ok := strings.Cut(r.Header.Get("Authorization"), "Credential=")
	if !ok {
		return ""
	}
	id, _, _ := strings.Cut(cred, "/")
	if i := strings.IndexAny(id, ", "); i >= 0 {
		id = id[:i]
	}
	return echo(id)
}
