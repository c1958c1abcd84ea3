package blockcipher

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"fmt"

	"github.com/ebsd/ebsd/internal/ebs"
)

// KeySize is the length of a data key: AES-256.
const KeySize = 32

const (
	nonceSize = 12 // GCM's standard nonce
	tagSize   = 16 // GCM's full tag
)

// ErrAuth means a stored block failed authentication: it was altered, or it
// is opened with another digest or another data key than it was sealed with.
var ErrAuth = errors.New("blockcipher: message authentication failed")

// Cipher seals and opens blocks under one data key. It is safe for
// concurrent use.
type Cipher struct {
	aead     cipher.AEAD
	nonceKey []byte
	storeKey []byte
	// compressedNonceKey derives the nonces of the compressed form.
	compressedNonceKey []byte
}

// New returns a Cipher for dataKey, which must be KeySize random bytes.
func New(dataKey []byte) (*Cipher, error) {
	if len(dataKey) != KeySize {
		return nil, fmt.Errorf("blockcipher: data key is %d bytes, want %d", len(dataKey), KeySize)
	}
	block, err := aes.NewCipher(subkey(dataKey, "ebsd blockcipher v1 encryption"))
	if err != nil {
		return nil, fmt.Errorf("blockcipher: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("blockcipher: %w", err)
	}
	return &Cipher{
		aead:     aead,
		nonceKey: subkey(dataKey, "ebsd blockcipher v1 nonce"),
		storeKey: subkey(dataKey, "ebsd blockcipher v1 storage key"),

		compressedNonceKey: subkey(dataKey, "ebsd blockcipher v2 compressed nonce"),
	}, nil
}

// Overhead returns how many bytes longer a sealed block is than its
// plaintext.
func Overhead() int { return tagSize }

// StorageKey returns the block-store key of the sealed form of the block
// whose plaintext SHA-256 is digest. Equal blocks under one data key get one
// key, so they are stored once without hashing the ciphertext; whoever sees
// only the store learns nothing of the plaintext from it.
func (c *Cipher) StorageKey(digest ebs.Digest) ebs.Digest {
	return prf(c.storeKey, digest)
}

// Seal appends the sealed form of plaintext to dst and returns the result.
// digest must be ebs.Sum(plaintext): the nonce is derived from it, and Seal
// does not check it (see the package documentation). Sealing is
// deterministic: equal plaintexts give equal results. To seal in place, pass
// plaintext[:0] as dst with room for Overhead more bytes; otherwise dst must
// not overlap plaintext.
func (c *Cipher) Seal(dst []byte, digest ebs.Digest, plaintext []byte) []byte {
	nonce := prf(c.nonceKey, digest)
	return c.aead.Seal(dst, nonce[:nonceSize], plaintext, digest[:])
}

// Open authenticates and decrypts ciphertext, sealed under digest, appends
// the plaintext to dst and returns the result. It returns ErrAuth if
// ciphertext was altered or was sealed with another digest or data key. To
// open in place, pass ciphertext[:0] as dst; otherwise dst must not overlap
// ciphertext. Open does not hash the plaintext again: the tag already proves
// it is what Seal was given together with digest.
func (c *Cipher) Open(dst []byte, digest ebs.Digest, ciphertext []byte) ([]byte, error) {
	nonce := prf(c.nonceKey, digest)
	out, err := c.aead.Open(dst, nonce[:nonceSize], ciphertext, digest[:])
	if err != nil {
		return nil, ErrAuth
	}
	return out, nil
}

// subkey derives the key for one purpose from the data key.
func subkey(dataKey []byte, label string) []byte {
	h := hmac.New(sha256.New, dataKey)
	h.Write([]byte(label))
	return h.Sum(nil)
}

// prf returns HMAC-SHA256(key, digest).
func prf(key []byte, digest ebs.Digest) ebs.Digest {
	h := hmac.New(sha256.New, key)
	h.Write(digest[:])
	var out ebs.Digest
	h.Sum(out[:0])
	return out
}
