package server

import (
	"fmt"

	"github.com/ebsd/ebsd/internal/keyring"
	"github.com/ebsd/ebsd/internal/snapshot"
)

// keyProvider is the service's KMS stand-in, and what SIGHUP does to it.
type keyProvider interface {
	snapshot.KeyProvider
	// Reload re-reads the KMS keys file: keys added with 'ebsd kms-key
	// add' are then known. It returns what it read, for the log.
	Reload() (file string, keys int, err error)
}

// fileKeys is the embedded server's keyring: the KMS keys file itself.
type fileKeys struct{ *keyring.Keyring }

func (k fileKeys) Reload() (string, int, error) {
	err := k.Keyring.Reload()
	return k.File(), len(k.ARNs()), err
}

// sharedKeys is a distributed server's keyring: the keys live in the
// metadata store every node shares, so that a default key one node
// creates is every node's (keyring.Shared). The node's KMS keys file, if
// it has one, is imported at start-up and at each reload: that is how
// keys made with 'ebsd kms-key add', or by an embedded ebsd before the
// move to PostgreSQL, reach the cluster.
type sharedKeys struct {
	*keyring.Shared
	file *keyring.Keyring
}

func (k sharedKeys) Reload() (string, int, error) {
	if err := k.file.Reload(); err != nil {
		return k.file.File(), 0, err
	}
	n := len(k.file.ARNs())
	return k.file.File(), n, k.Import(k.file)
}

// openKeys opens the keyring: the KMS keys file, or in distributed mode
// the shared store with the file's keys imported into it.
func (s *Server) openKeys() (keyProvider, error) {
	file, err := keyring.Open(s.opts.KMSKeysFile, s.opts.Region)
	if err != nil {
		return nil, fmt.Errorf("open KMS keys: %w", err)
	}
	file.SetLogger(s.opts.Logger)
	if !s.opts.Backends.Distributed() {
		return fileKeys{file}, nil
	}
	shared, err := keyring.NewShared(s.meta, s.opts.Region)
	if err != nil {
		return nil, fmt.Errorf("open KMS keys: %w", err)
	}
	if err := shared.Import(file); err != nil {
		return nil, fmt.Errorf("import the KMS keys of %s into the shared store (fix or remove the file; the shared keys win): %w", file.File(), err)
	}
	if n := len(file.ARNs()); n > 0 {
		s.opts.Logger.Info("KMS keys of the local file imported into the shared store", "file", file.File(), "keys", n)
	}
	return sharedKeys{Shared: shared, file: file}, nil
}
