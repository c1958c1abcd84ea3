package keyring

import "errors"

// These errors are returned by Keyring's methods, wrapped with %w.
var (
	// ErrUnknownKey means no master key has the given ARN.
	ErrUnknownKey = errors.New("keyring: unknown key")

	// ErrExists means Add found a key with the given ARN already there.
	ErrExists = errors.New("keyring: key already exists")

	// ErrBadWrap means a wrapped data key is malformed, altered, or was
	// wrapped under another key or ARN.
	ErrBadWrap = errors.New("keyring: wrapped data key does not unwrap")
)
