package packblocks

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/ebsd/ebsd/internal/ebs"
	"github.com/ebsd/ebsd/internal/pack"
	"github.com/ebsd/ebsd/internal/store"
)

// TestGetDuringCompaction (docs/gc.md T6) pauses a Get between its index
// lookup and the open of the pack, and between the open and the read,
// while a compaction moves the block and removes the pack. The Get must
// return the block's bytes, and once it is done no handle may keep the
// removed pack's blocks allocated.
func TestGetDuringCompaction(t *testing.T) {
	for _, where := range []string{"after lookup", "after open"} {
		t.Run(where, func(t *testing.T) {
			dir := t.TempDir()
			deletedPackHandles(t, dir) // skips now, not while a Get is paused, where it cannot tell
			s := openGC(t, Options{Dir: dir, PackSize: 64 << 10})
			var keys []ebs.Digest
			blocks := make(map[ebs.Digest][]byte)
			for seed := range uint64(10) { // packs 0-2 hold 3 each; pack 3 is active
				key, data := gcBlock(seed, 20<<10)
				putGC(t, s, key, data)
				keys, blocks[key] = append(keys, key), data
			}
			key := keys[0] // in pack 0
			wantBlock(t, s, key, blocks[key])
			paused, resume := make(chan struct{}), make(chan struct{})
			var resumed sync.Once
			release := func() { resumed.Do(func() { close(resume) }) }
			defer release() // a failure below must not leave the Get paused: Close would wait for it
			var once sync.Once
			pause := func(k ebs.Digest) {
				if k == key {
					once.Do(func() {
						close(paused)
						<-resume
					})
				}
			}
			if where == "after lookup" {
				s.hooks.getAfterLookup = pause
			} else {
				s.hooks.getAfterOpen = pause
			}
			disarm := s.Arm()
			defer disarm()
			if _, err := s.Sweep(t.Context(), keySet{key: true, keys[4]: true}); err != nil {
				t.Fatal(err)
			}
			type result struct {
				b   []byte
				err error
			}
			got := make(chan result, 1)
			go func() {
				b, err := s.Get(context.Background(), key, nil)
				got <- result{b, err}
			}()
			<-paused
			rep, err := s.Compact(t.Context(), store.CompactOptions{MinLive: 1})
			if err != nil {
				t.Fatal(err)
			}
			// Packs 0-2, and the pack being written (3) too when its
			// retirement, which the sweep's numbers ask for, is done in time.
			if _, ok := packFiles(t, dir)[packName(0)]; ok || rep.PacksRemoved < 3 {
				t.Fatalf("Compact = %+v, and pack 0 is still there: want packs 0-2 removed", rep)
			}
			if held := deletedPackHandles(t, dir); where == "after open" && len(held) == 0 {
				// The paused Get holds pack 0 open, removed: the check
				// below must be able to see that.
				t.Error("no open handle of a removed pack seen while the Get holds one")
			}
			release()
			r := <-got
			if r.err != nil || !bytes.Equal(r.b, blocks[key]) {
				t.Errorf("Get during compaction = %d bytes, %v; want the block", len(r.b), r.err)
			}
			if held := deletedPackHandles(t, dir); len(held) > 0 {
				t.Errorf("handles of removed packs still open after the Get: %v", held)
			}
			for _, k := range []ebs.Digest{key, keys[4]} {
				wantBlock(t, s, k, blocks[k])
			}
		})
	}
}

// errCrash stops a compaction at a step, as a crash would.
var errCrash = errors.New("simulated crash")

