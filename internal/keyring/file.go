package keyring

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"runtime"

	"github.com/ebsd/ebsd/internal/fsutil"
)

// fileVersion is the version of the file format this package reads and
// writes.
const fileVersion = 1

// file is the JSON form of the keyring file.
type file struct {
	Version int         `json:"version"`
	Keys    []fileEntry `json:"keys"`
}

type fileEntry struct {
	ARN               string `json:"arn"`
	Material          []byte `json:"material"` // standard Base64 in JSON
	DefaultForAccount string `json:"default_for_account,omitempty"`
}

// load reads and checks the keyring file at path. A missing file is an
// empty keyring.
func load(path string) ([]*masterKey, error) {
	data, err := readPrivate(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var f file
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("keyring: %s: %w", path, err)
	}
	if f.Version != fileVersion {
		return nil, fmt.Errorf("keyring: %s: version %d, want %d", path, f.Version, fileVersion)
	}
	keys := make([]*masterKey, 0, len(f.Keys))
	seen := make(map[string]bool, len(f.Keys))
	defaults := make(map[string]bool)
	for i, e := range f.Keys {
		if err := checkARN(e.ARN); err != nil {
			return nil, fmt.Errorf("keyring: %s: key %d: %w", path, i, err)
		}
		if len(e.Material) != materialLen {
			return nil, fmt.Errorf("keyring: %s: key %s: material is %d bytes, want %d", path, e.ARN, len(e.Material), materialLen)
		}
		if seen[e.ARN] {
			return nil, fmt.Errorf("keyring: %s: key %s appears twice", path, e.ARN)
		}
		seen[e.ARN] = true
		if a := e.DefaultForAccount; a != "" {
			if err := checkAccount(a); err != nil {
				return nil, fmt.Errorf("keyring: %s: key %s: %w", path, e.ARN, err)
			}
			if !ownedBy(e.ARN, a) {
				return nil, fmt.Errorf("keyring: %s: key %s is the default of account %s but not its key", path, e.ARN, a)
			}
			if defaults[a] {
				return nil, fmt.Errorf("keyring: %s: account %s has two default keys", path, a)
			}
			defaults[a] = true
		}
		keys = append(keys, &masterKey{arn: e.ARN, material: e.Material, defaultFor: e.DefaultForAccount})
	}
	return keys, nil
}

// readPrivate reads the file at path, refusing it if group or others may
// access it.
func readPrivate(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("keyring: %w", err)
	}
	// Windows reports no meaningful permission bits.
	if perm := fi.Mode().Perm(); perm&0o077 != 0 && runtime.GOOS != "windows" {
		return nil, fmt.Errorf("keyring: %s has mode %#o: group and others must have no access (chmod 600)", path, perm)
	}
	data, err := io.ReadAll(f)
	if err != nil {
		return nil, fmt.Errorf("keyring: %w", err)
	}
	return data, nil
}

// save replaces the keyring file at path with keys, atomically and durably.
func save(path string, keys []*masterKey) error {
	f := file{Version: fileVersion, Keys: make([]fileEntry, len(keys))}
	for i, mk := range keys {
		f.Keys[i] = fileEntry{ARN: mk.arn, Material: mk.material, DefaultForAccount: mk.defaultFor}
	}
	data, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return fmt.Errorf("keyring: %w", err)
	}
	if err := fsutil.WriteFile(path, append(data, '\n')); err != nil {
		return fmt.Errorf("keyring: save %s: %w", path, err)
	}
	return nil
}
