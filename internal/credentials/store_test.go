package credentials_test

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/ebsd/ebsd/internal/credentials"
)

var (
	keyIDShape   = regexp.MustCompile(`^AKIA[A-Z2-7]{16}$`)
	secretShape  = regexp.MustCompile(`^[A-Za-z0-9+/]{40}$`)
	accountShape = regexp.MustCompile(`^[1-9][0-9]{11}$`)
)

// Credentials used by hand-written files. The secrets are distinctive so
// that tests can check they never leak into messages.
var (
	alice  = credentials.Credential{AccessKeyID: "AKIAALICE0000000001", SecretAccessKey: "alice-SECRET-do-not-print", AccountID: "111111111111"}
	alice2 = credentials.Credential{AccessKeyID: "AKIAALICE0000000002", SecretAccessKey: "alice2-SECRET-do-not-print", AccountID: "111111111111"}
	bob    = credentials.Credential{AccessKeyID: "BOBKEY0123456789", SecretAccessKey: "bob/SECRET+do=not-print", AccountID: "222222222222"}
)

func writeFile(tb testing.TB, content string, mode os.FileMode) string {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), "credentials.json")
	if err := os.WriteFile(path, []byte(content), mode); err != nil {
		tb.Fatal(err)
	}
	// WriteFile's mode is filtered by the umask; set it exactly.
	if err := os.Chmod(path, mode); err != nil {
		tb.Fatal(err)
	}
	return path
}

func fileJSON(creds ...credentials.Credential) string {
	var b strings.Builder
	b.WriteString(`{"version": 1, "credentials": [`)
	for i, c := range creds {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, "\n  {\"access_key_id\": %q, \"secret_access_key\": %q, \"account_id\": %q}",
			c.AccessKeyID, c.SecretAccessKey, c.AccountID)
	}
	b.WriteString("\n]}\n")
	return b.String()
}

func TestLoadOrCreateCreatesOnce(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "new", "data")
	path := filepath.Join(dir, "credentials.json")

	s, created, err := credentials.LoadOrCreate(path)
	if err != nil {
		t.Fatalf("LoadOrCreate: %v", err)
	}
	if created == nil {
		t.Fatal("LoadOrCreate of a missing file: created = nil, want the new credential")
	}
	if !keyIDShape.MatchString(created.AccessKeyID) {
		t.Errorf("AccessKeyID = %q, want %v", created.AccessKeyID, keyIDShape)
	}
	if !secretShape.MatchString(created.SecretAccessKey) {
		t.Errorf("SecretAccessKey has length %d or characters outside the AWS alphabet", len(created.SecretAccessKey))
	}
	if !accountShape.MatchString(created.AccountID) {
		t.Errorf("AccountID = %q, want %v", created.AccountID, accountShape)
	}
	if got, want := s.Credentials(), []credentials.Credential{*created}; !slices.Equal(got, want) {
		t.Errorf("Credentials() = %v, want %v", got, want)
	}
	if w := s.Warnings(); len(w) != 0 {
		t.Errorf("Warnings() of a new file = %q, want none", w)
	}

	if runtime.GOOS != "windows" {
		info, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if got := info.Mode().Perm(); got != 0o600 {
			t.Errorf("file mode = %04o, want 0600", got)
		}
		info, err = os.Stat(dir)
		if err != nil {
			t.Fatal(err)
		}
		if got := info.Mode().Perm(); got != 0o700 {
			t.Errorf("created directory mode = %04o, want 0700", got)
		}
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		t.Errorf("directory holds %d entries, want only credentials.json (no temporary files)", len(entries))
	}

	// The second start loads what the first wrote.
	s2, created2, err := credentials.LoadOrCreate(path)
	if err != nil {
		t.Fatalf("second LoadOrCreate: %v", err)
	}
	if created2 != nil {
		t.Errorf("second LoadOrCreate: created = %v, want nil", created2)
	}
	secret, account, ok := s2.SecretKey(created.AccessKeyID)
	if !ok || secret != created.SecretAccessKey || account != created.AccountID {
		t.Errorf("SecretKey after reload: ok=%v, account=%q, secret matches=%v; want true, %q, true",
			ok, account, secret == created.SecretAccessKey, created.AccountID)
	}
}