// TestNoPackIDReuse (docs/gc.md T8): the highest pack is compacted away
// (it holds nothing live, so there is no output pack) and the process
// stops before C7, leaving its "r" marker. After a restart, a new pack
// must not take the removed pack's id: else a stale "r" marker (its delete
// lost in a crash) would remove the new pack and the blocks in it.
func TestNoPackIDReuse(t *testing.T) {
	dir := t.TempDir()
	opts := Options{Dir: dir, PackSize: 64 << 10, Logger: slog.New(slog.DiscardHandler)}
	s := openGC(t, opts)
	a, aData := gcBlock(1, 40<<10)
	b, bData := gcBlock(2, 70<<10) // over PackSize: pack 1 is full, and not resumed by the next Open
	putGC(t, s, a, aData)
	putGC(t, s, b, bData)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openGC(t, opts)
	disarm := s.Arm()
	if _, err := s.Sweep(t.Context(), keySet{}); err != nil {
		t.Fatal(err)
	}
	s.hooks.compactStep = func(step string) error {
		if step == "C7" {
			return errCrash
		}
		return nil
	}
	if _, err := s.Compact(t.Context(), store.CompactOptions{MinLive: 1}); !errors.Is(err, errCrash) {
		t.Fatalf("Compact = %v, want the crash before C7", err)
	}
	disarm()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if n := len(packFiles(t, dir)); n != 0 {
		t.Fatalf("%d packs left, want both compacted away", n)
	}

	s = openGC(t, opts)
	c, cData := gcBlock(3, 1000)
	putGC(t, s, c, cData)
	files := slices.Sorted(func(yield func(string) bool) {
		for name := range packFiles(t, dir) {
			if !yield(name) {
				return
			}
		}
	})
	if len(files) != 1 || files[0] <= packName(1) {
		t.Fatalf("packs after the restart: %v; want one new pack with an id above 1", files)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	// Bring back the "r" markers, as if the restart's delete of them had
	// been lost: the new pack must survive the next Open.
	db, err := openIndex(vfs.Default, filepath.Join(dir, "index"), false)
	if err != nil {
		t.Fatal(err)
	}
	for id := range uint32(2) {
		if err := db.Set(retiredKey(id), nil, pebble.Sync); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	s = openGC(t, opts)
	wantBlock(t, s, c, cData)
}

// TestSalvageBeforeCompaction (docs/gc.md T14, review F8): a pack holds a
// bad sector with acknowledged entries after it that the index does not
// name (an older recovery stopped at the first invalid entry). Compacting
// it must index those entries in the new pack rather than remove them
// with the pack, and must drop the damaged entry (quarantined, logged) so
// that its next Put stores it again.
func TestSalvageBeforeCompaction(t *testing.T) {
	dir := t.TempDir()
	var logs bytes.Buffer
	opts := Options{Dir: dir, Logger: slog.New(slog.NewJSONHandler(&logs, nil))}
	s := openGC(t, opts)
	var keys []ebs.Digest
	blocks := make(map[ebs.Digest][]byte)
	for seed := range uint64(5) {
		key, data := gcBlock(seed, 4000)
		putGC(t, s, key, data)
		keys, blocks[key] = append(keys, key), data
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	rot(t, dir, 0, keys[2])
	// What the recovery of review F8 left: the pack sealed at the damage,
	// the entries after it unindexed.
	db, err := openIndex(vfs.Default, filepath.Join(dir, "index"), false)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys[3:] {
		if err := db.Delete(blockKey(k), pebble.Sync); err != nil {
			t.Fatal(err)
		}
	}
	if err := errors.Join(db.Set(sealedKey(0), nil, pebble.Sync), db.Set(keyCount, u64(3), pebble.Sync), db.Close()); err != nil {
		t.Fatal(err)
	}

	s = openGC(t, opts)
	for _, k := range keys[3:] {
		if ok, _ := s.Has(t.Context(), k); ok {
			t.Fatal("the setup failed: the entries after the damage are indexed")
		}
	}
	disarm := s.Arm()
	defer disarm()
	live := keySet{}
	for _, k := range keys {
		live[k] = true
	}
	if _, err := s.Sweep(t.Context(), live); err != nil {
		t.Fatal(err)
	}
	rep, err := s.Compact(t.Context(), store.CompactOptions{MinLive: 1})
	if err != nil {
		t.Fatal(err)
	}
	if rep.PacksRemoved != 1 {
		t.Errorf("Compact = %+v, want the pack removed", rep)
	}
	for i, k := range keys {
		if i != 2 {
			wantBlock(t, s, k, blocks[k])
		}
	}
	if _, err := s.Get(t.Context(), keys[2], nil); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Get of the damaged block = %v, want ErrNotFound: dropped, to be stored again", err)
	}
	if got := s.Stats().Blocks; got != 4 {
		t.Errorf("Stats().Blocks = %d, want 4", got)
	}
	qs, _ := filepath.Glob(filepath.Join(dir, "packs", "quarantine", "*"))
	if len(qs) != 1 {
		t.Errorf("quarantine holds %v, want the damaged bytes", qs)
	}
	for _, want := range []string{"damaged and dropped", "salvaged"} {
		if !strings.Contains(logs.String(), want) || logRecordWith(t, logs.Bytes(), want)["level"] != "ERROR" {
			t.Errorf("no Error record saying %q in:\n%s", want, logs.String())
		}
	}
	putGC(t, s, keys[2], blocks[keys[2]])
	wantBlock(t, s, keys[2], blocks[keys[2]])
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openGC(t, opts)
	for _, k := range keys {
		wantBlock(t, s, k, blocks[k])
	}
}

// logRecordWith returns the first JSON record whose message holds text.
func logRecordWith(t *testing.T, logs []byte, text string) map[string]any {
	t.Helper()
	for _, line := range bytes.Split(logs, []byte("\n")) {
		if bytes.Contains(line, []byte(text)) {
			var rec map[string]any
			if err := json.Unmarshal(line, &rec); err != nil {
				t.Fatalf("log line %q: %v", line, err)
			}
			return rec
		}
	}
	return nil
}

// TestCompactReclaimsSpace fills packs, makes half the keys dead, sweeps
// and compacts, and checks that the pack bytes on disk fall by the dead
// bytes, those of the pack being written included (Compact ends it when
// the sweep found it mostly dead), that the report says so, that no handle
// keeps a removed pack allocated, and that every live key reads back,
// also after a restart.
func TestCompactReclaimsSpace(t *testing.T) {
	dir := t.TempDir()
	opts := Options{Dir: dir, PackSize: 256 << 10}
	s := openGC(t, opts)
	live := keySet{}
	blocks := make(map[ebs.Digest][]byte)
	var deadBytes int64
	for seed := range uint64(48) {
		key, data := gcBlock(seed, 32<<10)
		putGC(t, s, key, data)
		blocks[key] = data
		if seed%2 == 0 {
			live[key] = true
		}
	}
	for seed := range uint64(48) { // read them all: the cache holds handles
		key, _ := gcBlock(seed, 32<<10)
		wantBlock(t, s, key, blocks[key])
	}
	for key := range blocks {
		loc, err := lookup(s.db, key)
		if err != nil {
			t.Fatal(err)
		}
		if !live[key] {
			deadBytes += pack.EntryHeaderSize + int64(loc.len)
		}
	}
	before := packFiles(t, dir)

	disarm := s.Arm()
	defer disarm()
	sw, err := s.Sweep(t.Context(), live)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := s.Compact(t.Context(), store.CompactOptions{MinLive: 0.75})
	if err != nil {
		t.Fatal(err)
	}
	after := packFiles(t, dir)
	freed := total(before) - total(after)
	t.Logf("%d packs, %d bytes, %d dead; sweep %+v; compact %+v; after: %d packs, %d bytes",
		len(before), total(before), deadBytes, sw, rep, len(after), total(after))
	if slack := int64(len(before)) * pack.FileHeaderSize; freed < deadBytes-slack || freed > deadBytes+slack {
		t.Errorf("pack files shrank by %d bytes, want the %d dead bytes (± %d)", freed, deadBytes, slack)
	}
	if rep.BytesReclaimed != freed || sw.Swept != 24 || rep.PacksRemoved != len(before) {
		t.Errorf("reports %+v, %+v; want %d bytes reclaimed, 24 swept, %d packs removed", sw, rep, freed, len(before))
	}
	if held := deletedPackHandles(t, dir); len(held) > 0 {
		t.Errorf("handles of removed packs still open: %v", held)
	}
	if st := s.Stats(); st.Blocks != 24 || st.Packs != int64(len(after)) || st.Bytes != total(after) {
		t.Errorf("Stats() = %+v, want 24 blocks in %d packs of %d bytes", st, len(after), total(after))
	}
	check := func() {
		for key, data := range blocks {
			if live[key] {
				wantBlock(t, s, key, data)
			} else if _, err := s.Get(t.Context(), key, nil); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("Get of a swept key = %v, want ErrNotFound", err)
			}
		}
	}
	check()
	disarm()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openGC(t, opts)
	check()
}

// TestPackV2Store (docs/gc.md T15, the store's side): a pack of format
// version 1 written by the old code is read, is not appended to, and
// becomes version 2 by being compacted even though it is all live; an
// entry of an unknown codec refuses Open, which leaves the pack as it is.
func TestPackV2Store(t *testing.T) {
	t.Run("version 1 read and migrated", func(t *testing.T) {
		dir := t.TempDir()
		v1, err := os.ReadFile(filepath.Join("..", "..", "pack", "testdata", "v1.pack"))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Join(dir, "packs"), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "packs", packName(0)), v1, 0o600); err != nil {
			t.Fatal(err)
		}
		s := openGC(t, Options{Dir: dir}) // no index: recovery indexes the pack
		live := keySet{}
		blocks := make(map[ebs.Digest][]byte)
		for i, n := range []int{0, 1, 100, 5000} {
			data := bytes.Repeat([]byte(fmt.Sprintf("ebsd pack v1 entry %d;", i)), n)[:n]
			blocks[ebs.Sum(data)] = data
		}
		key, data := gcBlock(1, 3000)
		putGC(t, s, key, data)
		blocks[key] = data
		for k, d := range blocks {
			wantBlock(t, s, k, d)
			live[k] = true
		}
		if files := packFiles(t, dir); len(files) != 2 || files[packName(0)] != int64(len(v1)) {
			t.Fatalf("packs %v: want the version 1 pack unchanged and a new one", files)
		}
		disarm := s.Arm()
		defer disarm()
		if _, err := s.Sweep(t.Context(), live); err != nil {
			t.Fatal(err)
		}
		rep, err := s.Compact(t.Context(), store.CompactOptions{})
		if err != nil {
			t.Fatal(err)
		}
		files := packFiles(t, dir)
		if _, ok := files[packName(0)]; ok || rep.PacksCompacted != 1 || len(files) != 2 {
			t.Fatalf("Compact = %+v, packs %v: want the version 1 pack rewritten", rep, files)
		}
		for name := range files {
			b, err := os.ReadFile(filepath.Join(dir, "packs", name))
			if err != nil {
				t.Fatal(err)
			}
			if v, err := pack.FileVersion(b); v != 2 || err != nil {
				t.Errorf("%s: version %d, %v; want 2", name, v, err)
			}
		}
		for k, d := range blocks {
			wantBlock(t, s, k, d)
		}
	})

	t.Run("unknown codec refuses Open", func(t *testing.T) {
		dir := t.TempDir()
		opts := Options{Dir: dir, Logger: slog.New(slog.DiscardHandler)}
		s := openGC(t, opts)
		key, data := gcBlock(1, 3000)
		putGC(t, s, key, data)
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		// Past the watermark, as if a newer ebsd appended it and crashed
		// before indexing: an entry of codec 2, then one this code reads.
		path := filepath.Join(dir, "packs", packName(0))
		future := []byte("a frame of a later codec, say")
		e := pack.NewEntryHeader(ebs.Sum(future), future).Append(nil)
		e[5] = byte(pack.CodecZstd) + 1
		binary.LittleEndian.PutUint32(e[52:], crc32.Checksum(e[:52], crc32.MakeTable(crc32.Castagnoli)))
		later, laterData := gcBlock(2, 100)
		tail := slices.Concat(e, future, pack.NewEntryHeader(later, laterData).Append(nil), laterData)
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.Write(tail); err != nil {
			t.Fatal(err)
		}
		f.Close()
		before, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		for range 2 { // refused, and still refused: nothing was sealed
			s, err := Open(t.Context(), opts)
			if err == nil {
				s.Close()
			}
			if !errors.Is(err, pack.ErrUnsupported) || errors.Is(err, pack.ErrCorrupt) {
				t.Fatalf("Open = %v, want ErrUnsupported", err)
			}
		}
		after, err := os.ReadFile(path)
		if err != nil || !bytes.Equal(after, before) {
			t.Errorf("the pack changed (%d bytes, was %d; %v)", len(after), len(before), err)
		}
		db, err := openIndex(vfs.Default, filepath.Join(dir, "index"), true)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		if sealed, err := isSealed(db, 0); err != nil || sealed {
			t.Errorf("pack sealed = %v, %v; want not sealed", sealed, err)
		}
		if qs, _ := filepath.Glob(filepath.Join(dir, "packs", "quarantine", "*")); len(qs) > 0 {
			t.Errorf("quarantine holds %v, want nothing", qs)
		}
	})
}
