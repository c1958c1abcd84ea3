package sigv4

import (
	"encoding/hex"
	"strconv"
	"testing"
)

// TestDeriveKey checks the key derivation against the example of the AWS
// documentation ("Examples of how to derive a signing key for Signature
// Version 4").
func TestDeriveKey(t *testing.T) {
	key := deriveKey("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "20120215", "us-east-1", "iam")
	const want = "f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d"
	if got := hex.EncodeToString(key[:]); got != want {
		t.Errorf("deriveKey=%s, want %s", got, want)
	}
}

func TestSigningKeysCache(t *testing.T) {
	var c signingKeys
	a := c.get("AK", "secret-a", "20260101", "us-east-1", "ebs")
	if a != deriveKey("secret-a", "20260101", "us-east-1", "ebs") {
		t.Fatal("first get returned a wrong key")
	}
	if got := c.get("AK", "secret-a", "20260101", "us-east-1", "ebs"); got != a {
		t.Error("cached get returned a different key")
	}
	// A rotated secret must not get the old key.
	b := c.get("AK", "secret-b", "20260101", "us-east-1", "ebs")
	if b == a || b != deriveKey("secret-b", "20260101", "us-east-1", "ebs") {
		t.Error("get after a secret rotation returned a stale or wrong key")
	}
	for i := range 3 * maxCachedKeys {
		c.get("AK", "s", "20260101", strconv.Itoa(i), "ebs")
	}
	if n := len(c.m); n > maxCachedKeys {
		t.Errorf("cache holds %d keys, want at most %d", n, maxCachedKeys)
	}
}
