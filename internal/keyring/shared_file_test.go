package keyring_test

import (
	"bytes"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/ebsd/ebsd/internal/keyring"
)

// TestWriterKeepsKeysAddedByOthers: the server's keyring, opened before
// 'ebsd kms-key add' ran, must not erase the added key when it next
// creates a default key (the newcomer report's bug).
func TestWriterKeepsKeysAddedByOthers(t *testing.T) {
	path := filepath.Join(t.TempDir(), "kms-keys.json")
	server := mustOpen(t, path)
	if err := mustOpen(t, path).Add(someARN); err != nil { // the CLI
		t.Fatal(err)
	}
	def, err := server.DefaultKeyARN(account)
	if err != nil {
		t.Fatal(err)
	}
	got := mustOpen(t, path).ARNs()
	for _, want := range []string{someARN, def} {
		if !slices.Contains(got, want) {
			t.Errorf("file has %v after the server created a default key; %s is missing", got, want)
		}
	}
	// The key added behind the server's back is in its memory too now.
	if !server.Has(someARN) {
		t.Errorf("server.Has(%s) = false after its own write re-read the file", someARN)
	}
}

// TestConcurrentWritersLoseNoKey: CLI adds (each its own Keyring, as a
// separate process would be) racing with a server creating default keys
// end with every key in the file.
func TestConcurrentWritersLoseNoKey(t *testing.T) {
	path := filepath.Join(t.TempDir(), "kms-keys.json")
	server := mustOpen(t, path)
	const n = 16
	var wg sync.WaitGroup
	added := make([]string, n)
	defaults := make([]string, n)
	for i := range n {
		added[i] = fmt.Sprintf("arn:aws:kms:us-east-1:111122223333:key/added-%02d", i)
		wg.Go(func() {
			k, err := keyring.Open(path, region)
			if err == nil {
				err = k.Add(added[i])
			}
			if err != nil {
				t.Errorf("add %s: %v", added[i], err)
			}
		})
		wg.Go(func() {
			arn, err := server.DefaultKeyARN(fmt.Sprintf("%012d", 100000000000+i))
			if err != nil {
				t.Errorf("default key %d: %v", i, err)
			}
			defaults[i] = arn
		})
	}
	wg.Wait()
	got := mustOpen(t, path).ARNs()
	var lost []string
	for _, arn := range slices.Concat(added, defaults) {
		if !slices.Contains(got, arn) {
			lost = append(lost, arn)
		}
	}
	if len(lost) > 0 {
		t.Errorf("%d of %d keys lost from the file: %v", len(lost), 2*n, lost)
	}
}

// TestUnknownKeyReadsFileOnce: a key added to the file after Open is found
// by Has, NewDataKey and Unwrap without reopening.
func TestUnknownKeyReadsFileOnce(t *testing.T) {
	path := filepath.Join(t.TempDir(), "kms-keys.json")
	server := mustOpen(t, path)
	if server.Has(someARN) {
		t.Fatalf("Has(%s) before it was added", someARN)
	}
	if err := mustOpen(t, path).Add(someARN); err != nil {
		t.Fatal(err)
	}
	if !server.Has(someARN) {
		t.Fatalf("Has(%s) = false after 'kms-key add' wrote it to the file", someARN)
	}
	if _, _, err := server.NewDataKey(someARN); err != nil {
		t.Errorf("NewDataKey: %v", err)
	}
}

// TestReload: Reload adopts keys added to the file; a broken or
// contradicting file changes nothing and says what is wrong, and a lookup
// that re-reads such a file logs it as an error.
func TestReload(t *testing.T) {
	path := filepath.Join(t.TempDir(), "kms-keys.json")
	server := mustOpen(t, path)
	def, err := server.DefaultKeyARN(account)
	if err != nil {
		t.Fatal(err)
	}
	if err := mustOpen(t, path).Add(someARN); err != nil {
		t.Fatal(err)
	}
	if err := server.Reload(); err != nil {
		t.Fatal(err)
	}
	if got := server.ARNs(); !slices.Equal(got, slices.Sorted(slices.Values([]string{def, someARN}))) {
		t.Errorf("ARNs after Reload = %v, want %s and %s", got, def, someARN)
	}
	good, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	const otherARN = "arn:aws:kms:us-east-1:111122223333:key/other"
	for _, tc := range []struct {
		name, content, wantErr string
	}{
		{"truncated", string(good[:len(good)/2]), "unexpected EOF"},
		{"other material", materialChanged(t, good), "differs"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := os.WriteFile(path, []byte(tc.content), 0o600); err != nil {
				t.Fatal(err)
			}
			err := server.Reload()
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !strings.Contains(err.Error(), path) {
				t.Errorf("Reload of a %s file: err = %v, want one naming %s and saying %q", tc.name, err, path, tc.wantErr)
			}
			if !server.Has(def) || !server.Has(someARN) {
				t.Errorf("keys lost after a failed Reload: %v", server.ARNs())
			}
			var log bytes.Buffer
			server.SetLogger(slog.New(slog.NewTextHandler(&log, nil)))
			if server.Has(otherARN) {
				t.Errorf("Has(%s) = true", otherARN)
			}
			if !strings.Contains(log.String(), "level=ERROR") || !strings.Contains(log.String(), tc.wantErr) {
				t.Errorf("a miss that re-read the %s file logged %q, want an error saying %q", tc.name, log.String(), tc.wantErr)
			}
		})
	}
}

// materialChanged returns the keys file content with its first key's
// material replaced by other valid material.
func materialChanged(t *testing.T, content []byte) string {
	t.Helper()
	i := bytes.Index(content, []byte(`"material": "`))
	if i < 0 {
		t.Fatalf("no material in %s", content)
	}
	i += len(`"material": "`)
	out := slices.Clone(content)
	if out[i] == 'A' {
		out[i] = 'B'
	} else {
		out[i] = 'A'
	}
	return string(out)
}
