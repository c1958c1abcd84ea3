package keyring_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/ebsd/ebsd/internal/keyring"
)

const (
	region  = "us-east-1"
	account = "111122223333"
	other   = "444455556666"
	someARN = "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
)

// mustOpen opens the keyring at path or fails tb.
func mustOpen(tb testing.TB, path string) *keyring.Keyring {
	tb.Helper()
	k, err := keyring.Open(path, region)
	if err != nil {
		tb.Fatalf("Open(%s): %v", path, err)
	}
	return k
}

// keyringPath returns a path for a keyring file in a fresh directory.
func keyringPath(tb testing.TB) string {
	tb.Helper()
	return filepath.Join(tb.TempDir(), "keyring.json")
}

func TestOpenMissingFile(t *testing.T) {
	path := keyringPath(t)
	k := mustOpen(t, path)
	if got := k.ARNs(); len(got) != 0 {
		t.Errorf("ARNs of a new keyring = %v, want none", got)
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Open created the file before any key: stat error = %v", err)
	}
}

func TestOpenBadRegion(t *testing.T) {
	for _, r := range []string{"", "us-east-1:x", "US-EAST-1", "us east"} {
		if _, err := keyring.Open(keyringPath(t), r); err == nil {
			t.Errorf("Open(region %q) = nil error, want one", r)
		}
	}
}

