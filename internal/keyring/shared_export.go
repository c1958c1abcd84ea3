package keyring

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
)

// IsSharedSecret reports whether a secret of the shared store, by its name,
// is one of Shared's: a key's material or an account's default key.
func IsSharedSecret(name string) bool {
	return strings.HasPrefix(name, secretKey) || strings.HasPrefix(name, secretDefault)
}

// ImportShared stores in the keys file the keys of the shared keyring s
// that the secret names list (the names of the shared store's secrets;
// those that are not Shared's are ignored): Import the other way, for
// `ebsd migrate` from a distributed deployment to a data directory, whose
// server reads only its file. A key the file already has with the same
// material is left alone; another key of the same ARN, or another default
// key for an account, fails the import and stores nothing.
func (k *Keyring) ImportShared(s *Shared, names []string) error {
	var keys []*masterKey
	defaults := make(map[string]string) // ARN -> account it is the default of
	for _, name := range names {
		switch {
		case strings.HasPrefix(name, secretKey):
			mk, err := s.key(strings.TrimPrefix(name, secretKey))
			if err != nil {
				return fmt.Errorf("keyring: import %s: %w", name, err)
			}
			keys = append(keys, mk)
		case strings.HasPrefix(name, secretDefault):
			account := strings.TrimPrefix(name, secretDefault)
			v, err := s.secret(name, func() ([]byte, error) { return nil, errNoSecret })
			if err != nil {
				return fmt.Errorf("keyring: import the default key of %s: %w", account, err)
			}
			defaults[string(v)] = account
		}
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.updateLocked(func(held map[string]*masterKey, heldDefaults map[string]string) (*masterKey, error) {
		var errs []error
		for _, mk := range keys {
			add := &masterKey{arn: mk.arn, material: mk.material, defaultFor: defaults[mk.arn]}
			if old, ok := held[mk.arn]; ok {
				if !bytes.Equal(old.material, add.material) || old.defaultFor != add.defaultFor {
					errs = append(errs, fmt.Errorf("keyring: import %s into %s: the file holds another key of that ARN (or another default account)", mk.arn, k.path))
				}
				continue
			}
			if a := add.defaultFor; a != "" {
				if other, ok := heldDefaults[a]; ok && other != add.arn {
					errs = append(errs, fmt.Errorf("keyring: import %s into %s: account %s's default key in the file is %s", add.arn, k.path, a, other))
					continue
				}
				heldDefaults[a] = add.arn
			}
			held[add.arn] = add
		}
		return nil, errors.Join(errs...)
	})
}
