package ebstest

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"math/rand/v2"
)

// BlockSize is the EBS block size.
const BlockSize = 524288

// Payload returns the spec's synthetic block (spec §7.6): the text
// "stackd-ebs-synthetic-" + x + "\n" repeated and cut to one block.
func Payload(x string) []byte {
	line := []byte("stackd-ebs-synthetic-" + x + "\n")
	// Just enough repeats: BlockSize of them would copy gigabytes over a
	// test run, which -race checks byte range by byte range.
	return bytes.Repeat(line, BlockSize/len(line)+1)[:BlockSize]
}

// Random returns a block of pseudo-random bytes from seed.
func Random(seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	b := make([]byte, BlockSize)
	for i := 0; i < len(b); i += 8 {
		v := r.Uint64()
		for j := 0; j < 8; j++ {
			b[i+j] = byte(v >> (8 * j))
		}
	}
	return b
}

// Checksum returns the Base64 SHA-256 of b, as x-amz-Checksum carries it.
func Checksum(b []byte) string {
	d := sha256.Sum256(b)
	return base64.StdEncoding.EncodeToString(d[:])
}

// Linear returns the LINEAR aggregate checksum of blocks written at
// ascending indexes (spec §7.6).
func Linear(blocks ...[]byte) string {
	h := sha256.New()
	for _, b := range blocks {
		d := sha256.Sum256(b)
		h.Write(d[:])
	}
	return base64.StdEncoding.EncodeToString(h.Sum(nil))
}
