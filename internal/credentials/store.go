package credentials

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"runtime"
	"strings"

	"github.com/ebsd/ebsd/internal/fsutil"
)

// ErrInvalid is matched (with errors.Is) by the errors of Load,
// LoadOrCreate and New when the credentials break a rule of the file
// format, as opposed to the file being unreadable.
var ErrInvalid = errors.New("invalid credentials")

// Store maps access key IDs to their secrets and accounts. It does not
// change after it is made, so it is safe for concurrent use.
type Store struct {
	path     string // "" for a Store made by New
	creds    []Credential
	byKeyID  map[string]int // index into creds
	warnings []string
}

// New returns a Store holding creds, which must follow the same rules as a
// credentials file: unique access key IDs of 16 to 128 characters A-Z and
// 0-9, non-empty secrets, 12-digit account IDs. It is meant for tests and
// for embedding ebsd without a file.
func New(creds []Credential) (*Store, error) {
	if problems := checkCredentials(creds); len(problems) > 0 {
		return nil, &invalidError{source: "credentials", problems: problems}
	}
	return newStore("", creds, nil), nil
}

func newStore(path string, creds []Credential, warnings []string) *Store {
	s := &Store{
		path:     path,
		creds:    append([]Credential(nil), creds...),
		byKeyID:  make(map[string]int, len(creds)),
		warnings: warnings,
	}
	for i, c := range s.creds {
		s.byKeyID[c.AccessKeyID] = i
	}
	return s
}

// Load reads the credentials file at path. It fails if the file does not
// exist (the error matches fs.ErrNotExist), cannot be read, or breaks a
// rule of the format (the error matches ErrInvalid); the error names the
// file and lists every problem found.
//
// A file that other users can read still loads; see Warnings.
func Load(path string) (*Store, error) {
	data, info, err := readFile(path)
	if err != nil {
		var pathErr *fs.PathError
		if errors.As(err, &pathErr) {
			err = pathErr.Err // the path is in our own message
		}
		return nil, fmt.Errorf("read credentials file %s: %w", path, err)
	}
	creds, problems := decodeFile(data)
	if len(problems) > 0 {
		return nil, &invalidError{source: "credentials file " + path, problems: problems}
	}
	return newStore(path, creds, modeWarnings(path, info)), nil
}

// readFile returns the content of the file at path and its FileInfo, both
// from one open file.
func readFile(path string) ([]byte, fs.FileInfo, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, nil, err
	}
	if !info.Mode().IsRegular() {
		return nil, nil, errors.New("not a regular file")
	}
	data, err := io.ReadAll(f)
	if err != nil {
		return nil, nil, err
	}
	return data, info, nil
}

// LoadOrCreate loads the credentials file at path like Load. If the file
// does not exist, it generates one credential (an "AKIA" access key ID, a
// 40-character secret and a random 12-digit account ID, all from
// crypto/rand), writes it to path with mode 0600, creating missing parent
// directories with mode 0700, and returns it as created so that the caller
// can show it to the operator once. created is nil when the file existed.
//
// The file is written atomically and only if it still does not exist, so a
// crash or a concurrent start never leaves a partial or overwritten file.
func LoadOrCreate(path string) (s *Store, created *Credential, err error) {
	s, err = Load(path)
	if err == nil || !errors.Is(err, fs.ErrNotExist) {
		return s, nil, err
	}
	cred, err := generate(rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("create credentials file %s: %w", path, err)
	}
	data, err := encodeFile([]Credential{cred})
	if err != nil {
		return nil, nil, fmt.Errorf("create credentials file %s: %w", path, err)
	}
	switch err := fsutil.CreateFile(path, data); {
	case errors.Is(err, fsutil.ErrExist):
		// Another process created it first; use its keys.
		s, err := Load(path)
		return s, nil, err
	case err != nil:
		return nil, nil, fmt.Errorf("create credentials file %s: %w", path, err)
	}
	return newStore(path, []Credential{cred}, nil), &cred, nil
}

// SecretKey returns the secret and account of an access key ID; ok is
// false if the key is unknown.
func (s *Store) SecretKey(accessKeyID string) (secret, accountID string, ok bool) {
	i, ok := s.byKeyID[accessKeyID]
	if !ok {
		return "", "", false
	}
	c := s.creds[i]
	return c.SecretAccessKey, c.AccountID, true
}

// Credentials returns a copy of every credential, in file order.
func (s *Store) Credentials() []Credential {
	return append([]Credential(nil), s.creds...)
}

// Warnings returns problems that do not stop the server but that the
// operator should fix, each with the fix, such as a credentials file that
// other users can read. It never returns secrets.
func (s *Store) Warnings() []string {
	return append([]string(nil), s.warnings...)
}

// String describes the store without its secrets.
func (s *Store) String() string {
	if s.path == "" {
		return fmt.Sprintf("credentials.Store(%d credentials)", len(s.creds))
	}
	return fmt.Sprintf("credentials.Store(%s, %d credentials)", s.path, len(s.creds))
}

// GoString is like String, so that %#v does not print the secrets.
func (s *Store) GoString() string { return s.String() }

// modeWarnings warns if users other than the owner may access the file.
func modeWarnings(path string, info fs.FileInfo) []string {
	if runtime.GOOS == "windows" {
		return nil // permission bits do not describe Windows ACLs
	}
	if info.Mode().Perm()&0o077 == 0 {
		return nil
	}
	return []string{fmt.Sprintf("credentials file %s has mode %04o, so other users can read the secret keys; run: chmod 600 %s",
		path, info.Mode().Perm(), path)}
}

// invalidError lists every rule that some credentials break.
type invalidError struct {
	source   string // "credentials file /path" or "credentials"
	problems []string
}

func (e *invalidError) Error() string {
	if len(e.problems) == 1 {
		return fmt.Sprintf("invalid %s: %s", e.source, e.problems[0])
	}
	return fmt.Sprintf("invalid %s:\n  - %s", e.source, strings.Join(e.problems, "\n  - "))
}

func (e *invalidError) Is(target error) bool { return target == ErrInvalid }
