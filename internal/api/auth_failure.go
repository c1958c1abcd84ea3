package api

import "time"

// AuthFailure is an Authenticator's refusal with why it refused, for the
// access log: the client's error (AWS's wording) rarely tells an operator
// a wrong secret from a wrong clock. Err is what is written to the client,
// as for any error of Authenticate. No field may hold a secret, a
// signature or a token.
type AuthFailure struct {
	Err error
	// Reason is a short word for why, e.g. "unknown_access_key_id",
	// "signature_mismatch", "clock_skew".
	Reason string
	// AccessKeyID is the key ID the request claimed, "" when it had none.
	// It is not secret: it names the key, like a user name.
	AccessKeyID string
	// ClockSkew is the request's date minus the server's clock when the
	// date was refused; 0 otherwise.
	ClockSkew time.Duration
}

func (f *AuthFailure) Error() string {
	if f.Err == nil {
		return "authentication failed: " + f.Reason
	}
	return f.Err.Error()
}

func (f *AuthFailure) Unwrap() error { return f.Err }