func TestLoadOrCreateGeneratesDistinctKeys(t *testing.T) {
	seen := map[string]bool{}
	for i := range 5 {
		path := filepath.Join(t.TempDir(), "credentials.json")
		_, c, err := credentials.LoadOrCreate(path)
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range []string{c.AccessKeyID, c.SecretAccessKey} {
			if seen[v] {
				t.Fatalf("run %d generated a value seen before", i)
			}
			seen[v] = true
		}
	}
}

func TestLoadOrCreateConcurrentStartsAgree(t *testing.T) {
	path := filepath.Join(t.TempDir(), "credentials.json")
	const n = 8
	var (
		wg      sync.WaitGroup
		stores  [n]*credentials.Store
		created [n]*credentials.Credential
		errs    [n]error
	)
	for i := range n {
		wg.Go(func() { stores[i], created[i], errs[i] = credentials.LoadOrCreate(path) })
	}
	wg.Wait()
	creators := 0
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("LoadOrCreate %d: %v", i, errs[i])
		}
		if created[i] != nil {
			creators++
		}
	}
	if creators != 1 {
		t.Errorf("%d of %d concurrent LoadOrCreate calls created a credential, want 1", creators, n)
	}
	want := stores[0].Credentials()
	for i := 1; i < n; i++ {
		if got := stores[i].Credentials(); !slices.Equal(got, want) {
			t.Errorf("store %d holds %v, store 0 holds %v", i, got, want)
		}
	}
}

func TestLoadRoundTrip(t *testing.T) {
	want := []credentials.Credential{alice, bob, alice2} // alice and alice2 share an account
	path := writeFile(t, fileJSON(want...), 0o600)

	s, err := credentials.Load(path)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if got := s.Credentials(); !slices.Equal(got, want) {
		t.Errorf("Credentials() = %v, want %v", got, want)
	}
	for _, c := range want {
		secret, account, ok := s.SecretKey(c.AccessKeyID)
		if !ok || secret != c.SecretAccessKey || account != c.AccountID {
			t.Errorf("SecretKey(%s) = (secret ok: %v, %q, %v), want (true, %q, true)",
				c.AccessKeyID, secret == c.SecretAccessKey, account, ok, c.AccountID)
		}
	}
	for _, unknown := range []string{"", "AKIAUNKNOWN000000000", strings.ToLower(alice.AccessKeyID)} {
		if _, _, ok := s.SecretKey(unknown); ok {
			t.Errorf("SecretKey(%q): ok = true, want false", unknown)
		}
	}
	if w := s.Warnings(); len(w) != 0 {
		t.Errorf("Warnings() of a 0600 file = %q, want none", w)
	}

	// Credentials returns a copy.
	got := s.Credentials()
	got[0].SecretAccessKey = "changed"
	if secret, _, _ := s.SecretKey(alice.AccessKeyID); secret != alice.SecretAccessKey {
		t.Error("changing the slice returned by Credentials changed the store")
	}
}

func TestLoadMissingFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nope.json")
	_, err := credentials.Load(path)
	if !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Load of a missing file: err = %v, want fs.ErrNotExist", err)
	}
	if !strings.Contains(err.Error(), path) {
		t.Errorf("error %q does not name the file", err)
	}
	if strings.Count(err.Error(), path) != 1 {
		t.Errorf("error %q names the file more than once", err)
	}
}

func TestLoadDirectory(t *testing.T) {
	dir := t.TempDir()
	_, err := credentials.Load(dir)
	if err == nil || !strings.Contains(err.Error(), dir) || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("Load of a directory: err = %v, want one naming it and saying it is not a regular file", err)
	}
}

