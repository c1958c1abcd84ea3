package powerloss

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/ebsd/ebsd/internal/keyring"
)

// region is the region the service serves and copies within.
const region = "us-east-1"

// accounts are the accounts the workers upload as: two, so that the
// content they share deduplicates across accounts.
var accounts = []string{"100000000000", "100000000001"}

// otherKeyARN is a second KMS key of account besides its default key: a
// copy of an encrypted snapshot made under it re-wraps the data key.
func otherKeyARN(account string) string {
	return "arn:aws:kms:" + region + ":" + account + ":key/0ther-key-0f-the-p0wer-l0ss-harness"
}

// openKeys returns a keyring in a temporary directory, with the accounts'
// second keys, and a function that removes it. The keyring lives outside
// the crashable file system: it stands for the operator's KMS key file,
// which a power cut of ebsd's data directory does not touch.
func openKeys() (*keyring.Keyring, func(), error) {
	dir, err := os.MkdirTemp("", "ebsd-powerloss-kms-")
	if err != nil {
		return nil, nil, fmt.Errorf("keyring directory: %w", err)
	}
	remove := func() { os.RemoveAll(dir) }
	k, err := keyring.Open(filepath.Join(dir, "kms-keys.json"), region)
	if err == nil {
		k.SetLogger(quiet)
		for _, a := range accounts {
			if err = k.Add(otherKeyARN(a)); err != nil {
				break
			}
		}
	}
	if err != nil {
		remove()
		return nil, nil, fmt.Errorf("keyring: %w", err)
	}
	return k, remove, nil
}
