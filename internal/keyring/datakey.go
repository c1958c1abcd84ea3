package keyring

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"fmt"
)

// DataKeyLen is the length of a data key: AES-256.
const DataKeyLen = 32

// NewDataKey returns a new random data key, in plain and wrapped under the
// master key named arn, like KMS GenerateDataKey. Only wrapped may be
// stored; Unwrap with the same arn gives plain back.
func (k *Keyring) NewDataKey(arn string) (plain, wrapped []byte, err error) {
	mk, err := k.key(arn)
	if err != nil {
		return nil, nil, err
	}
	return mk.newDataKey()
}

// Wrap seals an existing data key under the master key named arn, like KMS
// ReEncrypt after a Decrypt: CopySnapshot re-wraps a source's data key
// under the copy's key, so that the copy reads the blocks it shares with
// its source and stays readable when the source's key is gone.
func (k *Keyring) Wrap(arn string, plain []byte) ([]byte, error) {
	mk, err := k.key(arn)
	if err != nil {
		return nil, err
	}
	return mk.wrap(plain)
}

// Unwrap returns the data key that NewDataKey wrapped under arn, like KMS
// Decrypt. It returns ErrUnknownKey when there is no such master key and
// ErrBadWrap when wrapped was altered or wrapped under another key or ARN.
func (k *Keyring) Unwrap(arn string, wrapped []byte) ([]byte, error) {
	mk, err := k.key(arn)
	if err != nil {
		return nil, err
	}
	return mk.unwrap(wrapped)
}

// newDataKey returns a new random data key, in plain and wrapped under mk.
func (mk *masterKey) newDataKey() (plain, wrapped []byte, err error) {
	plain = make([]byte, DataKeyLen)
	if _, err := rand.Read(plain); err != nil {
		return nil, nil, fmt.Errorf("keyring: %w", err)
	}
	wrapped, err = mk.wrap(plain)
	if err != nil {
		return nil, nil, err
	}
	return plain, wrapped, nil
}

// wrap seals the data key plain under mk, bound to mk's ARN.
func (mk *masterKey) wrap(plain []byte) ([]byte, error) {
	if len(plain) != DataKeyLen {
		return nil, fmt.Errorf("keyring: wrap under %s: a data key is %d bytes, not %d", mk.arn, DataKeyLen, len(plain))
	}
	aead, err := mk.aead()
	if err != nil {
		return nil, err
	}
	return aead.Seal(nil, nil, plain, []byte(mk.arn)), nil
}

// unwrap opens a data key that wrap sealed under mk.
func (mk *masterKey) unwrap(wrapped []byte) ([]byte, error) {
	aead, err := mk.aead()
	if err != nil {
		return nil, err
	}
	plain, err := aead.Open(nil, nil, wrapped, []byte(mk.arn))
	if err != nil || len(plain) != DataKeyLen {
		return nil, fmt.Errorf("keyring: unwrap under %s: %w", mk.arn, ErrBadWrap)
	}
	return plain, nil
}

// aead returns AES-256-GCM under the master key that draws a random nonce
// per Seal and prepends it to the output.
func (mk *masterKey) aead() (cipher.AEAD, error) {
	block, err := aes.NewCipher(mk.material)
	if err != nil {
		return nil, fmt.Errorf("keyring: %w", err)
	}
	aead, err := cipher.NewGCMWithRandomNonce(block)
	if err != nil {
		return nil, fmt.Errorf("keyring: %w", err)
	}
	return aead, nil
}
