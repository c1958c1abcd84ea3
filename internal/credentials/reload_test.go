package credentials_test

import (
	"bytes"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/ebsd/ebsd/internal/credentials"
)

// replaceFile rewrites the credentials file at path as an editor would.
func replaceFile(tb testing.TB, path, content string) {
	tb.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		tb.Fatal(err)
	}
}

// TestCredentialAddedToFileIsFound: an access key added to the file after
// Load authenticates without a restart: the miss re-reads the file.
func TestCredentialAddedToFileIsFound(t *testing.T) {
	path := writeFile(t, fileJSON(alice), 0o600)
	s, err := credentials.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	replaceFile(t, path, fileJSON(alice, bob))
	if secret, account, ok := s.SecretKey(bob.AccessKeyID); !ok || secret != bob.SecretAccessKey || account != bob.AccountID {
		t.Errorf("SecretKey(%s) after adding it to the file: ok = %v, account %q; want its entry", bob.AccessKeyID, ok, account)
	}
}

// TestMissRereadsAtMostOncePerSecond: unknown keys come from anyone, so
// the file is re-read for them at most once a second.
func TestMissRereadsAtMostOncePerSecond(t *testing.T) {
	path := writeFile(t, fileJSON(alice), 0o600)
	s, err := credentials.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, ok := s.SecretKey(bob.AccessKeyID); ok {
		t.Fatal("bob known before he is in the file")
	}
	replaceFile(t, path, fileJSON(alice, bob))
	if _, _, ok := s.SecretKey(bob.AccessKeyID); ok {
		t.Error("a second miss within a second re-read the file")
	}
	time.Sleep(1100 * time.Millisecond)
	if _, _, ok := s.SecretKey(bob.AccessKeyID); !ok {
		t.Error("a miss more than a second after the last re-read did not re-read the file")
	}
}

// TestReload: Reload puts the file's content in force, removals included;
// a broken or missing file keeps the credentials read before, and the
// error (and a miss's log line) says what is wrong.
func TestReload(t *testing.T) {
	path := writeFile(t, fileJSON(alice, bob), 0o600)
	s, err := credentials.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	replaceFile(t, path, fileJSON(alice, alice2))
	if err := s.Reload(); err != nil {
		t.Fatal(err)
	}
	if _, _, ok := s.SecretKey(alice2.AccessKeyID); !ok {
		t.Error("a key added to the file is unknown after Reload")
	}
	if _, _, ok := s.SecretKey(bob.AccessKeyID); ok {
		t.Error("a key removed from the file still works after Reload")
	}
	for _, tc := range []struct{ name, content, want string }{
		{"truncated", fileJSON(alice)[:20], "ends too early"},
		{"invalid", `{"version": 1, "credentials": [{"access_key_id": "short", "secret_access_key": "s", "account_id": "1"}]}`, "must be exactly 12 digits"},
		{"missing", "", "no such file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.name == "missing" {
				if err := os.Remove(path); err != nil {
					t.Fatal(err)
				}
			} else {
				replaceFile(t, path, tc.content)
			}
			err := s.Reload()
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), path) {
				t.Errorf("Reload of a %s file: err = %v, want one naming %s and saying %q", tc.name, err, path, tc.want)
			}
			if _, _, ok := s.SecretKey(alice2.AccessKeyID); !ok {
				t.Errorf("Reload of a %s file dropped the credentials read before", tc.name)
			}
			var log bytes.Buffer
			s.SetLogger(slog.New(slog.NewTextHandler(&log, nil)))
			time.Sleep(1100 * time.Millisecond) // past the miss re-read limit
			if _, _, ok := s.SecretKey(bob.AccessKeyID); ok {
				t.Error("bob known")
			}
			if !strings.Contains(log.String(), "level=ERROR") || !strings.Contains(log.String(), tc.want) {
				t.Errorf("a miss that re-read the %s file logged %q, want an error saying %q", tc.name, log.String(), tc.want)
			}
		})
	}
}
