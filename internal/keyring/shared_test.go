package keyring_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"

	"github.com/ebsd/ebsd/internal/keyring"
)

// memSecrets is a SecretStore in memory, first writer wins, as
// store.MetaStore's Secret is; calls counts the calls per name.
type memSecrets struct {
	mu    sync.Mutex
	m     map[string][]byte
	calls map[string]int
}

func newMemSecrets() *memSecrets {
	return &memSecrets{m: make(map[string][]byte), calls: make(map[string]int)}
}

func (s *memSecrets) Secret(_ context.Context, name string, generate func() ([]byte, error)) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls[name]++
	if v, ok := s.m[name]; ok {
		return bytes.Clone(v), nil
	}
	v, err := generate()
	if err != nil {
		return nil, fmt.Errorf("memSecrets: %w", err)
	}
	s.m[name] = bytes.Clone(v)
	return v, nil
}

func newShared(t *testing.T, s keyring.SecretStore) *keyring.Shared {
	t.Helper()
	k, err := keyring.NewShared(s, "us-east-1")
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// TestSharedDefaultKeyAcrossNodes: nodes that ask for an account's default
// key at once all get one key, and a data key one node wraps, another
// unwraps.
func TestSharedDefaultKeyAcrossNodes(t *testing.T) {
	secrets := newMemSecrets()
	nodes := make([]*keyring.Shared, 4)
	for i := range nodes {
		nodes[i] = newShared(t, secrets)
	}
	arns := make([]string, 16)
	var wg sync.WaitGroup
	for i := range arns {
		wg.Go(func() {
			arn, err := nodes[i%len(nodes)].DefaultKeyARN("123456789012")
			if err != nil {
				t.Error(err)
			}
			arns[i] = arn
		})
	}
	wg.Wait()
	for i, arn := range arns {
		if arn != arns[0] || arn == "" {
			t.Fatalf("caller %d got default key %q, caller 0 %q", i, arn, arns[0])
		}
	}
	plain, wrapped, err := nodes[0].NewDataKey(arns[0])
	if err != nil {
		t.Fatal(err)
	}
	got, err := nodes[3].Unwrap(arns[0], wrapped)
	if err != nil || !bytes.Equal(got, plain) {
		t.Fatalf("another node's Unwrap = %x, %v; want %x", got, err, plain)
	}
	// A node started later, with nothing cached, reads the same key.
	late := newShared(t, secrets)
	if arn, err := late.DefaultKeyARN("123456789012"); err != nil || arn != arns[0] {
		t.Fatalf("a later node's default key = %q, %v; want %q", arn, err, arns[0])
	}
	if other, _ := late.DefaultKeyARN("210987654321"); other == arns[0] {
		t.Fatal("two accounts share a default key")
	}
}

// TestSharedUnknownKey: an unknown ARN is ErrUnknownKey, and asking stores
// nothing under it.
func TestSharedUnknownKey(t *testing.T) {
	secrets := newMemSecrets()
	k := newShared(t, secrets)
	arn := "arn:aws:kms:us-east-1:123456789012:key/0b5f1c3e-0000-4000-8000-000000000001"
	if k.Has(arn) {
		t.Fatal("Has of an unknown key = true")
	}
	if _, err := k.Unwrap(arn, []byte("x")); !errors.Is(err, keyring.ErrUnknownKey) {
		t.Fatalf("Unwrap under an unknown key = %v, want ErrUnknownKey", err)
	}
	if len(secrets.m) != 0 {
		t.Fatalf("a lookup stored %d secrets", len(secrets.m))
	}
	if err := k.Add(arn); err != nil {
		t.Fatal(err)
	}
	if err := newShared(t, secrets).Add(arn); !errors.Is(err, keyring.ErrExists) {
		t.Fatalf("Add of an existing key from another node = %v, want ErrExists", err)
	}
	if !newShared(t, secrets).Has(arn) {
		t.Fatal("a key added on one node is unknown to another")
	}
}

// TestSharedDefaultKeyAfterCrash: a crash between storing a default key's
// ARN and its material leaves an ARN whose material the next call makes.
func TestSharedDefaultKeyAfterCrash(t *testing.T) {
	secrets := newMemSecrets()
	arn := "arn:aws:kms:us-east-1:123456789012:key/0b5f1c3e-0000-4000-8000-000000000002"
	secrets.m["kms/default/123456789012"] = []byte(arn)
	k := newShared(t, secrets)
	got, err := k.DefaultKeyARN("123456789012")
	if err != nil || got != arn {
		t.Fatalf("DefaultKeyARN = %q, %v; want %q", got, err, arn)
	}
	if _, _, err := k.NewDataKey(arn); err != nil {
		t.Fatal(err)
	}
}

// TestSharedImport: a Keyring file's keys, default keys included, are
// imported once; a conflicting key is refused and the others still are.
func TestSharedImport(t *testing.T) {
	file, err := keyring.Open(filepath.Join(t.TempDir(), "kms-keys.json"), "us-east-1")
	if err != nil {
		t.Fatal(err)
	}
	def, err := file.DefaultKeyARN("123456789012")
	if err != nil {
		t.Fatal(err)
	}
	added := "arn:aws:kms:us-east-1:123456789012:key/0b5f1c3e-0000-4000-8000-000000000003"
	if err := file.Add(added); err != nil {
		t.Fatal(err)
	}
	plain, wrapped, err := file.NewDataKey(added)
	if err != nil {
		t.Fatal(err)
	}
	secrets := newMemSecrets()
	k := newShared(t, secrets)
	for range 2 { // idempotent
		if err := k.Import(file); err != nil {
			t.Fatal(err)
		}
	}
	if got, err := newShared(t, secrets).Unwrap(added, wrapped); err != nil || !bytes.Equal(got, plain) {
		t.Fatalf("Unwrap of a file-wrapped data key after import = %v", err)
	}
	if got, err := newShared(t, secrets).DefaultKeyARN("123456789012"); err != nil || got != def {
		t.Fatalf("default key after import = %q, %v; want the file's %q", got, err, def)
	}

	// Another file with another key of the same ARN conflicts.
	other, err := keyring.Open(filepath.Join(t.TempDir(), "kms-keys.json"), "us-east-1")
	if err != nil {
		t.Fatal(err)
	}
	if err := other.Add(added); err != nil {
		t.Fatal(err)
	}
	if err := k.Import(other); err == nil {
		t.Fatal("Import of a different key under an existing ARN succeeded")
	}
	if got, err := newShared(t, secrets).Unwrap(added, wrapped); err != nil || !bytes.Equal(got, plain) {
		t.Fatalf("after a refused import, the shared key changed: %v", err)
	}
}
