package ebs

import (
	"crypto/sha256"
	"encoding/base64"
	"fmt"
)

// Digest is a SHA-256 digest: of a block's plaintext when it names what a
// client wrote, or of whatever a block store keeps when it is a storage key.
type Digest [sha256.Size]byte

// ZeroBlockDigest is the SHA-256 of BlockSize zero bytes. A block with this
// digest is never stored: it reads back as zeros.
var ZeroBlockDigest = sha256.Sum256(make([]byte, BlockSize))

// Sum returns the SHA-256 digest of b.
func Sum(b []byte) Digest { return sha256.Sum256(b) }

// String returns the digest in standard Base64, the form of x-amz-Checksum.
func (d Digest) String() string { return base64.StdEncoding.EncodeToString(d[:]) }

// IsZero reports whether d is the all-zero value (no digest), not the
// digest of a zero block.
func (d Digest) IsZero() bool { return d == Digest{} }

// ParseDigest decodes a standard-Base64 SHA-256 digest.
func ParseDigest(s string) (Digest, error) {
	var d Digest
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return d, fmt.Errorf("digest %q is not valid Base64: %w", s, err)
	}
	if len(b) != len(d) {
		return d, fmt.Errorf("digest %q decodes to %d bytes, want %d", s, len(b), len(d))
	}
	copy(d[:], b)
	return d, nil
}
