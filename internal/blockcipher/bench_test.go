package blockcipher_test

import (
	"testing"

	"github.com/ebsd/ebsd/internal/blockcipher"
	"github.com/ebsd/ebsd/internal/ebs"
)

// BenchmarkSeal measures the encrypted put path: one 512 KiB block sealed
// into a reused buffer.
func BenchmarkSeal(b *testing.B) {
	c := mustCipher(b, 1)
	plain, d := randomBlock(b, 1)
	dst := make([]byte, 0, len(plain)+blockcipher.Overhead())
	b.SetBytes(ebs.BlockSize)
	b.ReportAllocs()
	for b.Loop() {
		dst = c.Seal(dst[:0], d, plain)
	}
}

// BenchmarkOpen measures the encrypted get path.
func BenchmarkOpen(b *testing.B) {
	c := mustCipher(b, 1)
	plain, d := randomBlock(b, 1)
	sealed := c.Seal(nil, d, plain)
	dst := make([]byte, 0, len(plain))
	b.SetBytes(ebs.BlockSize)
	b.ReportAllocs()
	for b.Loop() {
		var err error
		if dst, err = c.Open(dst[:0], d, sealed); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSHA256 is the hash the put path computes anyway, for comparison.
func BenchmarkSHA256(b *testing.B) {
	plain, _ := randomBlock(b, 1)
	b.SetBytes(ebs.BlockSize)
	for b.Loop() {
		ebs.Sum(plain)
	}
}

func BenchmarkStorageKey(b *testing.B) {
	c := mustCipher(b, 1)
	d := ebs.Sum([]byte("x"))
	b.ReportAllocs()
	for b.Loop() {
		c.StorageKey(d)
	}
}
