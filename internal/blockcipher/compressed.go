package blockcipher

import (
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"fmt"

	"github.com/ebsd/ebsd/internal/ebs"
)

// The compressed form (see the package documentation, "Compressed
// blocks").
const (
	compressedVersion = 2 // byte 0; the raw form has no version byte
	// CodecZstd is the codec byte of a block compressed as one zstd frame.
	CodecZstd = 1
	// compressedHeader is the version byte, the codec byte and the nonce.
	compressedHeader = 2 + nonceSize
)

// ErrNotSmaller is SealCompressed's refusal of a compressed block that is
// not smaller than the block it stands for: its stored form could then be
// taken for the raw form. Seal the block as it is instead.
var ErrNotSmaller = errors.New("blockcipher: compressed block not smaller than a raw one")

// SealCompressed appends the compressed form of a block to dst: packed is
// the block whose plaintext SHA-256 is digest, encoded by codec (CodecZstd),
// and must be short enough that the compressed form is shorter than the
// raw form of a block, len(packed) + CompressedOverhead() < ebs.BlockSize +
// Overhead() (ErrNotSmaller otherwise). Like Seal it is deterministic, and
// dst must not overlap packed.
func (c *Cipher) SealCompressed(dst []byte, digest ebs.Digest, codec byte, packed []byte) ([]byte, error) {
	if len(packed)+compressedHeader+tagSize >= ebs.BlockSize+tagSize {
		return dst, fmt.Errorf("%w: %d bytes", ErrNotSmaller, len(packed))
	}
	nonce := c.compressedNonce(digest, codec, packed)
	aad := compressedAAD(digest, codec)
	dst = append(dst, compressedVersion, codec)
	dst = append(dst, nonce[:nonceSize]...)
	return c.aead.Seal(dst, nonce[:nonceSize], packed, aad[:]), nil
}

// IsCompressed reports whether sealed, a stored block of an encrypted
// snapshot, is in the compressed form (OpenCompressed) rather than the raw
// form (Open). A raw form is exactly ebs.BlockSize + Overhead() bytes; a
// compressed form is shorter and starts with its version byte.
func IsCompressed(sealed []byte) bool {
	return len(sealed) < ebs.BlockSize+tagSize && len(sealed) >= compressedHeader+tagSize && sealed[0] == compressedVersion
}

// OpenCompressed authenticates and decrypts the compressed form sealed,
// in place, and returns the codec and the packed bytes (a sub-slice of
// sealed), which the caller decodes. It returns ErrAuth if sealed was
// altered, was sealed with another digest or data key, or is not a
// compressed form.
func (c *Cipher) OpenCompressed(digest ebs.Digest, sealed []byte) (codec byte, packed []byte, err error) {
	if !IsCompressed(sealed) {
		return 0, nil, ErrAuth
	}
	codec = sealed[1]
	aad := compressedAAD(digest, codec)
	ct := sealed[compressedHeader:]
	packed, err = c.aead.Open(ct[:0], sealed[2:compressedHeader], ct, aad[:])
	if err != nil {
		return 0, nil, ErrAuth
	}
	return codec, packed, nil
}

// CompressedOverhead returns how many bytes longer the compressed form is
// than the packed bytes it seals.
func CompressedOverhead() int { return compressedHeader + tagSize }

// compressedNonce is the synthetic nonce of the compressed form:
// HMAC-SHA256(kc, digest | codec | packed). It covers the packed bytes,
// not only the digest, because two encoders (another level, another
// version of zstd) may pack one block differently: a nonce of the digest
// alone would then encrypt two plaintexts under one nonce.
func (c *Cipher) compressedNonce(digest ebs.Digest, codec byte, packed []byte) ebs.Digest {
	h := hmac.New(sha256.New, c.compressedNonceKey)
	h.Write(digest[:])
	h.Write([]byte{codec})
	h.Write(packed)
	var out ebs.Digest
	h.Sum(out[:0])
	return out
}

// compressedAAD is the additional data of the compressed form: the
// block's digest, the version and the codec, so that neither the digest
// nor how the packed bytes are to be decoded can be changed.
func compressedAAD(digest ebs.Digest, codec byte) [len(ebs.Digest{}) + 2]byte {
	var a [len(ebs.Digest{}) + 2]byte
	copy(a[:], digest[:])
	a[len(digest)], a[len(digest)+1] = compressedVersion, codec
	return a
}
