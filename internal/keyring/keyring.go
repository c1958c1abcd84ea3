package keyring

import (
	"crypto/rand"
	"fmt"
	"maps"
	"slices"
	"sync"
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
	k.keys = make(map[string]*masterKey, len(keys))
	k.defaults = make(map[string]string)
	for _, mk := range keys {
		k.keys[mk.arn] = mk
		if mk.defaultFor != "" {
			k.defaults[mk.defaultFor] = mk.arn
		}
	}
	return k, nil
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
	arn, err := defaultARN(k.region, accountID)
	if err != nil {
		return "", err
	}
	if _, ok := k.keys[arn]; ok { // a random UUID collided: never in practice
		return "", fmt.Errorf("keyring: new default key %s: %w", arn, ErrExists)
	}
	if err := k.addLocked(arn, accountID); err != nil {
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
	if _, ok := k.keys[arn]; ok {
		return fmt.Errorf("keyring: add %s: %w", arn, ErrExists)
	}
	return k.addLocked(arn, "")
}

// addLocked creates a key and persists the keyring, or leaves both memory
// and file unchanged. A key that failed to persist was never handed out, so
// nothing can have been wrapped under it.
func (k *Keyring) addLocked(arn, defaultFor string) error {
	material := make([]byte, materialLen)
	if _, err := rand.Read(material); err != nil {
		return fmt.Errorf("keyring: %w", err)
	}
	k.keys[arn] = &masterKey{arn: arn, material: material, defaultFor: defaultFor}
	if defaultFor != "" {
		k.defaults[defaultFor] = arn
	}
	if err := save(k.path, k.sortedLocked()); err != nil {
		delete(k.keys, arn)
		if defaultFor != "" {
			delete(k.defaults, defaultFor)
		}
		return err
	}
	return nil
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

// key returns the master key named arn, or ErrUnknownKey.
func (k *Keyring) key(arn string) (*masterKey, error) {
	k.mu.RLock()
	mk, ok := k.keys[arn]
	k.mu.RUnlock()
	if !ok {
		return nil, fmt.Errorf("keyring: %s: %w", arn, ErrUnknownKey)
	}
	return mk, nil
}

// sortedLocked returns the keys in ARN order, so that the file is stable.
func (k *Keyring) sortedLocked() []*masterKey {
	out := make([]*masterKey, 0, len(k.keys))
	for _, arn := range slices.Sorted(maps.Keys(k.keys)) {
		out = append(out, k.keys[arn])
	}
	return out
}
