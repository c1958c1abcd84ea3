package storetest

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/ebsd/ebsd/internal/ebs"
	"github.com/ebsd/ebsd/internal/store"
)

// blockBenchConcurrency are the numbers of concurrent callers benchmarked:
// one uploader, a few, and the 64 of a busy server.
var blockBenchConcurrency = []int{1, 8, 64}

// RunBlockStoreBenchmarks runs the BlockStore benchmarks, each on a fresh
// harness from mk. Put reports blocks/s and MB/s of distinct 512 KiB
// blocks; PutExisting measures the Put of stored keys (a deduplication hit,
// which writes nothing but waits for a group sync); Get reads stored blocks back.
func RunBlockStoreBenchmarks(b *testing.B, mk BlockHarnessMaker) {
	for _, n := range blockBenchConcurrency {
		b.Run(fmt.Sprintf("Put/goroutines=%d", n), func(b *testing.B) { blockBenchPut(b, mk, n) })
	}
	b.Run("PutExisting/goroutines=8", func(b *testing.B) { blockBenchPutExisting(b, mk, 8) })
	for _, n := range []int{1, 8} {
		b.Run(fmt.Sprintf("Get/goroutines=%d", n), func(b *testing.B) { blockBenchGet(b, mk, n) })
	}
}

// blockBenchOpen opens a store on a fresh harness; both are closed when b
// ends.
func blockBenchOpen(b *testing.B, mk BlockHarnessMaker) store.BlockStore {
	b.Helper()
	h := mk(b)
	bs, err := h.Open(b.Context())
	if err != nil {
		h.Close()
		b.Fatalf("Open: %v", err)
	}
	b.Cleanup(func() {
		if err := bs.Close(); err != nil && !errors.Is(err, store.ErrClosed) {
			b.Errorf("Close: %v", err)
		}
		h.Close()
	})
	return bs
}

// blockBenchRun calls fn(i) for i in [0, b.N) from the given number of
// goroutines, each with its own ebs.BlockSize buffer of random bytes, and
// reports blocks/s.
func blockBenchRun(b *testing.B, goroutines int, fn func(i int, buf []byte) error) {
	b.Helper()
	b.SetBytes(ebs.BlockSize)
	bufs := make([][]byte, goroutines)
	for g := range bufs {
		_, bufs[g] = blockRandom(rand.New(rand.NewPCG(uint64(g), rand.Uint64())), ebs.BlockSize)
	}
	var next atomic.Int64
	var failed atomic.Bool
	var wg sync.WaitGroup
	b.ResetTimer()
	for _, buf := range bufs {
		wg.Go(func() {
			for !failed.Load() {
				i := int(next.Add(1) - 1)
				if i >= b.N {
					return
				}
				if err := fn(i, buf); err != nil {
					failed.Store(true)
					b.Error(err)
				}
			}
		})
	}
	wg.Wait()
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "blocks/s")
}

// blockBenchKey returns a distinct key for block i of a run salted with
// salt. Hashing 16 bytes instead of the whole block keeps the caller's
// SHA-256 out of the measurement; a store cannot tell.
func blockBenchKey(salt uint64, i int) ebs.Digest {
	var b [16]byte
	binary.LittleEndian.PutUint64(b[:], salt)
	binary.LittleEndian.PutUint64(b[8:], uint64(i))
	return sha256.Sum256(b[:])
}

// blockBenchStamp makes buf block i's distinct content.
func blockBenchStamp(buf []byte, salt uint64, i int) {
	binary.LittleEndian.PutUint64(buf, salt)
	binary.LittleEndian.PutUint64(buf[8:], uint64(i))
}

func blockBenchPut(b *testing.B, mk BlockHarnessMaker, goroutines int) {
	bs := blockBenchOpen(b, mk)
	ctx := b.Context()
	salt := rand.Uint64()
	blockBenchRun(b, goroutines, func(i int, buf []byte) error {
		blockBenchStamp(buf, salt, i)
		return bs.Put(ctx, blockBenchKey(salt, i), buf)
	})
}

func blockBenchPutExisting(b *testing.B, mk BlockHarnessMaker, goroutines int) {
	const stored = 64
	bs := blockBenchOpen(b, mk)
	ctx := b.Context()
	salt := rand.Uint64()
	_, buf := blockRandom(rand.New(rand.NewPCG(1, 2)), ebs.BlockSize)
	for i := range stored {
		blockBenchStamp(buf, salt, i)
		if err := bs.Put(ctx, blockBenchKey(salt, i), buf); err != nil {
			b.Fatalf("Put: %v", err)
		}
	}
	blockBenchRun(b, goroutines, func(i int, buf []byte) error {
		blockBenchStamp(buf, salt, i%stored)
		return bs.Put(ctx, blockBenchKey(salt, i%stored), buf)
	})
}

func blockBenchGet(b *testing.B, mk BlockHarnessMaker, goroutines int) {
	const stored = 64
	bs := blockBenchOpen(b, mk)
	ctx := b.Context()
	salt := rand.Uint64()
	_, buf := blockRandom(rand.New(rand.NewPCG(1, 2)), ebs.BlockSize)
	for i := range stored {
		blockBenchStamp(buf, salt, i)
		if err := bs.Put(ctx, blockBenchKey(salt, i), buf); err != nil {
			b.Fatalf("Put: %v", err)
		}
	}
	blockBenchRun(b, goroutines, func(i int, buf []byte) error {
		got, err := bs.Get(ctx, blockBenchKey(salt, i%stored), buf[:0])
		if err == nil && len(got) != ebs.BlockSize {
			err = fmt.Errorf("Get returned %d bytes, want %d", len(got), ebs.BlockSize)
		}
		return err
	})
}
