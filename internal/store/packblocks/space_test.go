package packblocks_test

import (
	"errors"
	"io"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/ebsd/ebsd/internal/ebs"
	"github.com/ebsd/ebsd/internal/pack"
	"github.com/ebsd/ebsd/internal/store"
	"github.com/ebsd/ebsd/internal/store/packblocks"
)

// appendUnindexed appends the entry of key to pack 0 of the store in dir
// behind the store's back, as a crash between a pack's sync and its
// index batch leaves it: a tail only recovery indexes.
func appendUnindexed(t *testing.T, fs vfs.FS, dir string, key ebs.Digest, data []byte) {
	t.Helper()
	f, err := fs.OpenReadWrite(fs.PathJoin(dir, "packs", "00000000.pack"), vfs.WriteCategoryUnspecified)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	w := pack.ResumeWriter(io.NewOffsetWriter(f, fi.Size()), fi.Size())
	if _, err := w.AppendEntry(pack.NewEntryHeader(key, data), data); err != nil {
		t.Fatal(err)
	}
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
}

// TestOpenOnFullDisk opens a store on a disk with less free space than
// MinFreeBytes: it opens read-only at once, serves what is indexed, refuses
// Puts with an ENOSPC error, and once space is freed becomes writable and
// indexes the pack tail that recovery had to leave.
func TestOpenOnFullDisk(t *testing.T) {
	fs := vfs.NewMem()
	opts := packblocks.Options{Dir: "/data", FS: fs, MinFreeBytes: 1 << 20, Logger: discardLogger}
	s := mustOpen(t, opts)
	stored := make(map[ebs.Digest][]byte)
	for seed := range uint64(3) {
		key, data := mustPut(t, s, seed)
		stored[key] = data
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	tailKey, tailData := seededBlock(100)
	appendUnindexed(t, fs, opts.Dir, tailKey, tailData)

	fs.TestingSetDiskUsage(vfs.DiskUsage{AvailBytes: 4096, TotalBytes: 1 << 30})
	s = mustOpen(t, opts)
	var serr *store.SpaceError
	if err := s.SpaceErr(); !errors.As(err, &serr) || serr.Free != 4096 || serr.Need < 1<<20 {
		t.Fatalf("SpaceErr() = %v, want a SpaceError with 4096 free, at least 1 MiB needed", err)
	}
	for key, data := range stored {
		mustRead(t, s, key, data)
	}
	if _, err := s.Get(t.Context(), tailKey, nil); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Get(unindexed tail) while read-only = %v, want ErrNotFound (recovery is deferred)", err)
	}
	newKey, newData := seededBlock(200)
	err := s.Put(t.Context(), newKey, newData)
	if !errors.Is(err, syscall.ENOSPC) || !errors.As(err, &serr) {
		t.Fatalf("Put while read-only = %v, want a SpaceError matching ENOSPC", err)
	}
	if got := s.Stats(); got.Blocks != 3 || got.Packs != 1 {
		t.Errorf("Stats() while read-only = %+v, want 3 blocks in 1 pack", got)
	}

	// Calls go on while the store reopens (for the race detector): reads
	// succeed throughout, Puts fail only with the SpaceError.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for seed := uint64(300); ; seed++ {
			select {
			case <-stop:
				return
			default:
			}
			for key, data := range stored {
				mustRead(t, s, key, data)
			}
			key, data := seededBlock(seed)
			if err := s.Put(t.Context(), key, data); err != nil && !errors.Is(err, syscall.ENOSPC) {
				t.Errorf("Put while reopening: %v", err)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}()
	fs.TestingSetDiskUsage(vfs.DiskUsage{AvailBytes: 1 << 30, TotalBytes: 1 << 30})
	deadline := time.Now().Add(5 * time.Second)
	for s.SpaceErr() != nil {
		if time.Now().After(deadline) {
			t.Fatal("the store is still read-only 5 s after space was freed")
		}
		time.Sleep(20 * time.Millisecond)
	}
	close(stop)
	wg.Wait()
	before := s.Stats().Blocks
	mustRead(t, s, tailKey, tailData)
	if err := s.Put(t.Context(), newKey, newData); err != nil {
		t.Fatalf("Put once space is freed: %v", err)
	}
	mustRead(t, s, newKey, newData)
	if got := s.Stats(); got.Blocks != before+1 || before < 4 {
		t.Errorf("Stats() once writable = %+v, want %d blocks (4 at the reopen)", got, before+1)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	// Everything is indexed for good: a writable reopen finds it all.
	s = mustOpen(t, opts)
	stored[tailKey], stored[newKey] = tailData, newData
	for key, data := range stored {
		mustRead(t, s, key, data)
	}
}

// TestFullDiskEdges: a store that is still read-only closes at once and
// then reports closed; a store whose index does not exist yet cannot open
// read-only, and says the disk is full.
func TestFullDiskEdges(t *testing.T) {
	fs := vfs.NewMem()
	opts := packblocks.Options{Dir: "/data", FS: fs, MinFreeBytes: 1 << 20, Logger: discardLogger}
	fs.TestingSetDiskUsage(vfs.DiskUsage{AvailBytes: 4096, TotalBytes: 1 << 30})
	if s, err := packblocks.Open(t.Context(), opts); !errors.Is(err, syscall.ENOSPC) {
		if err == nil {
			s.Close()
		}
		t.Fatalf("Open of a new store on a full disk = %v, want an ENOSPC error", err)
	}

	fs.TestingSetDiskUsage(vfs.DiskUsage{AvailBytes: 1 << 30, TotalBytes: 1 << 30})
	s := mustOpen(t, opts)
	key, data := mustPut(t, s, 1)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	fs.TestingSetDiskUsage(vfs.DiskUsage{AvailBytes: 4096, TotalBytes: 1 << 30})
	s = mustOpen(t, opts)
	if ok, err := s.Has(t.Context(), key); !ok || err != nil {
		t.Errorf("Has while read-only = %v, %v; want true", ok, err)
	}
	mustRead(t, s, key, data)
	start := time.Now()
	if err := s.Close(); err != nil {
		t.Fatalf("Close while read-only: %v", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("Close while read-only took %v", d)
	}
	if err := s.Put(t.Context(), key, data); !errors.Is(err, store.ErrClosed) {
		t.Errorf("Put after Close = %v, want ErrClosed", err)
	}
	// Negative MinFreeBytes: no check, a writable open.
	opts.MinFreeBytes = -1
	s = mustOpen(t, opts)
	if err := s.SpaceErr(); err != nil {
		t.Errorf("SpaceErr() with the check off = %v", err)
	}
}
