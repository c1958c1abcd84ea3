package keyring

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"sync"
	"time"
)

// SecretStore is where a Shared keyring keeps its master keys: a store
// that every ebsd node of a deployment reads and writes, whose Secret is
// store.MetaStore's: it returns the secret stored under name, first
// storing what generate returns when there is none, the same for every
// caller of every process; when generate fails it stores nothing and
// returns generate's error, wrapped.
type SecretStore interface {
	Secret(ctx context.Context, name string, generate func() ([]byte, error)) ([]byte, error)
}

// Secret names. A default key is two secrets: its ARN under the account,
// then its material under the ARN, like every other key.
const (
	secretDefault = "kms/default/" // + account: the ARN of its default key
	secretKey     = "kms/key/"     // + ARN: the key's material
)

// secretTimeout bounds one call to the SecretStore. KeyProvider's methods
// take no context; they reach the store once per key and process, since
// keys never change and are cached.
const secretTimeout = 30 * time.Second

// errNoSecret is what a lookup's generate returns: the secret is missing,
// and nothing is to be stored.
var errNoSecret = errors.New("keyring: no such secret")

// Shared is a keyring whose master keys live in a SecretStore shared by
// every node of a distributed deployment (issue #13): a default key that
// one node creates on first use is the key every node uses, and a key
// added on one node is known to all, with no file to copy. It implements
// the same KeyProvider as Keyring. It is safe for concurrent use.
type Shared struct {
	secrets SecretStore
	region  string

	mu       sync.RWMutex
	keys     map[string]*masterKey // by ARN; a key never changes once stored
	defaults map[string]string     // account -> ARN of its default key
}

// NewShared returns a keyring over secrets; region is put in the ARNs of
// default keys.
func NewShared(secrets SecretStore, region string) (*Shared, error) {
	if !regionPattern.MatchString(region) {
		return nil, fmt.Errorf("keyring: %q is not a region name", region)
	}
	return &Shared{secrets: secrets, region: region, keys: make(map[string]*masterKey), defaults: make(map[string]string)}, nil
}

// String describes k without any key material.
func (k *Shared) String() string {
	k.mu.RLock()
	defer k.mu.RUnlock()
	return fmt.Sprintf("keyring(shared, %d keys cached)", len(k.keys))
}

// GoString is String, so that %#v prints no key material either.
func (k *Shared) GoString() string { return k.String() }

// secret calls the SecretStore under secretTimeout.
func (k *Shared) secret(name string, generate func() ([]byte, error)) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), secretTimeout)
	defer cancel()
	return k.secrets.Secret(ctx, name, generate)
}

// DefaultKeyARN returns the ARN of accountID's default key, creating the
// key in the shared store if no node has yet. Nodes that create it at
// once all get the one that was stored first.
func (k *Shared) DefaultKeyARN(accountID string) (string, error) {
	if err := checkAccount(accountID); err != nil {
		return "", err
	}
	k.mu.RLock()
	arn, ok := k.defaults[accountID]
	k.mu.RUnlock()
	if ok {
		return arn, nil
	}
	v, err := k.secret(secretDefault+accountID, func() ([]byte, error) {
		a, err := defaultARN(k.region, accountID)
		return []byte(a), err
	})
	if err != nil {
		return "", fmt.Errorf("keyring: default key of %s: %w", accountID, err)
	}
	arn = string(v)
	if err := checkARN(arn); err != nil || !ownedBy(arn, accountID) {
		return "", fmt.Errorf("keyring: the shared store names %q as the default key of %s: not a key ARN of that account", arn, accountID)
	}
	// The material is a second secret: a crash between the two leaves an
	// ARN whose material the next call creates, before any data key can
	// have been wrapped under it.
	if _, err := k.material(arn, randomMaterial); err != nil {
		return "", err
	}
	k.mu.Lock()
	k.defaults[accountID] = arn
	k.mu.Unlock()
	return arn, nil
}

// Add creates a master key named arn in the shared store. It returns
// ErrExists when a key of that ARN is there already.
func (k *Shared) Add(arn string) error {
	if err := checkARN(arn); err != nil {
		return err
	}
	mine, err := randomMaterial()
	if err != nil {
		return err
	}
	mk, err := k.material(arn, func() ([]byte, error) { return mine, nil })
	if err != nil {
		return err
	}
	if !bytes.Equal(mk.material, mine) {
		return fmt.Errorf("keyring: add %s: %w", arn, ErrExists)
	}
	return nil
}

