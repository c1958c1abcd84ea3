package snapshot

import (
	"fmt"
	"path/filepath"
	"strings"
	"sync"

	"github.com/ebsd/ebsd/internal/blockcipher"
	"github.com/ebsd/ebsd/internal/ebs"
	"github.com/ebsd/ebsd/internal/store"
)

// encryption applies the rules of spec §7.4 to a new snapshot record: it
// decides whether rec is encrypted and, if so, under which key.
// Encryption by default is off, as on a fresh AWS account.
func (s *Service) encryption(in StartInput, parent *store.Snapshot, rec *store.Snapshot) error {
	invalid := func(format string, args ...any) error {
		return ebs.E(opStart, ebs.KindInvalid, ebs.ReasonInvalidParameterValue, format, args...)
	}
	if in.Encrypted != nil && !*in.Encrypted && in.KMSKeyARN != nil {
		return invalid("Encrypt cannot be false when KmsKeyArn is specified")
	}
	if parent != nil {
		if in.Encrypted != nil {
			return invalid("You can't specify ParentSnapshotId and Encrypted in the same request. A child snapshot is encrypted exactly when its parent is.")
		}
		if in.KMSKeyARN != nil {
			return invalid("You can't specify KmsKeyArn with ParentSnapshotId: a child of an encrypted parent uses the parent's key, and a child of an unencrypted parent is unencrypted.")
		}
		// The child shares the parent's data key, so that it can read the
		// blocks it inherits and its own blocks deduplicate with them.
		rec.Encrypted, rec.KMSKeyARN, rec.WrappedKey = parent.Encrypted, parent.KMSKeyARN, parent.WrappedKey
		return nil
	}
	encrypt := (in.Encrypted != nil && *in.Encrypted) || in.KMSKeyARN != nil
	if !encrypt {
		return nil
	}
	if s.keys == nil {
		return ebs.E(opStart, ebs.KindInvalid, ebs.ReasonInvalidCustomerKey,
			"Encryption is not configured on this server: it has no KMS key file.")
	}
	arn := deref(in.KMSKeyARN)
	if arn == "" {
		var err error
		if arn, err = s.keys.DefaultKeyARN(in.AccountID); err != nil {
			return ebs.Wrap(opStart, ebs.KindInternal, err, "create the account's default KMS key")
		}
	} else if owner := keyAccount(arn); owner != in.AccountID {
		// AWS refuses another account's key unless its key policy grants
		// the caller; this KMS has no grants. Checked before Has, so the
		// answer says nothing of which keys this server holds.
		return ebs.E(opStart, ebs.KindAccessDenied, ebs.ReasonDependencyAccessDenied,
			"Account %s is not authorized to use the KMS key '%s': a snapshot can be encrypted only with a key of its own account.", in.AccountID, arn)
	} else if !s.keys.Has(arn) {
		return ebs.E(opStart, ebs.KindInvalid, ebs.ReasonInvalidCustomerKey,
			"The KMS key '%s' is not configured on this server: it is not in %s as this server read it (just now). 'ebsd kms-key add %s' adds it, and then it works without a restart (or use Encrypted without KmsKeyArn for the account's default key).", arn, keysFile(s.keys), arn)
	}
	_, wrapped, err := s.keys.NewDataKey(arn)
	if err != nil {
		return ebs.Wrap(opStart, ebs.KindInternal, err, "generate a data key")
	}
	rec.Encrypted, rec.KMSKeyARN, rec.WrappedKey = true, arn, wrapped
	return nil
}

// keysFile names the file the key provider reads, for messages: the
// operator adds keys there (internal/keyring has a File method). Only its
// base name: the message goes to any signed-in client, to whom the
// server's directories are none of their business; the operator knows
// where the file is (ebsd -h, -kms-keys).
func keysFile(k KeyProvider) string {
	if f, ok := k.(interface{ File() string }); ok && f.File() != "" {
		return filepath.Base(f.File())
	}
	return "the server's KMS keys file"
}

// keyAccount returns the account that owns the KMS key named arn: the
// fifth field of arn:partition:kms:region:account:key/id. It returns ""
// when arn has no account field in that place, which no account owns.
func keyAccount(arn string) string {
	f := strings.SplitN(arn, ":", 6)
	if len(f) < 6 || !strings.HasPrefix(f[5], "key/") {
		return ""
	}
	return f[4]
}

// cipherCacheSize bounds the number of unwrapped data keys kept in memory.
const cipherCacheSize = 1024

// cipherCache keeps block ciphers by wrapped data key, so that a block
// put or get does not unwrap the key each time.
type cipherCache struct {
	mu sync.Mutex
	m  map[string]*blockcipher.Cipher
}

// cipher returns the block cipher of an encrypted snapshot.
func (s *Service) cipher(snap store.Snapshot) (*blockcipher.Cipher, error) {
	c := &s.ciphers
	key := string(snap.WrappedKey)
	c.mu.Lock()
	ci, ok := c.m[key]
	c.mu.Unlock()
	if ok {
		return ci, nil
	}
	if s.keys == nil {
		return nil, fmt.Errorf("snapshot %s is encrypted but the server has no KMS keys", snap.ID)
	}
	plain, err := s.keys.Unwrap(snap.KMSKeyARN, snap.WrappedKey)
	if err != nil {
		return nil, fmt.Errorf("unwrap the data key of %s with %s: %w", snap.ID, snap.KMSKeyARN, err)
	}
	ci, err = blockcipher.New(plain)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if c.m == nil || len(c.m) >= cipherCacheSize {
		c.m = make(map[string]*blockcipher.Cipher)
	}
	c.m[key] = ci
	c.mu.Unlock()
	return ci, nil
}
