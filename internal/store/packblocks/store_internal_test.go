package packblocks

import (
	"bytes"
	"errors"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/ebsd/ebsd/internal/ebs"
)

// TestSyncFailure fails an fdatasync and checks that the Put it would have
// acknowledged fails, that the pack it covered takes no more appends, and
// that the store goes on in a new pack.
func TestSyncFailure(t *testing.T) {
	errInjected := errors.New("injected fdatasync failure")
	var fail atomic.Bool
	opts := Options{Dir: t.TempDir()}
	s, err := open(t.Context(), opts, func(f vfs.File) error {
		if fail.Load() {
			return errInjected
		}
		return syncData(f)
	})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	block := func(b byte) (ebs.Digest, []byte) {
		data := bytes.Repeat([]byte{b}, 1000)
		return ebs.Sum(data), data
	}

	keyA, a := block('a')
	if err := s.Put(t.Context(), keyA, a); err != nil {
		t.Fatalf("Put(a): %v", err)
	}
	first := s.active

	fail.Store(true)
	keyB, b := block('b')
	if err := s.Put(t.Context(), keyB, b); !errors.Is(err, errInjected) {
		t.Fatalf("Put(b) with a failing sync: error = %v, want the sync's", err)
	}
	if ok, err := s.Has(t.Context(), keyB); err != nil || ok {
		t.Errorf("Has(b) after its failed Put = %v, %v; want false, nil", ok, err)
	}
	s.mu.Lock()
	broken, active := first.broken, s.active
	s.mu.Unlock()
	if broken == nil || active == first {
		t.Errorf("after a failed sync the pack is broken=%v and still active=%v; want broken and retired", broken, active == first)
	}

	fail.Store(false)
	keyC, c := block('c')
	for _, e := range []struct {
		key  ebs.Digest
		data []byte
	}{{keyB, b}, {keyC, c}} {
		if err := s.Put(t.Context(), e.key, e.data); err != nil {
			t.Fatalf("Put after the failure: %v", err)
		}
	}
	if got := s.Stats().Packs; got != 2 {
		t.Errorf("Stats().Packs = %d, want 2: a new pack after the broken one", got)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s, err = Open(t.Context(), opts)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, e := range []struct {
		key  ebs.Digest
		data []byte
	}{{keyA, a}, {keyB, b}, {keyC, c}} {
		got, err := s.Get(t.Context(), e.key, nil)
		if err != nil || !bytes.Equal(got, e.data) {
			t.Errorf("Get after reopen = %d bytes, %v; want the block", len(got), err)
		}
	}
	// b's first copy, in the broken pack, is valid on disk after all:
	// recovery finds it past the watermark but keeps the indexed copy, and
	// counts b once.
	if got := s.Stats().Blocks; got != 3 {
		t.Errorf("Stats().Blocks = %d, want 3", got)
	}
}

// TestFileCacheBounded reads many packs concurrently through a cache of
// two handles: handles in use survive eviction, and the cache stays bounded.
func TestFileCacheBounded(t *testing.T) {
	s, err := Open(t.Context(), Options{Dir: t.TempDir(), PackSize: 64 << 10, MaxOpenFiles: 2, Compression: CompressionOff})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var keys []ebs.Digest
	for i := range 20 {
		data := bytes.Repeat([]byte{byte(i)}, 40<<10)
		key := ebs.Sum(data)
		if err := s.Put(t.Context(), key, data); err != nil {
			t.Fatal(err)
		}
		keys = append(keys, key)
	}
	if got := s.Stats().Packs; got != 20 {
		t.Fatalf("Stats().Packs = %d, want 20", got)
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for r := range 5 {
				for i := range keys {
					i := (i + g + r) % len(keys)
					got, err := s.Get(t.Context(), keys[i], nil)
					if err != nil || len(got) != 40<<10 || got[0] != byte(i) {
						t.Errorf("Get(block %d) = %d bytes, %v", i, len(got), err)
						return
					}
				}
			}
		})
	}
	wg.Wait()
	if n := s.files.len(); n > 2 {
		t.Errorf("%d handles cached, want at most 2", n)
	}
}

// TestDedupSyncFailure fails the sync that a group of dedup hits alone
// makes of the active pack: the hit fails, and the pack is broken and
// retired like after any failed sync, since the kernel may have dropped
// the dirty pages of appends to it not yet acknowledged.
func TestDedupSyncFailure(t *testing.T) {
	errInjected := errors.New("injected fdatasync failure")
	var fail atomic.Bool
	s, err := open(t.Context(), Options{Dir: t.TempDir()}, func(f vfs.File) error {
		if fail.Load() {
			return errInjected
		}
		return syncData(f)
	})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	data := bytes.Repeat([]byte("a"), 1000)
	key := ebs.Sum(data)
	if err := s.Put(t.Context(), key, data); err != nil {
		t.Fatal(err)
	}
	s.mu.Lock()
	first := s.active
	s.mu.Unlock()

	fail.Store(true)
	if err := s.Put(t.Context(), key, data); !errors.Is(err, errInjected) {
		t.Errorf("dedup hit with a failing sync: error = %v, want the sync's", err)
	}
	s.mu.Lock()
	broken, active := first.broken, s.active
	s.mu.Unlock()
	if broken == nil || active == first {
		t.Errorf("after a failed sync the active pack is broken=%v and still active=%v; want broken and retired", broken, active == first)
	}
	fail.Store(false)
	if err := s.Put(t.Context(), key, data); err != nil {
		t.Errorf("dedup hit after the failure: %v", err)
	}
}
