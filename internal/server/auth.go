package server

import (
	"net/http"

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
// word for the cause, the access key ID the request claimed (the api
// layer bounds its length in the log), and the clock skew. An error that
// is no refusal of the signature (a body too large, an internal error) is
// returned as it is.
func authFailure(r *http.Request, err error) error {
	f := sigv4.FailureOf(err)
	if f == nil {
		return err
	}
	return &api.AuthFailure{Err: err, Reason: f.Cause.String(), AccessKeyID: sigv4.ClaimedKeyID(r), ClockSkew: f.Skew}
}
