package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/ebsd/ebsd/internal/ebs"
	"github.com/ebsd/ebsd/internal/store"
)

// BlockHarness gives one test case its own, initially empty, BlockStore
// namespace.
type BlockHarness interface {
	// Open returns a store over the harness's namespace. It may be called
	// again once the store it returned is closed, and the new store must
	// then hold what the first one stored (unless the harness is
	// BlockVolatile).
	Open(ctx context.Context) (store.BlockStore, error)

	// Close releases the namespace. Stores it opened are closed by then.
	Close()
}

// BlockHarnessMaker makes a fresh harness for one test case or benchmark.
// It takes a testing.TB, not a *testing.T, so that benchmarks can use it.
type BlockHarnessMaker func(tb testing.TB) BlockHarness

// BlockVolatile is implemented by harnesses whose stores keep nothing once
// closed (memstore): the cases that reopen a store are skipped for them.
type BlockVolatile interface {
	Volatile() bool
}

// BlockCorrupter is implemented by harnesses that can damage stored data,
// to check that the store detects it. When a harness does not implement
// it, the corruption case is skipped.
type BlockCorrupter interface {
	// Corrupt changes the stored content of key (flipping a byte on disk,
	// say) while the store from the latest Open is open, in a way the
	// store's next Get of key sees.
	Corrupt(ctx context.Context, key ebs.Digest) error
}

// blockCase is one conformance case. Cases that set reopen close the store
// and open it again, so they are skipped for volatile harnesses.
type blockCase struct {
	name   string
	reopen bool
	fn     func(t *testing.T, env *blockEnv)
}

// RunBlockStoreTests runs the BlockStore conformance suite: every case gets
// a fresh harness from mk and runs in parallel with the others.
func RunBlockStoreTests(t *testing.T, mk BlockHarnessMaker) {
	cases := []blockCase{
		{name: "RoundTrip", fn: testBlockRoundTrip},
		{name: "GetMissing", fn: testBlockGetMissing},
		{name: "PutTwiceIsNoOp", fn: testBlockPutTwice},
		{name: "PutDoesNotRetain", fn: testBlockPutDoesNotRetain},
		{name: "Has", fn: testBlockHas},
		{name: "GetAppendsToDst", fn: testBlockGetAppends},
		{name: "ConcurrentDistinct", fn: testBlockConcurrentDistinct},
		{name: "ConcurrentSame", fn: testBlockConcurrentSame},
		{name: "ContextCanceled", fn: testBlockContextCanceled},
		{name: "Closed", fn: testBlockClosed},
		{name: "Reopen", reopen: true, fn: testBlockReopen},
		{name: "Corrupt", fn: testBlockCorrupt},
		{name: "CorruptReplacedByPut", fn: testBlockCorruptReplaced},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			env := blockOpenEnv(t, mk)
			if c.reopen && env.volatile {
				t.Skip("the harness's stores keep nothing once closed")
			}
			c.fn(t, env)
		})
	}
}

// blockEnv is what a case works with: a harness and the store it opened.
type blockEnv struct {
	ctx      context.Context
	h        BlockHarness
	bs       store.BlockStore
	volatile bool
	rng      *rand.Rand
	blocks   int // calls of block so far
}

// blockOpenEnv makes a harness and opens its store; both are closed when
// tb ends.
func blockOpenEnv(tb testing.TB, mk BlockHarnessMaker) *blockEnv {
	tb.Helper()
	h := mk(tb)
	env := &blockEnv{ctx: tb.Context(), h: h, rng: rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))}
	if v, ok := h.(BlockVolatile); ok {
		env.volatile = v.Volatile()
	}
	tb.Cleanup(func() {
		if env.bs != nil {
			if err := env.bs.Close(); err != nil && !errors.Is(err, store.ErrClosed) {
				tb.Errorf("Close: %v", err)
			}
		}
		h.Close()
	})
	bs, err := h.Open(env.ctx)
	if err != nil {
		tb.Fatalf("Open: %v", err)
	}
	env.bs = bs
	return env
}

