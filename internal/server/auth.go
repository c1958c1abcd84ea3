package server

import (
	"net/http"
	"strings"

	"github.com/ebsd/ebsd/internal/api"
	"github.com/ebsd/ebsd/internal/sigv4"
)

// authenticator adapts the SigV4 verifier to the wire layer.
type authenticator struct{ v *sigv4.Verifier }

func (a *authenticator) Authenticate(r *http.Request) (api.Caller, error) {
	id, err := a.v.Verify(r)
	if err != nil {
		return api.Caller{}, authFailure(r, err)
	}
	return api.Caller{AccountID: id.AccountID, PayloadHash: id.PayloadHash}, nil
}

// authFailure adds why the verifier refused r, for the access log: a
// word for the cause, the access key ID the request claimed, and the
// clock skew. An error that is no refusal of the signature (a body too
// large, an internal error) is returned as it is.
func authFailure(r *http.Request, err error) error {
	f := sigv4.FailureOf(err)
	if f == nil {
		return err
	}
	return &api.AuthFailure{Err: err, Reason: f.Cause.String(), AccessKeyID: claimedKeyID(r), ClockSkew: f.Skew}
}

// claimedKeyID returns the access key ID in the Credential of r's
// Authorization header, "" when there is none. The key ID is not secret;
// the rest of the header (the signature) is never returned. The api layer
// bounds its length in the log.
func claimedKeyID(r *http.Request) string {
	_, cred, ok := strings.Cut(r.Header.Get("Authorization"), "Credential=")
	if !ok {
		return ""
	}
	id, _, _ := strings.Cut(cred, "/")
	if i := strings.IndexAny(id, ", "); i >= 0 {
		id = id[:i] // a Credential with no scope: stop at the next parameter
	}
	return id
}
