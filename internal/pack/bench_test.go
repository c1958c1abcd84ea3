package pack_test

import (
	"testing"

	"github.com/ebsd/ebsd/internal/ebs"
	"github.com/ebsd/ebsd/internal/pack"
)

// BenchmarkIncompressible is the cost Put adds to a block that is not
// compressed because it looks random (every encrypted block).
func BenchmarkIncompressible(b *testing.B) {
	data := randomBytes(ebs.BlockSize, 1)
	b.SetBytes(ebs.BlockSize)
	for b.Loop() {
		if !pack.Incompressible(data) {
			b.Fatal("random data looks compressible")
		}
	}
}

// BenchmarkCompress and BenchmarkDecompress: a text block, both ways.
func BenchmarkCompress(b *testing.B) {
	enc := newEncoder(b)
	data := textBytes(ebs.BlockSize, 1)
	dst := make([]byte, 0, ebs.BlockSize)
	b.SetBytes(ebs.BlockSize)
	for b.Loop() {
		enc.Compress(dst, data)
	}
}

func BenchmarkDecompress(b *testing.B) {
	data := textBytes(ebs.BlockSize, 1)
	frame, _ := newEncoder(b).Compress(nil, data)
	// The service's block buffers have room for a little more than a
	// block (snapshot.blockBufSize).
	dst := make([]byte, 0, ebs.BlockSize+64)
	b.SetBytes(ebs.BlockSize)
	for b.Loop() {
		if _, err := pack.Decompress(dst, frame, len(data)); err != nil {
			b.Fatal(err)
		}
	}
}
