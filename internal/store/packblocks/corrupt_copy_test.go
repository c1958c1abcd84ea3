package packblocks_test

import (
	"bytes"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/ebsd/ebsd/internal/ebs"
	"github.com/ebsd/ebsd/internal/pack"
	"github.com/ebsd/ebsd/internal/store"
	"github.com/ebsd/ebsd/internal/store/packblocks"
)

// TestCorruptCopyReplaced rots a stored block on disk and checks that once
// Get has found the copy corrupt, the key no longer counts as stored: the
// next Put of the content stores it again, and Get returns it.
func TestCorruptCopyReplaced(t *testing.T) {
	opts := packblocks.Options{Dir: t.TempDir()}
	s := mustOpen(t, opts)
	key, data := mustPut(t, s, 1)
	otherKey, other := mustPut(t, s, 2)
	if err := flipDataByte(opts.Dir, key); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(t.Context(), key, nil); !errors.Is(err, store.ErrCorrupt) {
		t.Fatalf("Get after bit rot: %v, want ErrCorrupt", err)
	}
	if ok, err := s.Has(t.Context(), key); err != nil || ok {
		t.Errorf("Has after Get found the copy corrupt = %v, %v; want false, nil", ok, err)
	}
	if _, err := s.Get(t.Context(), key, nil); !errors.Is(err, store.ErrCorrupt) {
		t.Errorf("second Get: %v, want ErrCorrupt still", err)
	}
	if got := s.Stats().Blocks; got != 1 {
		t.Errorf("Stats().Blocks = %d, want 1: the corrupt copy no longer counts", got)
	}
	if err := s.Put(t.Context(), key, bytes.Clone(data)); err != nil {
		t.Fatalf("Put again: %v", err)
	}
	mustRead(t, s, key, data)
	mustRead(t, s, otherKey, other)
	if got := s.Stats().Blocks; got != 2 {
		t.Errorf("Stats().Blocks = %d after the Put, want 2", got)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = mustOpen(t, opts)
	mustRead(t, s, key, data)
	if got := s.Stats().Blocks; got != 2 {
		t.Errorf("Stats().Blocks = %d after reopening, want 2", got)
	}
}

// TestCorruptCopyConcurrent has Gets find a rotted copy while Puts of the
// same content run: every Put succeeds, every Get returns the block or
// ErrCorrupt and never other bytes, and once the Puts are done the block
// reads back.
func TestCorruptCopyConcurrent(t *testing.T) {
	opts := packblocks.Options{Dir: t.TempDir()}
	s := mustOpen(t, opts)
	key, data := mustPut(t, s, 1)
	if err := flipDataByte(opts.Dir, key); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 20 {
				got, err := s.Get(t.Context(), key, nil)
				if err != nil && !errors.Is(err, store.ErrCorrupt) || err == nil && !bytes.Equal(got, data) {
					t.Errorf("Get = %d bytes, %v; want the block or ErrCorrupt", len(got), err)
					return
				}
			}
		})
		wg.Go(func() {
			for range 5 {
				if err := s.Put(t.Context(), key, bytes.Clone(data)); err != nil {
					t.Errorf("Put: %v", err)
					return
				}
			}
		})
	}
	wg.Wait()
	// The last Put may have been a dedup hit on the corrupt copy, if no Get
	// had found it yet; one more Get and Put settle that.
	if _, err := s.Get(t.Context(), key, nil); err != nil {
		if !errors.Is(err, store.ErrCorrupt) {
			t.Fatal(err)
		}
		if err := s.Put(t.Context(), key, bytes.Clone(data)); err != nil {
			t.Fatal(err)
		}
	}
	mustRead(t, s, key, data)
}

// TestCorruptCopyReplacedAcrossPowerLoss replaces a rotted copy and then
// loses power before the new copy's index batch (not synced, by design) is
// durable: recovery finds the new copy past the watermark and must index it
// in place of the corrupt one.
func TestCorruptCopyReplacedAcrossPowerLoss(t *testing.T) {
	fs := vfs.NewCrashableMem()
	opts := packblocks.Options{Dir: "/s", FS: fs, Logger: discardLogger}
	s := mustOpen(t, opts)
	key, data := mustPut(t, s, 1)
	if err := s.Close(); err != nil { // the first copy's index is durable
		t.Fatal(err)
	}
	s = mustOpen(t, opts)
	if err := flipDataByteFS(fs, "/s/packs", key); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(t.Context(), key, nil); !errors.Is(err, store.ErrCorrupt) {
		t.Fatalf("Get after bit rot: %v, want ErrCorrupt", err)
	}
	if err := s.Put(t.Context(), key, bytes.Clone(data)); err != nil {
		t.Fatal(err)
	}
	mustRead(t, s, key, data)
	crashed := fs.CrashClone(vfs.CrashCloneCfg{}) // nothing unsynced survives
	s.Close()

	opts.FS = crashed
	s = mustOpen(t, opts)
	mustRead(t, s, key, data)
}

// flipDataByteFS flips a byte in the middle of key's data in a pack under
// dir on fs, durably.
func flipDataByteFS(fs vfs.FS, dir string, key ebs.Digest) error {
	names, err := fs.List(dir)
	if err != nil {
		return err
	}
	for _, name := range names {
		f, err := fs.OpenReadWrite(fs.PathJoin(dir, name), vfs.WriteCategoryUnspecified)
		if err != nil {
			return err
		}
		defer f.Close()
		fi, err := f.Stat()
		if err != nil || fi.IsDir() {
			continue
		}
		sc := pack.NewScanner(f, pack.FileHeaderSize, fi.Size())
		for sc.Next() {
			if e := sc.Entry(); e.Header.Key == key {
				off := e.Offset + pack.EntryHeaderSize + int64(e.Header.Len)/2
				b := make([]byte, 1)
				if _, err := f.ReadAt(b, off); err != nil {
					return err
				}
				b[0] ^= 1
				if _, err := f.WriteAt(b, off); err != nil {
					return err
				}
				return f.Sync()
			}
		}
	}
	return fmt.Errorf("key %v is in no pack", key)
}
