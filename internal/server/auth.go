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
		return api.Caller{}, err
	}
	return api.Caller{AccountID: id.AccountID, PayloadHash: id.PayloadHash}, nil
}
