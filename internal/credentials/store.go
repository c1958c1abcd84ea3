package credentials

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ebsd/ebsd/internal/fsutil"
)

// ErrInvalid is matched (with errors.Is) by the errors of Load,
// LoadOrCreate and New when the credentials break a rule of the file
// format, as opposed to the file being unreadable.
var ErrInvalid = errors.New("invalid credentials")

// Store maps access key IDs to their secrets and accounts. It is safe for
// concurrent use. A Store loaded from a file follows the file: Reload
// re-reads it, and so does a lookup of an unknown access key ID (see
// SecretKey); a Store made by New never changes.
type Store struct {
	path    string // "" for a Store made by New
	content atomic.Pointer[content]

	reloadMu sync.Mutex   // serializes Reload, so the newest read wins
	lastMiss atomic.Int64 // Unix nanoseconds of the last re-read a miss made
	logger   atomic.Pointer[slog.Logger]
}

// content is one reading of the credentials: never changed once made.
type content struct {
	creds    []Credential
	byKeyID  map[string]int   // index into creds
	quotas   map[string]int64 // account ID -> the storage quota its entries set
	warnings []string
}

// missReloadInterval bounds how often unknown access key IDs, which anyone
// can send, make the file be read.
const missReloadInterval = time.Second

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
	c := &content{
		creds:    append([]Credential(nil), creds...),
		byKeyID:  make(map[string]int, len(creds)),
		warnings: warnings,
	}
	for i, cr := range c.creds {
		c.byKeyID[cr.AccessKeyID] = i
		if cr.StorageQuota != nil {
			if c.quotas == nil {
				c.quotas = make(map[string]int64)
			}
			c.quotas[cr.AccountID] = *cr.StorageQuota
		}
	}
	s := &Store{path: path}
	s.content.Store(c)
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
// false if the key is unknown. An unknown key may have been added to the
// file since it was read, so a Store with a file re-reads it before
// refusing, at most once per second.
func (s *Store) SecretKey(accessKeyID string) (secret, accountID string, ok bool) {
	if c, ok := s.content.Load().lookup(accessKeyID); ok {
		return c.SecretAccessKey, c.AccountID, true
	}
	if !s.mayRereadOnMiss() {
		return "", "", false
	}
	if err := s.Reload(); err != nil {
		s.log().Error("re-reading the credentials file failed; keeping the credentials read before", "file", s.path, "err", err)
		return "", "", false
	}
	if c, ok := s.content.Load().lookup(accessKeyID); ok {
		return c.SecretAccessKey, c.AccountID, true
	}
	return "", "", false
}

func (c *content) lookup(accessKeyID string) (Credential, bool) {
	i, ok := c.byKeyID[accessKeyID]
	if !ok {
		return Credential{}, false
	}
	return c.creds[i], true
}

// mayRereadOnMiss reports whether a miss may re-read the file now, and if
// so records that it does.
func (s *Store) mayRereadOnMiss() bool {
	if s.path == "" {
		return false
	}
	now := time.Now().UnixNano()
	last := s.lastMiss.Load()
	if last != 0 && now-last < int64(missReloadInterval) {
		return false
	}
	return s.lastMiss.CompareAndSwap(last, now)
}

// Reload re-reads the file the Store was loaded from and, if it is valid,
// puts its content in force: added keys work at once, removed ones stop
// working. If the file is missing, unreadable or invalid, the Store keeps
// the credentials it had and the error says what is wrong, like Load's.
// A Store made by New has no file: Reload returns an error.
func (s *Store) Reload() error {
	if s.path == "" {
		return errors.New("credentials: this store has no file to re-read")
	}
	s.reloadMu.Lock()
	defer s.reloadMu.Unlock()
	next, err := Load(s.path)
	if err != nil {
		return err
	}
	s.content.Store(next.content.Load())
	return nil
}

// File returns the path of the credentials file, or "" for a Store made
// by New.
func (s *Store) File() string { return s.path }

// SetLogger sets where a failed re-read of the file, made when a lookup
// misses, is reported; the default is slog.Default().
func (s *Store) SetLogger(l *slog.Logger) { s.logger.Store(l) }

func (s *Store) log() *slog.Logger {
	if l := s.logger.Load(); l != nil {
		return l
	}
	return slog.Default()
}

// Credentials returns a copy of every credential, in file order.
func (s *Store) Credentials() []Credential {
	return append([]Credential(nil), s.content.Load().creds...)
}

// Warnings returns problems that do not stop the server but that the
// operator should fix, each with the fix, such as a credentials file that
// other users can read. It never returns secrets.
func (s *Store) Warnings() []string {
	return append([]string(nil), s.content.Load().warnings...)
}

// String describes the store without its secrets.
func (s *Store) String() string {
	n := len(s.content.Load().creds)
	if s.path == "" {
		return fmt.Sprintf("credentials.Store(%d credentials)", n)
	}
	return fmt.Sprintf("credentials.Store(%s, %d credentials)", s.path, n)
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
