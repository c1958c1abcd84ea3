package keyring_test

import (
	"bytes"
	"maps"
	"path/filepath"
	"slices"
	"testing"

	"github.com/ebsd/ebsd/internal/keyring"
)

// TestImportSharedIntoFile moves a shared keyring's keys, a default key
// and an added one, into a keys file: the file's keyring then unwraps
// what the shared one wrapped, keeps the account's default, and a second
// import changes nothing. A file holding another key of a shared ARN is
// refused.
func TestImportSharedIntoFile(t *testing.T) {
	secrets := newMemSecrets()
	shared := newShared(t, secrets)
	def, err := shared.DefaultKeyARN("111122223333")
	if err != nil {
		t.Fatal(err)
	}
	added := "arn:aws:kms:us-east-1:111122223333:key/added"
	if err := shared.Add(added); err != nil {
		t.Fatal(err)
	}
	plain, wrapped, err := shared.NewDataKey(added)
	if err != nil {
		t.Fatal(err)
	}
	names := slices.Sorted(maps.Keys(secrets.m))
	names = append(names, "token-hmac-v1") // not Shared's: ignored

	path := filepath.Join(t.TempDir(), "kms-keys.json")
	file, err := keyring.Open(path, "us-east-1")
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := file.ImportShared(shared, names); err != nil {
			t.Fatalf("ImportShared: %v", err)
		}
	}
	reopened, err := keyring.Open(path, "us-east-1")
	if err != nil {
		t.Fatal(err)
	}
	if got := reopened.ARNs(); !slices.Equal(got, slices.Sorted(slices.Values([]string{def, added}))) {
		t.Errorf("file's keys %v, want %s and %s", got, def, added)
	}
	if got, err := reopened.DefaultKeyARN("111122223333"); err != nil || got != def {
		t.Errorf("file's default key %s, %v; want %s", got, err, def)
	}
	if got, err := reopened.Unwrap(added, wrapped); err != nil || !bytes.Equal(got, plain) {
		t.Errorf("file's keyring unwraps %x, %v; want the shared data key", got, err)
	}

	other := filepath.Join(t.TempDir(), "kms-keys.json")
	clash, err := keyring.Open(other, "us-east-1")
	if err != nil {
		t.Fatal(err)
	}
	if err := clash.Add(added); err != nil {
		t.Fatal(err)
	}
	if err := clash.ImportShared(shared, names); err == nil {
		t.Error("ImportShared into a file with another key of the same ARN succeeded")
	}
	if got := clash.ARNs(); len(got) != 1 {
		t.Errorf("a refused import stored keys: %v", got)
	}
}
