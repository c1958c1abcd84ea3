package keyring

import (
	"bytes"
	"fmt"
	"maps"
	"slices"
)

// lockSuffix names the lock file next to the keys file that every writer
// holds while it re-reads, changes and replaces the keys file.
const lockSuffix = ".lock"

// updateLocked makes one change to the keys file and to memory, with k.mu
// held. Under the file's lock it re-reads the file and merges it with
// memory, so that neither a key another process wrote nor one this
// keyring holds is dropped; change then returns the key to add to that
// union (nil: none). The file is replaced atomically when it lacks
// anything, and memory takes the union only once the file has it, so a
// key that failed to persist is never handed out.
func (k *Keyring) updateLocked(change func(keys map[string]*masterKey, defaults map[string]string) (*masterKey, error)) error {
	unlock, err := lockFile(k.path + lockSuffix)
	if err != nil {
		return err
	}
	defer unlock()
	disk, err := load(k.path)
	if err != nil {
		return err
	}
	keys, defaults, err := merge(k.keys, disk)
	if err != nil {
		return fmt.Errorf("keyring: %s: %w", k.path, err)
	}
	mk, err := change(keys, defaults)
	if err != nil {
		return err
	}
	if mk != nil {
		keys[mk.arn] = mk
		if mk.defaultFor != "" {
			defaults[mk.defaultFor] = mk.arn
		}
	}
	if len(keys) != len(disk) { // the file lacks the new key or one held in memory
		if err := save(k.path, sorted(keys)); err != nil {
			return err
		}
	}
	k.keys, k.defaults = keys, defaults
	return nil
}

// Reload re-reads the keys file and adopts the keys added to it since it
// was last read. Keys this keyring holds that the file no longer has are
// kept, since data may be wrapped under them; its next write puts them
// back. When the file cannot be read, is malformed, or contradicts a key
// held (same ARN, other material or default account), Reload changes
// nothing and returns an error that says what is wrong.
func (k *Keyring) Reload() error {
	disk, err := load(k.path) // outside k.mu: lookups go on meanwhile
	if err != nil {
		return err
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	keys, defaults, err := merge(k.keys, disk)
	if err != nil {
		return fmt.Errorf("keyring: %s: %w", k.path, err)
	}
	k.keys, k.defaults = keys, defaults
	return nil
}

// merge returns the union of the keys held and those read from the file,
// and each account's default key. A key in both must be the same key, and
// an account may have one default key: anything else means the file was
// edited by hand, and taking either side could lose data.
func merge(held map[string]*masterKey, read []*masterKey) (map[string]*masterKey, map[string]string, error) {
	keys := make(map[string]*masterKey, len(held)+len(read))
	maps.Copy(keys, held)
	for _, mk := range read {
		old, ok := keys[mk.arn]
		if !ok {
			keys[mk.arn] = mk
			continue
		}
		if !bytes.Equal(old.material, mk.material) || old.defaultFor != mk.defaultFor {
			return nil, nil, fmt.Errorf("key %s differs from the key of that ARN this server read before (other material or default account); restore its earlier entry", mk.arn)
		}
	}
	defaults := make(map[string]string)
	for _, arn := range slices.Sorted(maps.Keys(keys)) {
		a := keys[arn].defaultFor
		if a == "" {
			continue
		}
		if other, ok := defaults[a]; ok {
			return nil, nil, fmt.Errorf("account %s has two default keys, %s and %s", a, other, arn)
		}
		defaults[a] = arn
	}
	return keys, defaults, nil
}
