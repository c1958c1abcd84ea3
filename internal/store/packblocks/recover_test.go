package packblocks_test

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"hash/crc32"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
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
// watermark), then checks that Open indexes every complete entry, leaves
// the rest where it is and logs it, seals the pack (a new one takes the
// next append), and takes new writes.
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
			var logs bytes.Buffer
			opts := packblocks.Options{Dir: t.TempDir(), Logger: slog.New(slog.NewJSONHandler(&logs, nil))}
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
			size := validEnd + int64(len(tc.tail))
			if tc.unindexed {
				blocks[unindexedKey] = unindexed
				validEnd += int64(len(encodeEntry(unindexedKey, unindexed)))
			}
			tornTail := validEnd < size

			s = mustOpen(t, opts)
			for key, data := range blocks {
				mustRead(t, s, key, data)
			}
			if ok, err := s.Has(t.Context(), tornKey); err != nil || ok {
				t.Errorf("Has(torn key) = %v, %v; want false, nil", ok, err)
			}
			if fi, err := os.Stat(paths[0]); err != nil || fi.Size() != size {
				t.Errorf("pack is %d bytes after Open (%v), want %d: never cut", fi.Size(), err, size)
			}
			if got, want := s.Stats(), (packblocks.Stats{Packs: 1, Bytes: size, Blocks: int64(len(blocks))}); got != want {
				t.Errorf("Stats() = %+v, want %+v", got, want)
			}
			rec := logRecord(t, logs.Bytes(), "WARN")
			if tornTail && (rec == nil || rec["offset"] != float64(validEnd) || rec["length"] != float64(size-validEnd)) {
				t.Errorf("Warn log record %v, want one for the torn tail at %d, %d bytes", rec, validEnd, size-validEnd)
			}
			if !tornTail && rec != nil {
				t.Errorf("Warn log record %v, want none: nothing is torn", rec)
			}
			if rec := logRecord(t, logs.Bytes(), "ERROR"); rec != nil {
				t.Errorf("Error log record %v for a torn tail", rec)
			}

			// The store takes new blocks, the torn one included: in a new
			// pack if the last one was sealed.
			key, data := mustPut(t, s, 99)
			blocks[key] = data
			if err := s.Put(t.Context(), tornKey, torn); err != nil {
				t.Fatalf("Put(torn key): %v", err)
			}
			blocks[tornKey] = torn
			wantPacks := int64(1)
			if tornTail {
				wantPacks = 2
			}
			if got := s.Stats().Packs; got != wantPacks {
				t.Errorf("Stats().Packs = %d after Puts, want %d", got, wantPacks)
			}
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