func TestLoadInvalid(t *testing.T) {
	long := strings.Repeat("A", 129)
	tests := []struct {
		name    string
		content string
		want    []string // substrings of the error, one per problem
	}{
		{"empty file", "", []string{"empty"}},
		{"not JSON", "version = 1\n", []string{"invalid JSON at line 1"}},
		{"truncated", `{"version": 1, "credentials": [`, []string{"truncated"}},
		{"syntax error on line 3", "{\n\"version\": 1,\n\"credentials\": [}\n", []string{"line 3"}},
		{"trailing data", fileJSON(alice) + "{}", []string{"after the JSON object"}},
		{"wrong type", `{"version": 1, "credentials": [{"access_key_id": "AKIAALICE0000000001", "secret_access_key": "x", "account_id": 111111111111}]}`,
			[]string{"credentials.account_id is a JSON number, but must be a JSON string"}},
		{"unknown field", `{"version": 1, "credentials": [{"access_key": "AKIAALICE0000000001"}]}`, []string{`unknown field "access_key"`}},
		{"version missing", `{"credentials": [{"access_key_id": "AKIAALICE0000000001", "secret_access_key": "x", "account_id": "111111111111"}]}`,
			[]string{`"version" is missing`}},
		{"version 2", strings.Replace(fileJSON(alice), `"version": 1`, `"version": 2`, 1), []string{`"version" is 2`}},
		{"no credentials", `{"version": 1, "credentials": []}`, []string{`"credentials" is empty`}},
		{"credentials absent", `{"version": 1}`, []string{`"credentials" is empty`}},
		{"key ID missing", fileJSON(credentials.Credential{SecretAccessKey: "s", AccountID: "111111111111"}),
			[]string{"credentials[0]: access_key_id is missing"}},
		{"key ID too short", fileJSON(credentials.Credential{AccessKeyID: "AKIA123", SecretAccessKey: "s", AccountID: "111111111111"}),
			[]string{`access_key_id "AKIA123" has 7 characters; it must have 16 to 128`}},
		{"key ID too long", fileJSON(credentials.Credential{AccessKeyID: long, SecretAccessKey: "s", AccountID: "111111111111"}),
			[]string{"has 129 characters; it must have 16 to 128"}},
		{"key ID lowercase", fileJSON(credentials.Credential{AccessKeyID: "akiaalice0000000001", SecretAccessKey: "s", AccountID: "111111111111"}),
			[]string{"each A-Z or 0-9"}},
		{"secret missing", fileJSON(credentials.Credential{AccessKeyID: alice.AccessKeyID, AccountID: "111111111111"}),
			[]string{"credentials[0] (access_key_id AKIAALICE0000000001): secret_access_key is missing"}},
		{"account missing", fileJSON(credentials.Credential{AccessKeyID: alice.AccessKeyID, SecretAccessKey: "s"}),
			[]string{"account_id is missing"}},
		{"account 11 digits", fileJSON(credentials.Credential{AccessKeyID: alice.AccessKeyID, SecretAccessKey: "s", AccountID: "11111111111"}),
			[]string{`account_id "11111111111" must be exactly 12 digits`}},
		{"account with letters", fileJSON(credentials.Credential{AccessKeyID: alice.AccessKeyID, SecretAccessKey: "s", AccountID: "11111111111a"}),
			[]string{"must be exactly 12 digits"}},
		{"duplicate key ID", fileJSON(alice, bob, credentials.Credential{AccessKeyID: alice.AccessKeyID, SecretAccessKey: "other", AccountID: "333333333333"}),
			[]string{"credentials[2] (access_key_id AKIAALICE0000000001): access_key_id is the same as credentials[0]'s"}},
		{"several problems at once", `{"version": 3, "credentials": [{"access_key_id": "short", "secret_access_key": "", "account_id": "1"}]}`,
			[]string{`"version" is 3`, `access_key_id "short"`, "secret_access_key is missing", `account_id "1"`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := writeFile(t, tc.content, 0o600)
			_, err := credentials.Load(path)
			if err == nil {
				t.Fatal("Load succeeded, want an error")
			}
			if !errors.Is(err, credentials.ErrInvalid) {
				t.Errorf("err = %v, want one matching ErrInvalid", err)
			}
			msg := err.Error()
			t.Log(msg)
			if !strings.Contains(msg, path) {
				t.Errorf("error %q does not name the file", msg)
			}
			for _, w := range tc.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q does not contain %q", msg, w)
				}
			}
			for _, c := range []credentials.Credential{alice, alice2, bob} {
				if strings.Contains(msg, c.SecretAccessKey) {
					t.Errorf("error %q contains a secret", msg)
				}
			}

			// LoadOrCreate must not replace a file it cannot read.
			if _, _, err := credentials.LoadOrCreate(path); err == nil {
				t.Error("LoadOrCreate of an invalid file succeeded, want Load's error")
			}
			if data, _ := os.ReadFile(path); string(data) != tc.content {
				t.Error("LoadOrCreate changed an invalid file")
			}
		})
	}
}

