package credentials_test

import (
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/ebsd/ebsd/internal/credentials"
)

// TestStorageQuota reads storage_quota as bytes or a size string, per
// account, follows Reload, and refuses bad values and an account whose
// entries disagree.
func TestStorageQuota(t *testing.T) {
	entry := func(c credentials.Credential, quota string) string {
		s := `{"access_key_id": "` + c.AccessKeyID + `", "secret_access_key": "s", "account_id": "` + c.AccountID + `"`
		if quota != "" {
			s += `, "storage_quota": ` + quota
		}
		return s + "}"
	}
	file := func(entries ...string) string {
		return `{"version": 1, "credentials": [` + strings.Join(entries, ",") + "]}\n"
	}
	path := writeFile(t, file(entry(alice, `"10GiB"`), entry(alice2, ""), entry(bob, "")), 0o600)
	s, err := credentials.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if q, ok := s.StorageQuota(alice.AccountID); !ok || q != 10<<30 {
		t.Errorf("StorageQuota(alice) = %d, %v; want 10 GiB, true", q, ok)
	}
	if q, ok := s.StorageQuota(bob.AccountID); ok || q != 0 {
		t.Errorf("StorageQuota(bob) = %d, %v; want 0, false (the server's default applies)", q, ok)
	}

	// Reload follows the file: a number of bytes, and 0 for no quota.
	if err := os.WriteFile(path, []byte(file(entry(alice, "0"), entry(bob, "1048576"))), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := s.Reload(); err != nil {
		t.Fatal(err)
	}
	if q, ok := s.StorageQuota(alice.AccountID); !ok || q != 0 {
		t.Errorf("StorageQuota(alice) after reload = %d, %v; want 0, true", q, ok)
	}
	if q, ok := s.StorageQuota(bob.AccountID); !ok || q != 1<<20 {
		t.Errorf("StorageQuota(bob) after reload = %d, %v; want 1 MiB, true", q, ok)
	}

	for _, tc := range []struct{ name, content, want string }{
		{"negative", file(entry(alice, "-1")), "storage_quota is -1"},
		{"fraction", file(entry(alice, "1.5")), "storage_quota is 1.5"},
		{"bad unit", file(entry(alice, `"10 parsecs"`)), "unknown unit"},
		{"disagree", file(entry(alice, `"1GiB"`), entry(alice2, `"2GiB"`)), "differs from credentials[0]'s"},
	} {
		_, err := credentials.Load(writeFile(t, tc.content, 0o600))
		if !errors.Is(err, credentials.ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: Load error = %v, want ErrInvalid mentioning %q", tc.name, err, tc.want)
		}
	}
}