// TestRecoverSkipsDamage damages an entry in the middle of the part of a
// pack that the index does not cover yet (entries acknowledged, but their
// index batch lost), and checks that Open indexes every entry after the
// damage, copies the damaged bytes to quarantine, logs them at Error level,
// seals the pack, and does not rescan it at the next Open.
func TestRecoverSkipsDamage(t *testing.T) {
	tests := []struct {
		name   string
		damage func(b []byte, offs []int64) // b is the whole pack; offs the appended entries'
		lost   []int                        // appended entries damaged
	}{
		{"data byte flipped", func(b []byte, offs []int64) {
			b[offs[2]+pack.EntryHeaderSize+7] ^= 0x10
		}, []int{2}},
		{"header byte flipped", func(b []byte, offs []int64) {
			b[offs[2]+12] ^= 0x10
		}, []int{2}},
		{"bytes zeroed across two entries", func(b []byte, offs []int64) {
			clear(b[offs[2]-100 : offs[2]+100])
		}, []int{1, 2}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var logs bytes.Buffer
			opts := packblocks.Options{Dir: t.TempDir(), Logger: slog.New(slog.NewJSONHandler(&logs, nil))}
			s := mustOpen(t, opts)
			blocks := make(map[ebs.Digest][]byte)
			for seed := range uint64(3) {
				key, data := mustPut(t, s, seed)
				blocks[key] = data
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			path := packPaths(t, opts.Dir)[0]
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			// Five entries acknowledged after the last index batch that
			// survived: past the watermark.
			var offs []int64
			var keys []ebs.Digest
			for seed := uint64(100); seed < 105; seed++ {
				key, data := seededBlock(seed)
				offs = append(offs, int64(len(b)))
				keys = append(keys, key)
				b = append(b, encodeEntry(key, data)...)
				blocks[key] = data
			}
			tc.damage(b, offs)
			if err := os.WriteFile(path, b, 0o600); err != nil {
				t.Fatal(err)
			}
			for _, i := range tc.lost {
				delete(blocks, keys[i])
			}
			from, to := offs[tc.lost[0]], offs[tc.lost[len(tc.lost)-1]+1]

			s = mustOpen(t, opts)
			for key, data := range blocks {
				mustRead(t, s, key, data)
			}
			for _, i := range tc.lost {
				if ok, err := s.Has(t.Context(), keys[i]); err != nil || ok {
					t.Errorf("Has(damaged entry %d) = %v, %v; want false, nil", i, ok, err)
				}
			}

			// The damaged bytes are in quarantine, private, and logged.
			qdir := filepath.Join(opts.Dir, "packs", "quarantine")
			qs, err := filepath.Glob(filepath.Join(qdir, "*"))
			if err != nil || len(qs) != 1 {
				t.Fatalf("quarantine holds %v (%v), want one file", qs, err)
			}
			if name := filepath.Base(qs[0]); !strings.Contains(name, filepath.Base(path)) || !strings.Contains(name, strconv.FormatInt(from, 10)) {
				t.Errorf("quarantine file %s does not name pack %s and offset %d", name, filepath.Base(path), from)
			}
			if got, err := os.ReadFile(qs[0]); err != nil || !bytes.Equal(got, b[from:to]) {
				t.Errorf("quarantine file holds %d bytes (%v), want the %d damaged bytes [%d, %d)", len(got), err, to-from, from, to)
			}
			assertMode(t, qs[0], 0o600)
			assertMode(t, qdir, 0o700)
			rec := logRecord(t, logs.Bytes(), "ERROR")
			if rec == nil || rec["pack"] != filepath.Base(path) || rec["offset"] != float64(from) || rec["length"] != float64(to-from) {
				t.Errorf("Error log record %v, want pack %s, offset %d, length %d", rec, filepath.Base(path), from, to-from)
			}

			// The pack is sealed: new blocks go to a new one.
			key, data := mustPut(t, s, 200)
			blocks[key] = data
			if got := s.Stats().Packs; got != 2 {
				t.Errorf("Stats().Packs = %d after a Put, want 2: a new pack after the sealed one", got)
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			logs.Reset()
			s = mustOpen(t, opts)
			for key, data := range blocks {
				mustRead(t, s, key, data)
			}
			if rec := logRecord(t, logs.Bytes(), "ERROR"); rec != nil {
				t.Errorf("the next Open logged %v again: the sealed pack was rescanned", rec)
			}
			if qs2, _ := filepath.Glob(filepath.Join(qdir, "*")); len(qs2) != 1 {
				t.Errorf("quarantine holds %d files after another Open, want 1", len(qs2))
			}
		})
	}
}

// logRecord returns the first JSON log record of the level, or nil.
func logRecord(tb testing.TB, logs []byte, level string) map[string]any {
	tb.Helper()
	for _, line := range bytes.Split(logs, []byte("\n")) {
		if len(line) == 0 {
			continue
		}
		var rec map[string]any
		if err := json.Unmarshal(line, &rec); err != nil {
			tb.Fatalf("log line %q: %v", line, err)
		}
		if rec["level"] == level {
			return rec
		}
	}
	return nil
}

// assertMode fails tb unless the file at path has permission bits want.
func assertMode(tb testing.TB, path string, want os.FileMode) {
	tb.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		tb.Fatal(err)
	}
	if got := fi.Mode().Perm(); got != want {
		tb.Errorf("%s has mode %v, want %v", path, got, want)
	}
}

// TestRecoverDamagedPackHeader damages the header of a pack that the index
// does not cover (here: the index is lost) but that holds valid entries:
// Open must keep them, not take the pack for one whose creation never
// made it to disk and remove it.
func TestRecoverDamagedPackHeader(t *testing.T) {
	opts := packblocks.Options{Dir: t.TempDir()}
	s := mustOpen(t, opts)
	blocks := make(map[ebs.Digest][]byte)
	for seed := range uint64(3) {
		key, data := mustPut(t, s, seed)
		blocks[key] = data
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(filepath.Join(opts.Dir, "index")); err != nil {
		t.Fatal(err)
	}
	path := packPaths(t, opts.Dir)[0]
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt([]byte("X"), 3); err != nil {
		t.Fatal(err)
	}
	f.Close()

	s = mustOpen(t, opts)
	for key, data := range blocks {
		mustRead(t, s, key, data)
	}
	qs, _ := filepath.Glob(filepath.Join(opts.Dir, "packs", "quarantine", "*"))
	if len(qs) != 1 || !strings.HasSuffix(qs[0], ".0.bad") {
		t.Errorf("quarantine holds %v, want the damaged pack header (offset 0)", qs)
	}
	// The pack is sealed for its damage, which the next Open accepts.
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = mustOpen(t, opts)
	for key, data := range blocks {
		mustRead(t, s, key, data)
	}
}
