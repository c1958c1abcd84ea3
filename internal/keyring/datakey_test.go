package keyring_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/ebsd/ebsd/internal/keyring"
)

// TestWrapRewrapsADataKey is CopySnapshot's re-wrap: a data key made under
// one master key, wrapped under another, unwraps to the same key under the
// second only.
func TestWrapRewrapsADataKey(t *testing.T) {
	k := mustOpen(t, keyringPath(t))
	first, err := k.DefaultKeyARN(account)
	if err != nil {
		t.Fatal(err)
	}
	if err := k.Add(someARN); err != nil {
		t.Fatal(err)
	}
	plain, wrapped, err := k.NewDataKey(first)
	if err != nil {
		t.Fatal(err)
	}
	rewrapped, err := k.Wrap(someARN, plain)
	if err != nil {
		t.Fatal(err)
	}
	got, err := k.Unwrap(someARN, rewrapped)
	if err != nil || !bytes.Equal(got, plain) {
		t.Fatalf("Unwrap(rewrapped) = %x, %v; want the data key", got, err)
	}
	if _, err := k.Unwrap(first, rewrapped); !errors.Is(err, keyring.ErrBadWrap) {
		t.Errorf("Unwrap under the first key: %v, want ErrBadWrap", err)
	}
	if bytes.Equal(wrapped, rewrapped) {
		t.Error("wrapped forms under two keys are equal")
	}
	if _, err := k.Wrap(someARN, plain[:5]); err == nil {
		t.Error("Wrap of a short key succeeded")
	}
	if _, err := k.Wrap("arn:aws:kms:us-east-1:111122223333:key/none", plain); !errors.Is(err, keyring.ErrUnknownKey) {
		t.Errorf("Wrap under an unknown key: %v, want ErrUnknownKey", err)
	}
}