func TestWarnings(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("permission bits do not apply on Windows")
	}
	tests := []struct {
		mode os.FileMode
		warn bool
	}{
		{0o600, false},
		{0o400, false},
		{0o640, true},
		{0o604, true},
		{0o620, true},
		{0o644, true},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("%04o", tc.mode), func(t *testing.T) {
			path := writeFile(t, fileJSON(alice), tc.mode)
			s, err := credentials.Load(path)
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			w := s.Warnings()
			if got := len(w) > 0; got != tc.warn {
				t.Fatalf("Warnings() = %q, want a warning: %v", w, tc.warn)
			}
			if tc.warn && !strings.Contains(w[0], "chmod 600 "+path) {
				t.Errorf("warning %q does not give the fix", w[0])
			}
		})
	}
}

func TestNew(t *testing.T) {
	s, err := credentials.New([]credentials.Credential{alice, bob})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if _, account, ok := s.SecretKey(bob.AccessKeyID); !ok || account != bob.AccountID {
		t.Errorf("SecretKey(bob) = %q, %v; want %q, true", account, ok, bob.AccountID)
	}
	for _, bad := range [][]credentials.Credential{
		nil,
		{alice, alice},
		{{AccessKeyID: alice.AccessKeyID, SecretAccessKey: "s", AccountID: "0"}},
	} {
		if _, err := credentials.New(bad); !errors.Is(err, credentials.ErrInvalid) {
			t.Errorf("New(%v): err = %v, want ErrInvalid", bad, err)
		}
	}
}

func TestFormattingHidesSecrets(t *testing.T) {
	s, err := credentials.Load(writeFile(t, fileJSON(alice, bob), 0o600))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
		fmt.Fprintf(&out, verb+"\n", alice)
		fmt.Fprintf(&out, verb+"\n", &alice)
		fmt.Fprintf(&out, verb+"\n", s)
		fmt.Fprintf(&out, verb+"\n", s.Credentials())
	}
	for _, h := range []slog.Handler{slog.NewTextHandler(&out, nil), slog.NewJSONHandler(&out, nil)} {
		slog.New(h).Info("msg", "cred", alice, "store", s)
	}
	if strings.Contains(out.String(), alice.SecretAccessKey) || strings.Contains(out.String(), bob.SecretAccessKey) {
		t.Errorf("formatted output contains a secret:\n%s", out.String())
	}
	if !strings.Contains(out.String(), alice.AccessKeyID) {
		t.Errorf("formatted output lacks the access key ID:\n%s", out.String())
	}
}

func TestConcurrentReads(t *testing.T) {
	all := []credentials.Credential{alice, alice2, bob}
	s, err := credentials.New(all)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 1000 {
				c := all[(g+i)%len(all)]
				if secret, _, ok := s.SecretKey(c.AccessKeyID); !ok || secret != c.SecretAccessKey {
					t.Errorf("SecretKey(%s) wrong under concurrency", c.AccessKeyID)
					return
				}
				if got := s.Credentials(); len(got) != len(all) {
					t.Errorf("Credentials() has %d entries, want %d", len(got), len(all))
					return
				}
				_ = s.Warnings()
			}
		})
	}
	wg.Wait()
}
