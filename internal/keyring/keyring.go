package keyring

import (
	"crypto/rand"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
)

// materialLen is the length of a master key: AES-256.
const materialLen = 32

// Keyring holds the master keys of one file. It is safe for concurrent use.
type Keyring struct {
	path   string
	region string

	mu       sync.RWMutex
	keys     map[string]*masterKey // by ARN
	defaults map[string]string     // account -> ARN of its default key

	logger atomic.Pointer[slog.Logger] // for re-reads a lookup makes; nil = slog.Default()
}

// masterKey is one master key. It is never changed once in the map, so its
// material may be read without holding the lock.
type masterKey struct {
	arn        string
	material   []byte
	defaultFor string // the account it is the default key of, or ""
}

// Open returns the keyring kept in the file at path, or an empty keyring
// when there is no file yet: the file is created when the first key is.
// region is the region put in the ARNs of default keys, e.g. "us-east-1".
func Open(path, region string) (*Keyring, error) {
	if !regionPattern.MatchString(region) {
		return nil, fmt.Errorf("keyring: %q is not a region name", region)
	}
	k := &Keyring{path: path, region: region}
	keys, err := load(path)
	if err != nil {
		return nil, err
	}
	if k.keys, k.defaults, err = merge(nil, keys); err != nil {
		return nil, fmt.Errorf("keyring: %s: %w", path, err)
	}
	return k, nil
}

// File returns the path of the keys file.
func (k *Keyring) File() string { return k.path }

// SetLogger sets where a failed re-read of the file, made when a lookup
// misses, is reported; the default is slog.Default().
func (k *Keyring) SetLogger(l *slog.Logger) { k.logger.Store(l) }

func (k *Keyring) log() *slog.Logger {
	if l := k.logger.Load(); l != nil {
		return l
	}
	return slog.Default()
}

// String describes k without any key material.
func (k *Keyring) String() string {
	k.mu.RLock()
	defer k.mu.RUnlock()
	return fmt.Sprintf("keyring(%s, %d keys)", k.path, len(k.keys))
}

// GoString is String, so that %#v prints no key material either.
func (k *Keyring) GoString() string { return k.String() }

// DefaultKeyARN returns the ARN of accountID's default key, first creating
// the key and persisting it if the account has none. Concurrent calls for
// one account create one key.
func (k *Keyring) DefaultKeyARN(accountID string) (string, error) {
	if err := checkAccount(accountID); err != nil {
		return "", err
	}
	// One exclusive section for lookup and creation, so that concurrent
	// first calls cannot each create a key. It is short but for the save.
	k.mu.Lock()
	defer k.mu.Unlock()
	if arn, ok := k.defaults[accountID]; ok {
		return arn, nil
	}
	var arn string
	err := k.updateLocked(func(keys map[string]*masterKey, defaults map[string]string) (*masterKey, error) {
		if a, ok := defaults[accountID]; ok { // another process sharing the file made it
			arn = a
			return nil, nil
		}
		a, err := defaultARN(k.region, accountID)
		if err != nil {
			return nil, err
		}
		if _, ok := keys[a]; ok { // a random UUID collided: never in practice
			return nil, fmt.Errorf("keyring: new default key %s: %w", a, ErrExists)
		}
		arn = a
		return newMasterKey(a, accountID)
	})
	if err != nil {
		return "", err
	}
	return arn, nil
}

// Add creates a master key named arn, which must match the modelled pattern
// of KmsKeyArn, and persists it. It returns ErrExists when arn is already
// there.
func (k *Keyring) Add(arn string) error {
	if err := checkARN(arn); err != nil {
		return err
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.updateLocked(func(keys map[string]*masterKey, _ map[string]string) (*masterKey, error) {
		if _, ok := keys[arn]; ok {
			return nil, fmt.Errorf("keyring: add %s: %w", arn, ErrExists)
		}
		return newMasterKey(arn, "")
	})
}

// newMasterKey returns a key with fresh random material.
func newMasterKey(arn, defaultFor string) (*masterKey, error) {
	material := make([]byte, materialLen)
	if _, err := rand.Read(material); err != nil {
		return nil, fmt.Errorf("keyring: %w", err)
	}
	return &masterKey{arn: arn, material: material, defaultFor: defaultFor}, nil
}

// Has reports whether there is a master key named arn.
func (k *Keyring) Has(arn string) bool {
	_, err := k.key(arn)
	return err == nil
}

// ARNs returns the ARNs of all master keys, sorted.
func (k *Keyring) ARNs() []string {
	k.mu.RLock()
	defer k.mu.RUnlock()
	return slices.Sorted(maps.Keys(k.keys))
}

// key returns the master key named arn, or ErrUnknownKey. A key it does
// not hold may have been added to the file since ('ebsd kms-key add'), so
// it re-reads the file once before refusing. Only an authenticated caller
// naming a key of its own account gets here with an unknown ARN.
func (k *Keyring) key(arn string) (*masterKey, error) {
	if mk, ok := k.lookup(arn); ok {
		return mk, nil
	}
	if err := k.Reload(); err != nil {
		k.log().Error("re-reading the KMS keys file failed; keeping the keys read before", "file", k.path, "err", err)
	} else if mk, ok := k.lookup(arn); ok {
		return mk, nil
	}
	return nil, fmt.Errorf("keyring: %s: %w", arn, ErrUnknownKey)
}

func (k *Keyring) lookup(arn string) (*masterKey, bool) {
	k.mu.RLock()
	defer k.mu.RUnlock()
	mk, ok := k.keys[arn]
	return mk, ok
}

// sorted returns keys in ARN order, so that the file is stable.
func sorted(keys map[string]*masterKey) []*masterKey {
	out := make([]*masterKey, 0, len(keys))
	for _, arn := range slices.Sorted(maps.Keys(keys)) {
		out = append(out, keys[arn])
	}
	return out
}