// reopen closes the store and opens the harness's namespace again.
func (env *blockEnv) reopen(tb testing.TB) {
	tb.Helper()
	err := env.bs.Close()
	env.bs = nil
	if err != nil {
		tb.Fatalf("Close: %v", err)
	}
	bs, err := env.h.Open(env.ctx)
	if err != nil {
		tb.Fatalf("Open again: %v", err)
	}
	env.bs = bs
}

// block returns n bytes and their digest, the key a caller would store
// them under: random bytes, except that every other block repeats its
// first bytes over its second half, so that a store that compresses
// takes both of its paths in every case.
func (env *blockEnv) block(n int) (ebs.Digest, []byte) {
	env.blocks++
	key, data := blockRandom(env.rng, n)
	if env.blocks%2 == 1 && n >= 64 {
		for i := n / 2; i < n; i += 32 {
			copy(data[i:], data[:32])
		}
		key = ebs.Sum(data)
	}
	return key, data
}

func blockRandom(rng *rand.Rand, n int) (ebs.Digest, []byte) {
	data := make([]byte, n)
	for i := 0; i < n; i += 8 {
		v := rng.Uint64()
		for j := i; j < min(i+8, n); j++ {
			data[j] = byte(v)
			v >>= 8
		}
	}
	return ebs.Sum(data), data
}

// put stores data under key and fails tb if that fails.
func (env *blockEnv) put(tb testing.TB, key ebs.Digest, data []byte) {
	tb.Helper()
	if err := env.bs.Put(env.ctx, key, data); err != nil {
		tb.Fatalf("Put(%v, %d bytes): %v", key, len(data), err)
	}
}

// check fails tb unless key reads back as want.
func (env *blockEnv) check(tb testing.TB, key ebs.Digest, want []byte) {
	tb.Helper()
	got, err := env.bs.Get(env.ctx, key, nil)
	if err != nil {
		tb.Errorf("Get(%v): %v", key, err)
		return
	}
	if !bytes.Equal(got, want) {
		tb.Errorf("Get(%v) = %d bytes (digest %v), want %d bytes (digest %v)", key, len(got), ebs.Sum(got), len(want), ebs.Sum(want))
	}
}

// blockSizes are the sizes the cases store: EBS blocks are all
// ebs.BlockSize, but a store must not depend on it.
var blockSizes = []int{1, 4096, 100_000, ebs.BlockSize}

func testBlockRoundTrip(t *testing.T, env *blockEnv) {
	for _, n := range blockSizes {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			key, data := env.block(n)
			want := bytes.Clone(data)
			env.put(t, key, data)
			env.check(t, key, want)
		})
	}
}

func testBlockGetMissing(t *testing.T, env *blockEnv) {
	stored, data := env.block(1000)
	env.put(t, stored, data)
	missing, _ := env.block(1000)
	if _, err := env.bs.Get(env.ctx, missing, nil); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Get(missing) error = %v, want ErrNotFound", err)
	}
	if ok, err := env.bs.Has(env.ctx, missing); err != nil || ok {
		t.Errorf("Has(missing) = %v, %v; want false, nil", ok, err)
	}
}

func testBlockPutTwice(t *testing.T, env *blockEnv) {
	key, first := env.block(5000)
	env.put(t, key, first)
	// The caller promises equal keys mean equal content, so the second Put
	// must not even look at data: storing it would be a bug.
	_, second := env.block(7000)
	env.put(t, key, second)
	env.check(t, key, first)
}

func testBlockPutDoesNotRetain(t *testing.T, env *blockEnv) {
	key, data := env.block(ebs.BlockSize)
	want := bytes.Clone(data)
	env.put(t, key, data)
	for i := range data {
		data[i] = 0xee
	}
	env.check(t, key, want)
}

func testBlockHas(t *testing.T, env *blockEnv) {
	key, data := env.block(300)
	if ok, err := env.bs.Has(env.ctx, key); err != nil || ok {
		t.Fatalf("Has before Put = %v, %v; want false, nil", ok, err)
	}
	env.put(t, key, data)
	if ok, err := env.bs.Has(env.ctx, key); err != nil || !ok {
		t.Errorf("Has after Put = %v, %v; want true, nil", ok, err)
	}
}

