package powerloss

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"math/rand/v2"

	"github.com/ebsd/ebsd/internal/ebs"
)

// block returns the content numbered n: pseudo-random, so that every n
// has its own digest and nothing compresses or deduplicates by accident.
func block(n uint64) []byte { return fill(nil, n) }

// fill makes b (reallocated if too short) the content numbered n.
func fill(b []byte, n uint64) []byte {
	var seed [32]byte
	binary.LittleEndian.PutUint64(seed[:], n)
	if cap(b) < ebs.BlockSize {
		b = make([]byte, ebs.BlockSize)
	}
	b = b[:ebs.BlockSize]
	_, _ = rand.NewChaCha8(seed).Read(b)
	return b
}

func digestOf(b []byte) ebs.Digest { return sha256.Sum256(b) }

func b64(d ebs.Digest) string { return base64.StdEncoding.EncodeToString(d[:]) }

// linear returns the LINEAR aggregate (spec §7.6) of the digests of blocks
// written at ascending indexes.
func linear(digests []ebs.Digest) string {
	h := sha256.New()
	for _, d := range digests {
		h.Write(d[:])
	}
	return base64.StdEncoding.EncodeToString(h.Sum(nil))
}
