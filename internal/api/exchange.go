package api

import (
	"io"

	"github.com/ebsd/ebsd/internal/reqmetrics"
)

// exchange is one request/response in flight: the http.ResponseWriter that
// the operations write to, which records the status and counts the bytes
// sent, plus what the metrics and the access log need to know about the
// request once it is served.
type exchange struct {
	reqmetrics.Writer

	id      string    // the request ID, sent as x-amzn-RequestId
	op      operation // set once the route is known
	account string    // the authenticated account, "" before authentication
	remote  string    // the client's address, for the access log
	outcome string    // the AWS error type written, "" on success
	body    countingBody

	// authFailure is why authentication failed, when the Authenticator
	// said; nil otherwise.
	authFailure *AuthFailure

	// vals backs the values of the response headers set with setHeader,
	// so that setting one does not allocate a []string.
	vals  [8]string
	nvals int
}

// setHeader sets the response header key, which must be in canonical form,
// to the single value v.
func (x *exchange) setHeader(key, v string) {
	if x.nvals < len(x.vals) {
		i := x.nvals
		x.nvals++
		x.vals[i] = v
		x.Header()[key] = x.vals[i : i+1 : i+1]
		return
	}
	x.Header()[key] = []string{v}
}

// countingBody counts the request body bytes read through it. It replaces
// r.Body for the whole request; it never copies, so PutSnapshotBlock's
// block still crosses user space once.
type countingBody struct {
	rc io.ReadCloser
	n  int64
}

func (c *countingBody) Read(p []byte) (int, error) {
	n, err := c.rc.Read(p)
	c.n += int64(n)
	return n, err
}

func (c *countingBody) Close() error { return c.rc.Close() }
