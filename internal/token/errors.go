package token

import "errors"

// These errors are returned by VerifyBlock and VerifyPage. Every error they
// return wraps exactly one of them.
var (
	// ErrInvalid means the token is malformed, forged, altered, of another
	// kind, or bound to another account, snapshot, index or operation.
	ErrInvalid = errors.New("token: invalid")

	// ErrExpired means the token is authentic but its expiry has passed.
	ErrExpired = errors.New("token: expired")
)
