package snapshot

import (
	"fmt"

	"github.com/ebsd/ebsd/internal/blockcipher"
	"github.com/ebsd/ebsd/internal/ebs"
	"github.com/ebsd/ebsd/internal/pack"
)

// seal appends to dst the stored form of block data, whose SHA-256 is
// digest, of an encrypted snapshot sealed by c. A block that compresses
// well is compressed first, since its ciphertext will not compress in the
// block store: the compressed form of blockcipher. Any other is sealed as
// it is, in the raw form that every block had before compression, so that
// it deduplicates with those.
func (s *Service) seal(c *blockcipher.Cipher, digest ebs.Digest, data, dst []byte) []byte {
	if s.packer != nil {
		buf := s.getBuf()
		defer s.putBuf(buf)
		// Compress saves at least 1/16 or declines, which leaves the
		// compressed form shorter than a raw one, as SealCompressed asks.
		if frame, ok := s.packer.Compress((*buf)[:0], data); ok {
			if out, err := c.SealCompressed(dst, digest, blockcipher.CodecZstd, frame); err == nil {
				return out
			}
		}
	}
	return c.Seal(dst, digest, data)
}

// unseal appends to dst the plaintext of sealed, the stored form of the
// block whose SHA-256 is digest, in either form; a compressed form is
// opened in place in sealed and decompressed into dst.
func unseal(c *blockcipher.Cipher, digest ebs.Digest, sealed, dst []byte) ([]byte, error) {
	if !blockcipher.IsCompressed(sealed) {
		return c.Open(dst, digest, sealed)
	}
	codec, frame, err := c.OpenCompressed(digest, sealed)
	if err != nil {
		return nil, err
	}
	if codec != blockcipher.CodecZstd {
		return nil, fmt.Errorf("block %v: compressed with codec %d, which this ebsd cannot decode; upgrade ebsd to read it", digest, codec)
	}
	// The frame is authenticated; Decompress still checks that it holds
	// exactly one block.
	out, err := pack.Decompress(dst, frame, ebs.BlockSize)
	if err != nil {
		return nil, fmt.Errorf("block %v: %w", digest, err)
	}
	return out, nil
}
