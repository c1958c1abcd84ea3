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

// BenchmarkDecompress decodes the frame of a text block made by each
// Encoder ebsd uses, in one run: Put's (SpeedFastest) and compaction's
// (NewReadFastEncoder). "stored/raw" is the frame's size over the block's.
func BenchmarkDecompress(b *testing.B) {
	data := textBytes(ebs.BlockSize, 1)
	readFast, err := pack.NewReadFastEncoder()
	if err != nil {
		b.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		enc  *pack.Encoder
	}{{"fastest", newEncoder(b)}, {"read-fast", readFast}} {
		b.Run(tc.name, func(b *testing.B) {
			frame, _ := tc.enc.Compress(nil, data)
			// The service's block buffers have room for a little more than a
			// block (snapshot.blockBufSize).
			dst := make([]byte, 0, ebs.BlockSize+64)
			b.SetBytes(ebs.BlockSize)
			for b.Loop() {
				if _, err := pack.Decompress(dst, frame, len(data)); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(len(frame))/float64(len(data)), "stored/raw")
		})
	}
}
