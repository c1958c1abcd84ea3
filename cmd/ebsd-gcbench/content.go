package main

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"math/rand/v2"
	"runtime"
	"sync"
)

const blockSize = 524288

// Content streams: the fill, the warm-up, and one per upload round.
const (
	streamFill   = 1
	streamWarmUp = 2
	streamRound  = 3 // round r is streamRound + r
)

// content makes the blocks of the run. Every block is ChaCha8 output
// seeded with the run's nonce, its stream and its number: distinct from
// every other block of the run (nothing deduplicates) and incompressible
// (a pack compression would not shrink the fill).
type content struct{ nonce uint64 }

func (c content) fill(buf []byte, stream, id uint64) {
	var seed [32]byte
	binary.LittleEndian.PutUint64(seed[0:], c.nonce)
	binary.LittleEndian.PutUint64(seed[8:], stream)
	binary.LittleEndian.PutUint64(seed[16:], id)
	r := rand.NewChaCha8(seed)
	_, _ = r.Read(buf) // never fails
}

func checksum(buf []byte) string {
	d := sha256.Sum256(buf)
	return base64.StdEncoding.EncodeToString(d[:])
}

// sums returns the checksums of blocks 0..n-1 of stream, computed on every
// core before any clock starts, so that the client's own hashing is not
// what an upload measures.
func (c content) sums(stream uint64, n int) []string {
	out := make([]string, n)
	workers := runtime.GOMAXPROCS(0)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, blockSize)
			for i := w; i < n; i += workers {
				c.fill(buf, stream, uint64(i))
				out[i] = checksum(buf)
			}
		}()
	}
	wg.Wait()
	return out
}
