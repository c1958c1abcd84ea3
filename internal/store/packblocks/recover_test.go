package packblocks_test

import (
	"encoding/binary"
	"errors"
	"hash/crc32"
	"os"
	"path/filepath"
	"testing"

	"github.com/ebsd/ebsd/internal/ebs"
	"github.com/ebsd/ebsd/internal/pack"
	"github.com/ebsd/ebsd/internal/store"
	"github.com/ebsd/ebsd/internal/store/packblocks"
)

// appendTo appends b to the file at path.
func appendTo(tb testing.TB, path string, b []byte) {
	tb.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Write(b); err != nil {
		tb.Fatal(err)
	}
}

// encodeEntry returns the bytes of a complete entry.
func encodeEntry(key ebs.Digest, data []byte) []byte {
	return append(pack.NewEntryHeader(key, data).Append(nil), data...)
}

// TestRecoverTail crashes, in effect, after various writes to the end of
// the active pack that were never acknowledged (torn entries, garbage) or
// were acknowledged but never indexed (a complete entry past the
// watermark), then checks that Open keeps every complete entry, cuts the
// rest, and takes new writes.
func TestRecoverTail(t *testing.T) {
	unindexedKey, unindexed := seededBlock(1000)
	tornKey, torn := seededBlock(1001)
	tornEntry := encodeEntry(tornKey, torn)
	badCRC := encodeEntry(tornKey, torn)
	badCRC[len(badCRC)-1] ^= 0xff

	tests := []struct {
		name string
		tail []byte
		// unindexed is true when the tail starts with the complete entry
		// of unindexedKey.
		unindexed bool
	}{
		{name: "complete entry", tail: encodeEntry(unindexedKey, unindexed), unindexed: true},
		{name: "partial header", tail: tornEntry[:20]},
		{name: "header only", tail: tornEntry[:pack.EntryHeaderSize]},
		{name: "partial data", tail: tornEntry[:len(tornEntry)-100]},
		{name: "bad data checksum", tail: badCRC},
		{name: "zeros", tail: make([]byte, 4096)},
		{name: "garbage", tail: []byte("this is not an entry, not at all, but it is long enough to be read as a header")},
		{name: "complete entry then torn", tail: append(encodeEntry(unindexedKey, unindexed), tornEntry[:1000]...), unindexed: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			opts := packblocks.Options{Dir: t.TempDir()}
			s := mustOpen(t, opts)
			blocks := make(map[ebs.Digest][]byte)
			for seed := range uint64(5) {
				key, data := mustPut(t, s, seed)
				blocks[key] = data
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			paths := packPaths(t, opts.Dir)
			if len(paths) != 1 {
				t.Fatalf("%d packs, want 1", len(paths))
			}
			fi, err := os.Stat(paths[0])
			if err != nil {
				t.Fatal(err)
			}
			validEnd := fi.Size()
			appendTo(t, paths[0], tc.tail)
			if tc.unindexed {
				blocks[unindexedKey] = unindexed
				validEnd += int64(len(encodeEntry(unindexedKey, unindexed)))
			}

			s = mustOpen(t, opts)
			for key, data := range blocks {
				mustRead(t, s, key, data)
			}
			if ok, err := s.Has(t.Context(), tornKey); err != nil || ok {
				t.Errorf("Has(torn key) = %v, %v; want false, nil", ok, err)
			}
			if fi, err := os.Stat(paths[0]); err != nil || fi.Size() != validEnd {
				t.Errorf("pack is %d bytes after Open (%v), want %d: the tail cut", fi.Size(), err, validEnd)
			}
			if got, want := s.Stats(), (packblocks.Stats{Packs: 1, Bytes: validEnd, Blocks: int64(len(blocks))}); got != want {
				t.Errorf("Stats() = %+v, want %+v", got, want)
			}

			// The store takes new blocks, the torn one included.
			key, data := mustPut(t, s, 99)
			blocks[key] = data
			if err := s.Put(t.Context(), tornKey, torn); err != nil {
				t.Fatalf("Put(torn key): %v", err)
			}
			blocks[tornKey] = torn
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			s = mustOpen(t, opts)
			for key, data := range blocks {
				mustRead(t, s, key, data)
			}
		})
	}
}

