package packblocks_test

import (
	"bytes"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/ebsd/ebsd/internal/ebs"
	"github.com/ebsd/ebsd/internal/pack"
	"github.com/ebsd/ebsd/internal/store/packblocks"
)

// TestOpenPackHandlesBounded writes 300 packs of one block each with
// concurrent writers and readers, then reads them all back concurrently,
// then reopens the store, counting the open handles of pack files. The
// count must never exceed the read-handle cache's bound plus the reads in
// flight plus the packs being written (the active one, and those retired
// by the Puts in flight, which the syncer closes once synced).
func TestOpenPackHandlesBounded(t *testing.T) {
	const (
		packs        = 300
		maxOpen      = 8
		writers      = 4
		readers      = 4
		laterReaders = 8
	)
	fs := &countingFS{FS: vfs.NewMem()}
	opts := packblocks.Options{
		Dir:          "/s",
		FS:           fs,
		Logger:       discardLogger,
		PackSize:     pack.FileHeaderSize + pack.EntryHeaderSize + 1000, // one block per pack
		MaxOpenFiles: maxOpen,
		Compression:  packblocks.CompressionOff, // the blocks compress, to fewer packs

	}
	s := mustOpen(t, opts)
	block := func(i int) (ebs.Digest, []byte) {
		data := bytes.Repeat([]byte{byte(i), byte(i >> 8)}, 500)
		return ebs.Sum(data), data
	}

	// Writers and readers of what is written so far, at once.
	var written atomic.Int64
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := w; i < packs; i += writers {
				key, data := block(i)
				if err := s.Put(t.Context(), key, data); err != nil {
					t.Errorf("Put: %v", err)
					return
				}
				written.Add(1)
			}
		})
	}
	done := make(chan struct{})
	var rg sync.WaitGroup
	for range readers {
		rg.Go(func() {
			for {
				select {
				case <-done:
					return
				default:
				}
				if n := written.Load(); n > 0 {
					key, _ := block(rand.IntN(packs))
					s.Get(t.Context(), key, nil) // may not be written yet
				}
			}
		})
	}
	wg.Wait()
	close(done)
	rg.Wait()
	if got := s.Stats().Packs; got != packs {
		t.Fatalf("Stats().Packs = %d, want %d", got, packs)
	}
	if peak, bound := fs.peak.Load(), int64(maxOpen+readers+writers+1); peak > bound {
		t.Errorf("%d pack handles open at once while writing, want at most %d", peak, bound)
	}

	// Readers only, over every pack.
	fs.peak.Store(fs.open.Load())
	for g := range laterReaders {
		wg.Go(func() {
			for r := range 3 {
				for i := range packs {
					i := (i*7 + g*31 + r) % packs
					key, data := block(i)
					got, err := s.Get(t.Context(), key, nil)
					if err != nil || !bytes.Equal(got, data) {
						t.Errorf("Get(block %d) = %d bytes, %v", i, len(got), err)
						return
					}
				}
			}
		})
	}
	wg.Wait()
	if peak, bound := fs.peak.Load(), int64(maxOpen+laterReaders+1); peak > bound {
		t.Errorf("%d pack handles open at once while reading, want at most %d", peak, bound)
	}
	if open, bound := fs.open.Load(), int64(maxOpen+1); open > bound {
		t.Errorf("%d pack handles open once idle, want at most %d", open, bound)
	}

	// Recovery opens one pack at a time (and keeps the last, active).
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if open := fs.open.Load(); open != 0 {
		t.Errorf("%d pack handles open after Close, want 0", open)
	}
	fs.peak.Store(0)
	s = mustOpen(t, opts)
	if peak := fs.peak.Load(); peak > 2 {
		t.Errorf("%d pack handles open at once during Open of %d packs, want at most 2", peak, packs)
	}
}

// countingFS counts the open handles of pack files, and their peak.
type countingFS struct {
	vfs.FS
	open, peak atomic.Int64
}

func (c *countingFS) count(name string, f vfs.File, err error) (vfs.File, error) {
	if err != nil || !strings.HasSuffix(name, ".pack") {
		return f, err
	}
	n := c.open.Add(1)
	for p := c.peak.Load(); n > p && !c.peak.CompareAndSwap(p, n); p = c.peak.Load() {
	}
	return &countedFile{File: f, fs: c}, nil
}

func (c *countingFS) Create(name string, cat vfs.DiskWriteCategory) (vfs.File, error) {
	f, err := c.FS.Create(name, cat)
	return c.count(name, f, err)
}

func (c *countingFS) Open(name string, opts ...vfs.OpenOption) (vfs.File, error) {
	f, err := c.FS.Open(name, opts...)
	return c.count(name, f, err)
}

func (c *countingFS) OpenReadWrite(name string, cat vfs.DiskWriteCategory, opts ...vfs.OpenOption) (vfs.File, error) {
	f, err := c.FS.OpenReadWrite(name, cat, opts...)
	return c.count(name, f, err)
}

type countedFile struct {
	vfs.File
	fs     *countingFS
	closed atomic.Bool
}

func (f *countedFile) Close() error {
	if f.closed.CompareAndSwap(false, true) {
		f.fs.open.Add(-1)
	}
	return f.File.Close()
}
