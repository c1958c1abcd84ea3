package pebblemeta_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/ebsd/ebsd/internal/ebs"
	"github.com/ebsd/ebsd/internal/store"
	"github.com/ebsd/ebsd/internal/store/pebblemeta"
)

// lockedBuffer is a log sink that tests read while the store writes.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func bufLogger() (*slog.Logger, *lockedBuffer) {
	buf := &lockedBuffer{}
	return slog.New(slog.NewTextHandler(buf, nil)), buf
}

func pending(id string) store.Snapshot {
	return store.Snapshot{ID: id, RootID: id, State: store.StatePending, VolumeSize: 1}
}

func ref(b byte) store.BlockRef { return store.BlockRef{Digest: ebs.Digest{b}, Key: ebs.Digest{b}} }

// isSpaceError checks that err is what a write gets from a full store.
func isSpaceError(t *testing.T, what string, err error, readOnly bool) {
	t.Helper()
	var se *store.SpaceError
	if !errors.As(err, &se) || !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("%s: got %v, want a *store.SpaceError matching ENOSPC", what, err)
	}
	if se.ReadOnly != readOnly {
		t.Fatalf("%s: ReadOnly = %v, want %v (%v)", what, se.ReadOnly, readOnly, err)
	}
}

// TestFullDiskOpensReadOnlyAndRecovers opens a store whose file system
// reports too little free space: it must open read-only, serve reads,
// refuse writes with a SpaceError, and become writable by itself once
// space is freed.
func TestFullDiskOpensReadOnlyAndRecovers(t *testing.T) {
	ctx := t.Context()
	fs := vfs.NewMem()
	opts := pebblemeta.Options{Dir: "/data/meta", FS: fs, MinFreeBytes: 1 << 20}
	s, err := pebblemeta.Open(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.CreateSnapshot(ctx, pending("snap-1"), nil, 0); err != nil {
		t.Fatal(err)
	}
	if err := s.PutBlock(ctx, "snap-1", 3, ref(1), time.Now()); err != nil {
		t.Fatal(err)
	}
	if err := s.CheckSpace(); err != nil {
		t.Fatalf("CheckSpace on a file system that cannot tell: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	fs.TestingSetDiskUsage(vfs.DiskUsage{AvailBytes: 4096, TotalBytes: 1 << 30})
	logger, logs := bufLogger()
	opts.Logger = logger
	s, err = pebblemeta.Open(ctx, opts)
	if err != nil {
		t.Fatalf("open on a full disk: %v", err)
	}
	defer s.Close()
	if !strings.Contains(logs.String(), "read-only") {
		t.Errorf("the log does not say the store is read-only:\n%s", logs)
	}
	if got, err := s.GetSnapshot(ctx, "snap-1"); err != nil || got.State != store.StatePending {
		t.Fatalf("GetSnapshot while read-only: %v, %v", got, err)
	}
	var own []int32
	if err := s.OwnBlocks(ctx, "snap-1", 0, func(r store.IndexedRef) (bool, error) {
		own = append(own, r.Index)
		return true, nil
	}); err != nil || len(own) != 1 || own[0] != 3 {
		t.Fatalf("OwnBlocks while read-only: %v, %v", own, err)
	}
	isSpaceError(t, "CheckSpace", s.CheckSpace(), true)
	isSpaceError(t, "PutBlock", s.PutBlock(ctx, "snap-1", 4, ref(2), time.Now()), true)
	isSpaceError(t, "CreateSnapshot", s.CreateSnapshot(ctx, pending("snap-2"), nil, 0), true)
	_, err = s.UpdateSnapshot(ctx, "snap-1", func(*store.Snapshot) error { return nil })
	isSpaceError(t, "UpdateSnapshot", err, true)

	fs.TestingSetDiskUsage(vfs.DiskUsage{AvailBytes: 1 << 30, TotalBytes: 1 << 30})
	deadline := time.Now().Add(10 * time.Second)
	for s.PutBlock(ctx, "snap-1", 4, ref(2), time.Now()) != nil {
		if time.Now().After(deadline) {
			t.Fatalf("still refusing writes 10 s after space was freed: %v", s.PutBlock(ctx, "snap-1", 4, ref(2), time.Now()))
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := s.CheckSpace(); err != nil {
		t.Fatalf("CheckSpace after recovery: %v", err)
	}
	if err := s.CreateSnapshot(ctx, pending("snap-2"), nil, 0); err != nil {
		t.Fatalf("CreateSnapshot after recovery: %v", err)
	}
	if !strings.Contains(logs.String(), "writable again") {
		t.Errorf("the log does not say the store is writable again:\n%s", logs)
	}
}

// TestLowSpaceIsReported checks a writable store as its disk fills: below
// MinFreeBytes CheckSpace tells the server to stop taking blocks; below
// half of it the store refuses records too, keeping the rest for Pebble.
func TestLowSpaceIsReported(t *testing.T) {
	ctx := t.Context()
	fs := vfs.NewMem()
	s, err := pebblemeta.Open(ctx, pebblemeta.Options{Dir: "/meta", FS: fs, MinFreeBytes: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for i, tc := range []struct {
		free                     uint64
		refuseBlocks, refuseMeta bool
	}{
		{1 << 30, false, false},
		{1 << 20, false, false},
		{1<<20 - 1, true, false},
		{1 << 19, true, false},
		{1<<19 - 1, true, true},
		{0, true, true},
		{1 << 20, false, false}, // freed again
	} {
		fs.TestingSetDiskUsage(vfs.DiskUsage{AvailBytes: tc.free, TotalBytes: 1 << 40})
		if err := s.CheckSpace(); tc.refuseBlocks {
			isSpaceError(t, "CheckSpace", err, false)
		} else if err != nil {
			t.Errorf("%d bytes free: CheckSpace: %v", tc.free, err)
		}
		id := fmt.Sprintf("snap-%d", i)
		if err := s.CreateSnapshot(ctx, pending(id), nil, 0); tc.refuseMeta {
			isSpaceError(t, "CreateSnapshot", err, false)
		} else if err != nil {
			t.Errorf("%d bytes free: CreateSnapshot: %v", tc.free, err)
		}
	}
}

// TestNewStoreOnFullDiskFails: an empty store cannot be opened read-only,
// so Open says why it cannot start instead.
func TestNewStoreOnFullDiskFails(t *testing.T) {
	fs := vfs.NewMem()
	fs.TestingSetDiskUsage(vfs.DiskUsage{AvailBytes: 100, TotalBytes: 1 << 30})
	s, err := pebblemeta.Open(t.Context(), pebblemeta.Options{Dir: "/meta", FS: fs})
	if err == nil {
		s.Close()
		t.Fatal("a new store opened on a full disk")
	}
	isSpaceError(t, "Open", err, false)
}

// TestDirectoriesArePrivate checks the mode of every directory Open
// creates.
func TestDirectoriesArePrivate(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "a", "b", "meta")
	s, err := pebblemeta.Open(t.Context(), pebblemeta.Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for d := dir; d != root; d = filepath.Dir(d) {
		fi, err := os.Stat(d)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o700 {
			t.Errorf("%s has mode %v, want 0700", d, fi.Mode().Perm())
		}
	}
}

// noSpaceFS fails every table file it is asked to create while full is
// set, as a full disk does Pebble's flushes.
type noSpaceFS struct {
	vfs.FS
	full    atomic.Bool
	refused atomic.Int64
}

func (f *noSpaceFS) Create(name string, c vfs.DiskWriteCategory) (vfs.File, error) {
	if f.full.Load() && strings.HasSuffix(name, ".sst") {
		f.refused.Add(1)
		return nil, &os.PathError{Op: "create", Path: name, Err: syscall.ENOSPC}
	}
	return f.FS.Create(name, c)
}

// TestOpenGivesUpWithItsContext reproduces the restart on a full disk:
// Pebble's open retries the flush of its log forever. Open must return
// when its context ends, and Pebble's error log must stay bounded.
func TestOpenGivesUpWithItsContext(t *testing.T) {
	fs := &noSpaceFS{FS: vfs.NewMem()}
	// The check before the open is off: this is what happens when the
	// disk fills between that check and the flush.
	opts := pebblemeta.Options{Dir: "/meta", FS: fs, MinFreeBytes: -1}
	s, err := pebblemeta.Open(t.Context(), opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.CreateSnapshot(t.Context(), pending("snap-1"), nil, 0); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil { // the record stays in the log, unflushed
		t.Fatal(err)
	}

	fs.full.Store(true)
	logger, logs := bufLogger()
	opts.Logger = logger
	ctx, cancel := context.WithTimeout(t.Context(), 1500*time.Millisecond)
	defer cancel()
	start := time.Now()
	s, err = pebblemeta.Open(ctx, opts)
	took := time.Since(start)
	if err == nil {
		s.Close()
		t.Fatal("Open succeeded though no flush can")
	}
	if !errors.Is(err, context.DeadlineExceeded) || took > 3*time.Second {
		t.Fatalf("Open returned %v after %v, want the context's error at 1.5 s", err, took)
	}
	if fs.refused.Load() < 10 {
		t.Fatalf("Pebble tried to flush only %d times: the test did not reproduce the retry loop", fs.refused.Load())
	}
	lines := strings.Count(logs.String(), "level=ERROR")
	t.Logf("%d refused flushes, %d error lines logged", fs.refused.Load(), lines)
	if lines > 6 {
		t.Errorf("%d error lines for %d failed flushes: Pebble's errors are not rate-limited", lines, fs.refused.Load())
	}

	// Let the abandoned open finish, so that it stops spinning, and check
	// that the data is still there.
	fs.full.Store(false)
	deadline := time.Now().Add(10 * time.Second)
	for {
		s, err = pebblemeta.Open(t.Context(), opts)
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("reopen after space came back: %v", err)
		}
		time.Sleep(50 * time.Millisecond) // the abandoned open still holds the lock
	}
	defer s.Close()
	if _, err := s.GetSnapshot(t.Context(), "snap-1"); err != nil {
		t.Fatal(err)
	}
}

// TestMarkViewOnAFullDisk checks a MarkView of a store opened read-only:
// it reads; PurgeSnapshot is refused like any write; once space is freed,
// the store is not reopened under the open view (which Pebble forbids)
// and calls do not stall waiting for such a reopen; once the view is
// closed, the store becomes writable. Then Close waits for an open view.
func TestMarkViewOnAFullDisk(t *testing.T) {
	ctx := t.Context()
	fs := vfs.NewMem()
	opts := pebblemeta.Options{Dir: "/data/meta", FS: fs, MinFreeBytes: 1 << 20, Logger: slog.New(slog.DiscardHandler)}
	s, err := pebblemeta.Open(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.CreateSnapshot(ctx, pending("snap-1"), nil, 0); err != nil {
		t.Fatal(err)
	}
	if err := s.PutBlock(ctx, "snap-1", 3, ref(1), time.Now()); err != nil {
		t.Fatal(err)
	}
	if _, err := s.UpdateSnapshot(ctx, "snap-1", func(r *store.Snapshot) error { r.State = store.StateDeleted; return nil }); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	fs.TestingSetDiskUsage(vfs.DiskUsage{AvailBytes: 4096, TotalBytes: 1 << 30})
	s, err = pebblemeta.Open(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}

	v, err := s.MarkView(ctx)
	if err != nil {
		t.Fatalf("MarkView of a read-only store: %v", err)
	}
	n := 0
	if err := v.OwnBlocks(ctx, "snap-1", 0, func(store.IndexedRef) (bool, error) { n++; return true, nil }); err != nil || n != 1 {
		t.Fatalf("MarkView.OwnBlocks of a read-only store: %d blocks, %v", n, err)
	}
	isSpaceError(t, "PurgeSnapshot", s.PurgeSnapshot(ctx, "snap-1"), true)

	fs.TestingSetDiskUsage(vfs.DiskUsage{AvailBytes: 1 << 30, TotalBytes: 1 << 30})
	var slowest time.Duration
	for end := time.Now().Add(2 * time.Second); time.Now().Before(end); time.Sleep(10 * time.Millisecond) {
		t0 := time.Now()
		if _, err := s.GetSnapshot(ctx, "snap-1"); err != nil {
			t.Fatal(err)
		}
		slowest = max(slowest, time.Since(t0))
	}
	if slowest > time.Second {
		t.Errorf("a GetSnapshot took %v while a MarkView was open on a store with space again: a reopen paused it", slowest)
	}
	isSpaceError(t, "PurgeSnapshot with a view open", s.PurgeSnapshot(ctx, "snap-1"), true)
	if err := v.OwnBlocks(ctx, "snap-1", 0, func(store.IndexedRef) (bool, error) { return true, nil }); err != nil {
		t.Fatalf("MarkView.OwnBlocks after the disk got space: %v", err)
	}
	if err := v.Close(); err != nil {
		t.Fatal(err)
	}

	deadline := time.Now().Add(10 * time.Second)
	for s.PurgeSnapshot(ctx, "snap-1") != nil {
		if time.Now().After(deadline) {
			t.Fatalf("still refusing PurgeSnapshot 10 s after the view closed: %v", s.PurgeSnapshot(ctx, "snap-1"))
		}
		time.Sleep(50 * time.Millisecond)
	}
	if _, err := s.GetSnapshot(ctx, "snap-1"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("GetSnapshot after PurgeSnapshot: %v, want ErrNotFound", err)
	}

	// Close waits for an open view.
	v, err = s.MarkView(ctx)
	if err != nil {
		t.Fatal(err)
	}
	closed := make(chan error, 1)
	go func() { closed <- s.Close() }()
	select {
	case err := <-closed:
		t.Fatalf("Close returned %v with a MarkView open", err)
	case <-time.After(200 * time.Millisecond):
	}
	if err := v.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-closed; err != nil {
		t.Fatalf("Close after the view closed: %v", err)
	}
}