func TestDefaultKeyARN(t *testing.T) {
	k := mustOpen(t, keyringPath(t))
	arn, err := k.DefaultKeyARN(account)
	if err != nil {
		t.Fatalf("DefaultKeyARN: %v", err)
	}
	re := regexp.MustCompile(`^arn:aws:kms:us-east-1:111122223333:key/[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	if !re.MatchString(arn) {
		t.Errorf("DefaultKeyARN = %q, want the form %s", arn, re)
	}
	if !k.Has(arn) {
		t.Errorf("Has(%q) = false after DefaultKeyARN", arn)
	}
	again, err := k.DefaultKeyARN(account)
	if err != nil || again != arn {
		t.Errorf("second DefaultKeyARN = %q, %v; want %q", again, err, arn)
	}
	otherARN, err := k.DefaultKeyARN(other)
	if err != nil {
		t.Fatalf("DefaultKeyARN(other): %v", err)
	}
	if otherARN == arn || !strings.Contains(otherARN, ":"+other+":key/") {
		t.Errorf("DefaultKeyARN(%s) = %q, want a key of that account", other, otherARN)
	}
	if got, want := k.ARNs(), slices.Sorted(slices.Values([]string{arn, otherARN})); !slices.Equal(got, want) {
		t.Errorf("ARNs = %v, want %v", got, want)
	}
}

func TestDefaultKeyARNBadAccount(t *testing.T) {
	k := mustOpen(t, keyringPath(t))
	for _, a := range []string{"", "11112222333", "1111222233334", "11112222333x", " 111122223333"} {
		if arn, err := k.DefaultKeyARN(a); err == nil {
			t.Errorf("DefaultKeyARN(%q) = %q, want an error", a, arn)
		}
	}
	if got := k.ARNs(); len(got) != 0 {
		t.Errorf("ARNs after bad accounts = %v, want none", got)
	}
}

func TestConcurrentDefaultKeyARN(t *testing.T) {
	path := keyringPath(t)
	k := mustOpen(t, path)
	const n = 16
	arns := make([]string, n)
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			arns[i], errs[i] = k.DefaultKeyARN(account)
		})
	}
	close(start)
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("DefaultKeyARN: %v", errs[i])
		}
		if arns[i] != arns[0] {
			t.Fatalf("concurrent DefaultKeyARN returned %q and %q", arns[0], arns[i])
		}
	}
	if got := len(k.ARNs()); got != 1 {
		t.Errorf("%d keys after concurrent DefaultKeyARN, want 1", got)
	}
	if got := len(mustOpen(t, path).ARNs()); got != 1 {
		t.Errorf("%d keys in the file after concurrent DefaultKeyARN, want 1", got)
	}
}

func TestAdd(t *testing.T) {
	for _, tc := range []struct {
		arn string
		ok  bool
	}{
		{someARN, true},
		{"arn:aws-cn:kms:cn-north-1:111122223333:key/abc", true},
		{"arn:aws-us-gov:kms:us-gov-west-1:111122223333:key/abc", true},
		{"arn:aws:kms:us-east-1:111122223333:key/", true}, // the model allows an empty ID
		{"", false},
		{"arn:aws:kms:us-east-1:111122223333:alias/aws/ebs", false},
		{"arn:aws:kms:us-east-1:11112222333:key/abc", false},
		{"arn:aws:s3:us-east-1:111122223333:key/abc", false},
		{"arn:AWS:kms:us-east-1:111122223333:key/abc", false},
		{"1234abcd-12ab-34cd-56ef-1234567890ab", false},
		{" arn:aws:kms:us-east-1:111122223333:key/abc", false},
		{"arn:aws:kms:us-east-1:111122223333:key/" + strings.Repeat("a", 2048), false},
	} {
		t.Run(tc.arn, func(t *testing.T) {
			k := mustOpen(t, keyringPath(t))
			err := k.Add(tc.arn)
			if (err == nil) != tc.ok {
				t.Fatalf("Add error = %v, want ok=%v", err, tc.ok)
			}
			if k.Has(tc.arn) != tc.ok {
				t.Errorf("Has after Add = %v, want %v", !tc.ok, tc.ok)
			}
		})
	}
}

func TestAddExists(t *testing.T) {
	k := mustOpen(t, keyringPath(t))
	if err := k.Add(someARN); err != nil {
		t.Fatalf("Add: %v", err)
	}
	if err := k.Add(someARN); !errors.Is(err, keyring.ErrExists) {
		t.Errorf("second Add error = %v, want %v", err, keyring.ErrExists)
	}
	def, err := k.DefaultKeyARN(account)
	if err != nil {
		t.Fatal(err)
	}
	if err := k.Add(def); !errors.Is(err, keyring.ErrExists) {
		t.Errorf("Add of the default key's ARN: error = %v, want %v", err, keyring.ErrExists)
	}
}

func TestDataKeyRoundTrip(t *testing.T) {
	k := mustOpen(t, keyringPath(t))
	arn, err := k.DefaultKeyARN(account)
	if err != nil {
		t.Fatal(err)
	}
	plain, wrapped, err := k.NewDataKey(arn)
	if err != nil {
		t.Fatalf("NewDataKey: %v", err)
	}
	if len(plain) != keyring.DataKeyLen || len(wrapped) != 60 {
		t.Errorf("NewDataKey gave %d plain and %d wrapped bytes, want %d and 60", len(plain), len(wrapped), keyring.DataKeyLen)
	}
	if bytes.Contains(wrapped, plain) {
		t.Errorf("wrapped data key contains the plain one")
	}
	got, err := k.Unwrap(arn, wrapped)
	if err != nil {
		t.Fatalf("Unwrap: %v", err)
	}
	if !bytes.Equal(got, plain) {
		t.Errorf("Unwrap = %x, want %x", got, plain)
	}
	plain2, wrapped2, err := k.NewDataKey(arn)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(plain, plain2) || bytes.Equal(wrapped, wrapped2) {
		t.Errorf("two NewDataKey calls returned equal keys")
	}
}

func TestNewDataKeyUnknown(t *testing.T) {
	k := mustOpen(t, keyringPath(t))
	if _, _, err := k.NewDataKey(someARN); !errors.Is(err, keyring.ErrUnknownKey) {
		t.Errorf("NewDataKey(unknown) error = %v, want %v", err, keyring.ErrUnknownKey)
	}
}

func TestUnwrapRejects(t *testing.T) {
	k := mustOpen(t, keyringPath(t))
	arn, err := k.DefaultKeyARN(account)
	if err != nil {
		t.Fatal(err)
	}
	if err := k.Add(someARN); err != nil {
		t.Fatal(err)
	}
	_, wrapped, err := k.NewDataKey(arn)
	if err != nil {
		t.Fatal(err)
	}
	_, wrappedElsewhere, err := k.NewDataKey(someARN)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		arn     string
		wrapped []byte
		want    error
	}{
		{"other key", someARN, wrapped, keyring.ErrBadWrap},
		{"other key's wrap", arn, wrappedElsewhere, keyring.ErrBadWrap},
		{"unknown key", "arn:aws:kms:us-east-1:111122223333:key/none", wrapped, keyring.ErrUnknownKey},
		{"truncated", arn, wrapped[:len(wrapped)-1], keyring.ErrBadWrap},
		{"nonce only", arn, wrapped[:12], keyring.ErrBadWrap},
		{"empty", arn, nil, keyring.ErrBadWrap},
		{"extended", arn, append(bytes.Clone(wrapped), 0), keyring.ErrBadWrap},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := k.Unwrap(tc.arn, tc.wrapped); !errors.Is(err, tc.want) {
				t.Errorf("Unwrap error = %v, want %v", err, tc.want)
			}
		})
	}
	for i := range wrapped {
		for bit := range 8 {
			tampered := bytes.Clone(wrapped)
			tampered[i] ^= 1 << bit
			if _, err := k.Unwrap(arn, tampered); !errors.Is(err, keyring.ErrBadWrap) {
				t.Fatalf("byte %d bit %d flipped: Unwrap error = %v, want %v", i, bit, err, keyring.ErrBadWrap)
			}
		}
	}
}

// TestUnwrapChecksARN gives two ARNs the same material, so that only the
// additional data (the ARN) can tell their wraps apart.
func TestUnwrapChecksARN(t *testing.T) {
	material := bytes.Repeat([]byte{9}, 32)
	a := "arn:aws:kms:us-east-1:111122223333:key/a"
	b := "arn:aws:kms:us-east-1:111122223333:key/b"
	path := writeFile(t, fmt.Sprintf(`{"version":1,"keys":[{"arn":%q,"material":%q},{"arn":%q,"material":%q}]}`,
		a, base64.StdEncoding.EncodeToString(material), b, base64.StdEncoding.EncodeToString(material)))
	k := mustOpen(t, path)
	_, wrapped, err := k.NewDataKey(a)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := k.Unwrap(a, wrapped); err != nil {
		t.Fatalf("Unwrap under its own ARN: %v", err)
	}
	if _, err := k.Unwrap(b, wrapped); !errors.Is(err, keyring.ErrBadWrap) {
		t.Errorf("Unwrap under another ARN with the same material: error = %v, want %v", err, keyring.ErrBadWrap)
	}
}

func TestPersistence(t *testing.T) {
	path := keyringPath(t)
	k := mustOpen(t, path)
	def, err := k.DefaultKeyARN(account)
	if err != nil {
		t.Fatal(err)
	}
	if err := k.Add(someARN); err != nil {
		t.Fatal(err)
	}
	plain, wrapped, err := k.NewDataKey(someARN)
	if err != nil {
		t.Fatal(err)
	}

	reopened := mustOpen(t, path)
	if got, want := reopened.ARNs(), k.ARNs(); !slices.Equal(got, want) {
		t.Errorf("ARNs after reopening = %v, want %v", got, want)
	}
	if got, err := reopened.DefaultKeyARN(account); err != nil || got != def {
		t.Errorf("DefaultKeyARN after reopening = %q, %v; want %q", got, err, def)
	}
	got, err := reopened.Unwrap(someARN, wrapped)
	if err != nil {
		t.Fatalf("Unwrap after reopening: %v", err)
	}
	if !bytes.Equal(got, plain) {
		t.Errorf("Unwrap after reopening = %x, want %x", got, plain)
	}
}

func TestFileMode(t *testing.T) {
	path := keyringPath(t)
	k := mustOpen(t, path)
	if _, err := k.DefaultKeyARN(account); err != nil {
		t.Fatal(err)
	}
	if err := k.Add(someARN); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode().Perm(); got != 0o600 {
		t.Errorf("keyring file mode = %#o, want 0600", got)
	}
	entries, err := os.ReadDir(filepath.Dir(path))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	// The lock file writers share stays; temporary files must not.
	if want := []string{filepath.Base(path), filepath.Base(path) + ".lock"}; !slices.Equal(names, want) {
		t.Errorf("directory holds %v, want only %v (no temporary files)", names, want)
	}
	var f struct {
		Version int
		Keys    []struct {
			ARN               string `json:"arn"`
			Material          []byte `json:"material"`
			DefaultForAccount string `json:"default_for_account"`
		}
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &f); err != nil {
		t.Fatalf("keyring file is not JSON: %v", err)
	}
	if f.Version != 1 || len(f.Keys) != 2 {
		t.Fatalf("file has version %d and %d keys, want 1 and 2", f.Version, len(f.Keys))
	}
	defaults := 0
	for _, e := range f.Keys {
		if len(e.Material) != 32 {
			t.Errorf("key %s has %d bytes of material, want 32", e.ARN, len(e.Material))
		}
		if e.DefaultForAccount == account {
			defaults++
		}
	}
	if defaults != 1 {
		t.Errorf("%d keys are the default of %s, want 1", defaults, account)
	}
}

func TestOpenRejectsLooseMode(t *testing.T) {
	path := keyringPath(t)
	if _, err := mustOpen(t, path).DefaultKeyARN(account); err != nil {
		t.Fatal(err)
	}
	for _, mode := range []os.FileMode{0o640, 0o604, 0o644} {
		if err := os.Chmod(path, mode); err != nil {
			t.Fatal(err)
		}
		if _, err := keyring.Open(path, region); err == nil {
			t.Errorf("Open of a file with mode %#o = nil error, want one", mode)
		}
	}
}

// writeFile writes a keyring file with mode 0600 and returns its path.
func writeFile(tb testing.TB, content string) string {
	tb.Helper()
	path := keyringPath(tb)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		tb.Fatal(err)
	}
	return path
}

func TestOpenRejectsBadFile(t *testing.T) {
	m := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{1}, 32))
	short := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{1}, 16))
	entry := func(arn, material, def string) string {
		return fmt.Sprintf(`{"arn":%q,"material":%q,"default_for_account":%q}`, arn, material, def)
	}
	a := "arn:aws:kms:us-east-1:111122223333:key/a"
	b := "arn:aws:kms:us-east-1:111122223333:key/b"
	for _, tc := range []struct {
		name, content string
	}{
		{"not JSON", `{`},
		{"no version", `{"keys":[]}`},
		{"version 2", `{"version":2,"keys":[]}`},
		{"unknown field", `{"version":1,"keys":[],"extra":1}`},
		{"bad ARN", `{"version":1,"keys":[` + entry("alias/x", m, "") + `]}`},
		{"short material", `{"version":1,"keys":[` + entry(a, short, "") + `]}`},
		{"material not Base64", `{"version":1,"keys":[` + entry(a, "!!", "") + `]}`},
		{"duplicate ARN", `{"version":1,"keys":[` + entry(a, m, "") + `,` + entry(a, m, "") + `]}`},
		{"two defaults", `{"version":1,"keys":[` + entry(a, m, account) + `,` + entry(b, m, account) + `]}`},
		{"default of another account", `{"version":1,"keys":[` + entry(a, m, other) + `]}`},
		{"default of a bad account", `{"version":1,"keys":[` + entry(a, m, "12") + `]}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := keyring.Open(writeFile(t, tc.content), region)
			if err == nil {
				t.Fatal("Open = nil error, want one")
			}
			if strings.Contains(err.Error(), m) {
				t.Errorf("error %q contains key material", err)
			}
		})
	}
	// The same entries, well formed, open.
	good := `{"version":1,"keys":[` + entry(a, m, account) + `,` + entry(b, m, "") + `]}`
	k, err := keyring.Open(writeFile(t, good), region)
	if err != nil {
		t.Fatalf("Open of a good file: %v", err)
	}
	if got, err := k.DefaultKeyARN(account); err != nil || got != a {
		t.Errorf("DefaultKeyARN from the file = %q, %v; want %q", got, err, a)
	}
}

