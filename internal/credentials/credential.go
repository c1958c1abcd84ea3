package credentials

import (
	"crypto/rand"
	"encoding/base32"
	"encoding/base64"
	"fmt"
	"io"
	"log/slog"
	"math/big"
)

// Credential is one access key: the key ID a client signs with, its secret,
// and the account the client acts as.
//
// Its String, GoString and LogValue methods hide SecretAccessKey, so a
// Credential passed to fmt or slog by mistake does not leak the secret.
type Credential struct {
	AccessKeyID     string
	SecretAccessKey string
	AccountID       string
	// StorageQuota is the account's storage quota in bytes, which
	// overrides the server's -storage-quota; 0 means none. nil means
	// the entry sets none (storage_quota.go).
	StorageQuota *int64
}

// String returns the key ID and account ID, never the secret.
func (c Credential) String() string {
	return fmt.Sprintf("{AccessKeyID:%s AccountID:%s SecretAccessKey:REDACTED}", c.AccessKeyID, c.AccountID)
}

// GoString is like String, so that %#v does not print the secret either.
func (c Credential) GoString() string { return "credentials.Credential" + c.String() }

// LogValue renders the credential for slog without the secret.
func (c Credential) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("access_key_id", c.AccessKeyID),
		slog.String("account_id", c.AccountID),
	)
}

// Sizes of generated credentials. They match what AWS issues: 20-character
// key IDs starting with AKIA, 40-character secrets, 12-digit accounts.
const (
	accessKeyPrefix  = "AKIA"
	accessKeyRandLen = 10 // bytes; base32 makes 16 characters
	secretRandLen    = 30 // bytes; base64 makes 40 characters
)

// generate makes a new random credential from r (crypto/rand.Reader
// outside tests).
func generate(r io.Reader) (Credential, error) {
	keyBytes := make([]byte, accessKeyRandLen)
	secretBytes := make([]byte, secretRandLen)
	if _, err := io.ReadFull(r, keyBytes); err != nil {
		return Credential{}, fmt.Errorf("generate access key ID: %w", err)
	}
	if _, err := io.ReadFull(r, secretBytes); err != nil {
		return Credential{}, fmt.Errorf("generate secret access key: %w", err)
	}
	// An account ID has 12 digits and, like AWS's, does not start with 0:
	// pick uniformly in [100000000000, 999999999999].
	n, err := rand.Int(r, big.NewInt(900_000_000_000))
	if err != nil {
		return Credential{}, fmt.Errorf("generate account ID: %w", err)
	}
	return Credential{
		// Base32's alphabet (A-Z, 2-7) is the one AWS key IDs use.
		AccessKeyID: accessKeyPrefix + base32.StdEncoding.EncodeToString(keyBytes),
		// Base64's alphabet (A-Z, a-z, 0-9, +, /) is the one AWS secrets use;
		// 30 bytes encode to 40 characters without padding.
		SecretAccessKey: base64.StdEncoding.EncodeToString(secretBytes),
		AccountID:       fmt.Sprintf("%012d", n.Int64()+100_000_000_000),
	}, nil
}
