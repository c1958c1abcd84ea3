package token_test

import (
	"bytes"
	"encoding/base64"
	"testing"
	"time"

	"github.com/ebsd/ebsd/internal/ebs"
	"github.com/ebsd/ebsd/internal/token"
)

const (
	account = "111122223333"
	snapA   = "snap-0e3be26c9ccc164eb"
	snapB   = "snap-0123456789abcdef0"
)

// t0 is a fixed "now"; tokens minted in tests expire a week later.
var (
	t0      = time.Unix(1_790_000_000, 0)
	expires = t0.Add(7 * 24 * time.Hour)
)

// mustSigner returns a Signer with a secret of fill bytes.
func mustSigner(tb testing.TB, fill byte) *token.Signer {
	tb.Helper()
	s, err := token.NewSigner(bytes.Repeat([]byte{fill}, token.MinSecretLen))
	if err != nil {
		tb.Fatalf("NewSigner: %v", err)
	}
	return s
}

// plainClaims are the claims of an unencrypted block: Key == Digest.
func plainClaims() token.BlockClaims {
	d := ebs.Sum([]byte("block"))
	return token.BlockClaims{Digest: d, Key: d}
}

// keyedClaims are the claims of an encrypted block: Key != Digest.
func keyedClaims() token.BlockClaims {
	return token.BlockClaims{Digest: ebs.Sum([]byte("block")), Key: ebs.Sum([]byte("ciphertext"))}
}

// rawOf decodes a token's text; tb fails if it is not RawURLEncoding.
func rawOf(tb testing.TB, tok string) []byte {
	tb.Helper()
	raw, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil {
		tb.Fatalf("token %q is not RawURLEncoding: %v", tok, err)
	}
	return raw
}

// encodeRaw encodes token bytes as the package does.
func encodeRaw(raw []byte) string { return base64.RawURLEncoding.EncodeToString(raw) }