func testBlockGetAppends(t *testing.T, env *blockEnv) {
	key, data := env.block(ebs.BlockSize)
	env.put(t, key, data)
	tests := []struct {
		name string
		dst  []byte
	}{
		{"nil", nil},
		{"prefix without room", []byte("prefix")},
		{"prefix with room", append(make([]byte, 0, 10+ebs.BlockSize), "prefix"...)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			prefix := bytes.Clone(tc.dst)
			got, err := env.bs.Get(env.ctx, key, tc.dst)
			if err != nil {
				t.Fatalf("Get: %v", err)
			}
			if want := append(prefix, data...); !bytes.Equal(got, want) {
				t.Errorf("Get returned %d bytes, want the %d-byte dst followed by the %d-byte block", len(got), len(prefix), len(data))
			}
		})
	}
}

func testBlockConcurrentDistinct(t *testing.T, env *blockEnv) {
	const goroutines, perGoroutine = 16, 4
	type stored struct {
		key  ebs.Digest
		data []byte
	}
	blocks := make([]stored, goroutines*perGoroutine)
	for i := range blocks {
		blocks[i].key, blocks[i].data = env.block(1 + env.rng.IntN(64<<10))
	}
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for _, b := range blocks[g*perGoroutine : (g+1)*perGoroutine] {
				if err := env.bs.Put(env.ctx, b.key, b.data); err != nil {
					t.Errorf("Put: %v", err)
				}
			}
		})
	}
	wg.Wait()
	for g := range goroutines {
		wg.Go(func() {
			for _, b := range blocks[g*perGoroutine : (g+1)*perGoroutine] {
				env.check(t, b.key, b.data)
			}
		})
	}
	wg.Wait()
}

func testBlockConcurrentSame(t *testing.T, env *blockEnv) {
	const goroutines = 32
	key, data := env.block(ebs.BlockSize)
	var wg sync.WaitGroup
	for range goroutines {
		wg.Go(func() {
			if err := env.bs.Put(env.ctx, key, data); err != nil {
				t.Errorf("Put: %v", err)
			}
		})
		// Readers racing the writers see the block or nothing, never
		// part of it.
		wg.Go(func() {
			got, err := env.bs.Get(env.ctx, key, nil)
			if err != nil && !errors.Is(err, store.ErrNotFound) {
				t.Errorf("Get during Puts: %v", err)
			}
			if err == nil && !bytes.Equal(got, data) {
				t.Errorf("Get during Puts returned %d other bytes", len(got))
			}
		})
	}
	wg.Wait()
	env.check(t, key, data)
}

func testBlockContextCanceled(t *testing.T, env *blockEnv) {
	ctx, cancel := context.WithCancel(env.ctx)
	cancel()
	key, data := env.block(1000)
	// A store may check ctx or not; what it must not do is fail in
	// another way, or lose the block once a Put succeeds.
	err := env.bs.Put(ctx, key, data)
	if err != nil && !errors.Is(err, context.Canceled) {
		t.Errorf("Put(canceled) error = %v, want nil or context.Canceled", err)
	}
	if err != nil {
		env.put(t, key, data) // the retry of a Put that gave up
	}
	env.check(t, key, data)
	got, err := env.bs.Get(ctx, key, nil)
	if err != nil && !errors.Is(err, context.Canceled) {
		t.Errorf("Get(canceled) error = %v, want nil or context.Canceled", err)
	}
	if err == nil && !bytes.Equal(got, data) {
		t.Errorf("Get(canceled) returned %d other bytes", len(got))
	}
	ok, err := env.bs.Has(ctx, key)
	if err != nil && !errors.Is(err, context.Canceled) || err == nil && !ok {
		t.Errorf("Has(canceled) = %v, %v; want true or context.Canceled", ok, err)
	}
}