// TestSaveFailureRollsBack makes the file unwritable (its directory becomes
// a regular file) and checks that a key that could not be saved is not kept.
func TestSaveFailureRollsBack(t *testing.T) {
	parent := filepath.Join(t.TempDir(), "dir")
	if err := os.Mkdir(parent, 0o700); err != nil {
		t.Fatal(err)
	}
	k := mustOpen(t, filepath.Join(parent, "keyring.json"))
	if err := os.Remove(parent); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(parent, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if arn, err := k.DefaultKeyARN(account); err == nil {
		t.Fatalf("DefaultKeyARN with an unwritable file = %q, want an error", arn)
	}
	if err := k.Add(someARN); err == nil {
		t.Fatal("Add with an unwritable file = nil error, want one")
	}
	if got := k.ARNs(); len(got) != 0 {
		t.Errorf("ARNs after failed saves = %v, want none", got)
	}
}

func TestStringHidesMaterial(t *testing.T) {
	path := keyringPath(t)
	k := mustOpen(t, path)
	if _, err := k.DefaultKeyARN(account); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Keys []struct {
			Material []byte `json:"material"`
		} `json:"keys"`
	}
	if err := json.Unmarshal(data, &f); err != nil || len(f.Keys) != 1 {
		t.Fatalf("reading the file: %v", err)
	}
	material := f.Keys[0].Material
	for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
		out := fmt.Sprintf(verb, k)
		if strings.Contains(out, base64.StdEncoding.EncodeToString(material)) ||
			strings.Contains(out, fmt.Sprintf("%x", material)) ||
			strings.Contains(out, fmt.Sprint(material)) {
			t.Errorf("Sprintf(%s, keyring) = %q shows key material", verb, out)
		}
	}
}