// Import stores the keys of the Keyring file in the shared store, so that
// a deployment that grew out of one node keeps reading what it encrypted
// (ebsd migrate, or a node started with an existing kms-keys.json). A key
// the shared store already has with the same material is left alone; with
// other material, or another default key for one of the file's accounts,
// Import fails, storing the file's other keys.
func (k *Shared) Import(file *Keyring) error {
	file.mu.RLock()
	keys := sorted(file.keys)
	file.mu.RUnlock()
	var errs []error
	for _, fk := range keys {
		mk, err := k.material(fk.arn, func() ([]byte, error) { return fk.material, nil })
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if !bytes.Equal(mk.material, fk.material) {
			errs = append(errs, fmt.Errorf("keyring: import %s from %s: the shared store holds another key of that ARN; the file's key is not imported", fk.arn, file.path))
			continue
		}
		if fk.defaultFor == "" {
			continue
		}
		v, err := k.secret(secretDefault+fk.defaultFor, func() ([]byte, error) { return []byte(fk.arn), nil })
		if err != nil {
			errs = append(errs, fmt.Errorf("keyring: import the default key of %s: %w", fk.defaultFor, err))
		} else if string(v) != fk.arn {
			errs = append(errs, fmt.Errorf("keyring: import %s from %s: account %s's default key in the shared store is %s; snapshots encrypted with the file's default key stay readable, new ones use the shared one",
				fk.arn, file.path, fk.defaultFor, v))
		}
	}
	return errors.Join(errs...)
}

// Has reports whether there is a master key named arn.
func (k *Shared) Has(arn string) bool {
	_, err := k.key(arn)
	return err == nil
}

// NewDataKey is Keyring.NewDataKey.
func (k *Shared) NewDataKey(arn string) (plain, wrapped []byte, err error) {
	mk, err := k.key(arn)
	if err != nil {
		return nil, nil, err
	}
	return mk.newDataKey()
}

// Wrap is Keyring.Wrap.
func (k *Shared) Wrap(arn string, plain []byte) ([]byte, error) {
	mk, err := k.key(arn)
	if err != nil {
		return nil, err
	}
	return mk.wrap(plain)
}

// Unwrap is Keyring.Unwrap.
func (k *Shared) Unwrap(arn string, wrapped []byte) ([]byte, error) {
	mk, err := k.key(arn)
	if err != nil {
		return nil, err
	}
	return mk.unwrap(wrapped)
}

// key returns the master key named arn, or ErrUnknownKey.
func (k *Shared) key(arn string) (*masterKey, error) {
	if err := checkARN(arn); err != nil {
		return nil, fmt.Errorf("keyring: %s: %w", arn, ErrUnknownKey)
	}
	mk, err := k.material(arn, func() ([]byte, error) { return nil, errNoSecret })
	if errors.Is(err, errNoSecret) {
		return nil, fmt.Errorf("keyring: %s: %w", arn, ErrUnknownKey)
	}
	return mk, err
}

// material returns the key named arn from the cache or the shared store,
// storing what generate returns when the store has none.
func (k *Shared) material(arn string, generate func() ([]byte, error)) (*masterKey, error) {
	k.mu.RLock()
	mk, ok := k.keys[arn]
	k.mu.RUnlock()
	if ok {
		return mk, nil
	}
	v, err := k.secret(secretKey+arn, generate)
	if err != nil {
		if errors.Is(err, errNoSecret) {
			return nil, err
		}
		return nil, fmt.Errorf("keyring: key %s: %w", arn, err)
	}
	if len(v) != materialLen {
		return nil, fmt.Errorf("keyring: key %s in the shared store is %d bytes, want %d", arn, len(v), materialLen)
	}
	mk = &masterKey{arn: arn, material: v}
	k.mu.Lock()
	if prev, ok := k.keys[arn]; ok {
		mk = prev
	} else {
		k.keys[arn] = mk
	}
	k.mu.Unlock()
	return mk, nil
}

// randomMaterial returns fresh key material.
func randomMaterial() ([]byte, error) {
	m := make([]byte, materialLen)
	if _, err := rand.Read(m); err != nil {
		return nil, fmt.Errorf("keyring: %w", err)
	}
	return m, nil
}