func testBlockClosed(t *testing.T, env *blockEnv) {
	key, data := env.block(1000)
	env.put(t, key, data)
	if err := env.bs.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := env.bs.Put(env.ctx, key, data); !errors.Is(err, store.ErrClosed) {
		t.Errorf("Put after Close error = %v, want ErrClosed", err)
	}
	other, _ := env.block(1000)
	if err := env.bs.Put(env.ctx, other, data); !errors.Is(err, store.ErrClosed) {
		t.Errorf("Put of a new key after Close error = %v, want ErrClosed", err)
	}
	if _, err := env.bs.Get(env.ctx, key, nil); !errors.Is(err, store.ErrClosed) {
		t.Errorf("Get after Close error = %v, want ErrClosed", err)
	}
	if _, err := env.bs.Has(env.ctx, key); !errors.Is(err, store.ErrClosed) {
		t.Errorf("Has after Close error = %v, want ErrClosed", err)
	}
	if err := env.bs.Close(); !errors.Is(err, store.ErrClosed) {
		t.Errorf("second Close error = %v, want ErrClosed", err)
	}
}

func testBlockReopen(t *testing.T, env *blockEnv) {
	blocks := make(map[ebs.Digest][]byte)
	for i := range 20 {
		key, data := env.block(blockSizes[i%len(blockSizes)])
		env.put(t, key, data)
		blocks[key] = data
	}
	env.reopen(t)
	for key, data := range blocks {
		env.check(t, key, data)
		if ok, err := env.bs.Has(env.ctx, key); err != nil || !ok {
			t.Errorf("Has(%v) after reopen = %v, %v; want true, nil", key, ok, err)
		}
		env.put(t, key, data) // still a no-op
	}
	// The reopened store takes new blocks, and keeps them too.
	for range 5 {
		key, data := env.block(ebs.BlockSize)
		env.put(t, key, data)
		blocks[key] = data
	}
	env.reopen(t)
	for key, data := range blocks {
		env.check(t, key, data)
	}
}

func testBlockCorrupt(t *testing.T, env *blockEnv) {
	c, ok := env.h.(BlockCorrupter)
	if !ok {
		t.Skip("the harness cannot corrupt blocks")
	}
	damaged, data := env.block(ebs.BlockSize)
	env.put(t, damaged, data)
	intact, other := env.block(ebs.BlockSize)
	env.put(t, intact, other)
	if err := c.Corrupt(env.ctx, damaged); err != nil {
		t.Fatalf("Corrupt: %v", err)
	}
	got, err := env.bs.Get(env.ctx, damaged, []byte("dst"))
	if !errors.Is(err, store.ErrCorrupt) {
		t.Errorf("Get(corrupted) = %d bytes, %v; want ErrCorrupt", len(got), err)
	}
	env.check(t, intact, other)
}

// testBlockCorruptReplaced checks that a copy found corrupt does not make
// later Puts of the content no-ops: once Get reported ErrCorrupt, the key
// no longer counts as stored, and the next Put stores the content again.
// Otherwise one bad sector would poison every later snapshot holding that
// block, each Put acknowledged while its good bytes are thrown away.
func testBlockCorruptReplaced(t *testing.T, env *blockEnv) {
	c, ok := env.h.(BlockCorrupter)
	if !ok {
		t.Skip("the harness cannot corrupt blocks")
	}
	key, data := env.block(ebs.BlockSize)
	env.put(t, key, data)
	if err := c.Corrupt(env.ctx, key); err != nil {
		t.Fatalf("Corrupt: %v", err)
	}
	if _, err := env.bs.Get(env.ctx, key, nil); !errors.Is(err, store.ErrCorrupt) {
		t.Fatalf("Get(corrupted) error = %v, want ErrCorrupt", err)
	}
	if ok, err := env.bs.Has(env.ctx, key); err != nil || ok {
		t.Errorf("Has(key found corrupt) = %v, %v; want false, nil", ok, err)
	}
	env.put(t, key, data)
	env.check(t, key, data)
}