// TestRebuildIndex deletes the index and checks that Open rebuilds it from
// the packs.
func TestRebuildIndex(t *testing.T) {
	opts := packblocks.Options{Dir: t.TempDir(), PackSize: 1 << 20}
	s := mustOpen(t, opts)
	blocks := make(map[ebs.Digest][]byte)
	for seed := range uint64(12) {
		key, data := mustPut(t, s, seed)
		blocks[key] = data
	}
	want := s.Stats()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(filepath.Join(opts.Dir, "index")); err != nil {
		t.Fatal(err)
	}
	s = mustOpen(t, opts)
	if got := s.Stats(); got != want {
		t.Errorf("Stats() after rebuild = %+v, want %+v", got, want)
	}
	for key, data := range blocks {
		mustRead(t, s, key, data)
	}
}

// TestRemoveTornPack checks that a pack whose header never made it to disk
// (a crash while creating it) is removed, not refused.
func TestRemoveTornPack(t *testing.T) {
	opts := packblocks.Options{Dir: t.TempDir()}
	s := mustOpen(t, opts)
	key, data := mustPut(t, s, 1)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	torn := filepath.Join(opts.Dir, "packs", "00000007.pack")
	if err := os.WriteFile(torn, pack.AppendFileHeader(nil)[:5], 0o644); err != nil {
		t.Fatal(err)
	}
	s = mustOpen(t, opts)
	if _, err := os.Stat(torn); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("torn pack still there after Open: %v", err)
	}
	mustRead(t, s, key, data)
	mustPut(t, s, 2)
}

// TestOpenRefuses damages what Open cannot repair without losing data and
// checks that it fails instead of guessing.
func TestOpenRefuses(t *testing.T) {
	otherVersion := pack.AppendFileHeader(nil)
	binary.LittleEndian.PutUint32(otherVersion[8:], pack.Version+1)
	binary.LittleEndian.PutUint32(otherVersion[12:], crc32.Checksum(otherVersion[:12], crc32.MakeTable(crc32.Castagnoli)))

	tests := []struct {
		name   string
		damage func(tb testing.TB, path string)
		want   error
	}{
		{"pack shorter than indexed", func(tb testing.TB, path string) {
			if err := os.Truncate(path, pack.FileHeaderSize+10); err != nil {
				tb.Fatal(err)
			}
		}, store.ErrCorrupt},
		{"indexed pack missing", func(tb testing.TB, path string) {
			if err := os.Remove(path); err != nil {
				tb.Fatal(err)
			}
		}, store.ErrCorrupt},
		{"indexed pack header damaged", func(tb testing.TB, path string) {
			f, err := os.OpenFile(path, os.O_WRONLY, 0)
			if err != nil {
				tb.Fatal(err)
			}
			defer f.Close()
			if _, err := f.WriteAt([]byte("X"), 0); err != nil {
				tb.Fatal(err)
			}
		}, store.ErrCorrupt},
		{"unknown format version", func(tb testing.TB, path string) {
			f, err := os.OpenFile(path, os.O_WRONLY, 0)
			if err != nil {
				tb.Fatal(err)
			}
			defer f.Close()
			if _, err := f.WriteAt(otherVersion, 0); err != nil {
				tb.Fatal(err)
			}
		}, pack.ErrVersion},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			opts := packblocks.Options{Dir: t.TempDir()}
			s := mustOpen(t, opts)
			mustPut(t, s, 1)
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			tc.damage(t, packPaths(t, opts.Dir)[0])
			s, err := packblocks.Open(t.Context(), opts)
			if err == nil {
				s.Close()
			}
			if !errors.Is(err, tc.want) {
				t.Errorf("Open error = %v, want %v", err, tc.want)
			}
		})
	}
}
