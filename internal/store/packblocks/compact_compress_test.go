package packblocks_test

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/ebsd/ebsd/internal/ebs"
	"github.com/ebsd/ebsd/internal/pack"
	"github.com/ebsd/ebsd/internal/store"
	"github.com/ebsd/ebsd/internal/store/packblocks"
)

// TestCompactionCompresses writes a pack of random blocks and packs of
// compressible ones with one Compression, reopens the store with another
// and collects with nothing dead (MinLive 0.5 takes no pack for its
// garbage): with CompressionZstd or CompressionZstdOnWrite, compaction
// rewrites the packs whose blocks were stored raw, compressing them, and
// leaves the random pack and packs compressed on write in place (sampling
// judges them); a second collection, and one after a reopen, rewrite
// nothing. Every block reads back throughout.
func TestCompactionCompresses(t *testing.T) {
	off, zstd, onWrite := packblocks.CompressionOff, packblocks.CompressionZstd, packblocks.CompressionZstdOnWrite
	for _, tc := range []struct {
		name          string
		write, gc     packblocks.Compression
		wantCodec     pack.Codec // of the compressible blocks in the end
		wantRewritten bool       // the packs of compressible blocks
	}{
		{"zstd compresses at compaction", zstd, zstd, pack.CodecZstd, true},
		{"off stays off", off, off, pack.CodecNone, false},
		{"data written with off is compressed once zstd is on", off, zstd, pack.CodecZstd, true},
		{"zstd-on-write compresses old raw packs too", off, onWrite, pack.CodecZstd, true},
		{"packs compressed on write are left alone", onWrite, zstd, pack.CodecZstd, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := t.Context()
			dir := t.TempDir()
			// 2 MiB packs: three blocks each.
			s := mustOpen(t, packblocks.Options{Dir: dir, PackSize: 2 << 20, Compression: tc.write})
			var text, random [][]byte
			for i := range 6 {
				text = append(text, compressible(byte(40+i)))
			}
			for i := range 3 {
				random = append(random, randomBlock(byte(60+i)))
			}
			// Random blocks first, so that their pack is complete; the
			// last, active pack (never compacted) holds a random filler.
			all := slices.Concat(random, text, [][]byte{randomBlock(70)})
			for _, b := range all {
				if err := s.Put(ctx, ebs.Sum(b), b); err != nil {
					t.Fatal(err)
				}
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			if tc.write != onWrite {
				for _, b := range text {
					if h := entryCodecs(t, dir)[ebs.Sum(b)]; h.Codec != pack.CodecNone {
						t.Fatalf("Put with -compression %v stored codec %d, want the block as it is", tc.write, h.Codec)
					}
				}
			}
			before := packNames(t, dir)
			sizeBefore := packBytes(t, dir)

			live := keySet{}
			for _, b := range all {
				live[ebs.Sum(b)] = true
			}
			collect := func(label string) store.CompactReport {
				t.Helper()
				s := mustOpen(t, packblocks.Options{Dir: dir, PackSize: 2 << 20, Compression: tc.gc})
				defer s.Close()
				disarm := s.Arm()
				defer disarm()
				if _, err := s.Sweep(ctx, live); err != nil {
					t.Fatalf("%s: Sweep: %v", label, err)
				}
				rep, err := s.Compact(ctx, store.CompactOptions{MinLive: 0.5})
				if err != nil {
					t.Fatalf("%s: Compact: %v", label, err)
				}
				for _, b := range all {
					mustRead(t, s, ebs.Sum(b), b)
				}
				return rep
			}
			rep := collect("first collection")
			hs := entryCodecs(t, dir)
			for i, b := range text {
				if h := hs[ebs.Sum(b)]; h.Codec != tc.wantCodec || h.RawLen != ebs.BlockSize {
					t.Errorf("compressible block %d: entry codec %d, raw length %d; want codec %d", i, h.Codec, h.RawLen, tc.wantCodec)
				}
			}
			for i, b := range random {
				if h := hs[ebs.Sum(b)]; h.Codec != pack.CodecNone {
					t.Errorf("random block %d: entry codec %d, want it as it is", i, h.Codec)
				}
			}
			after := packNames(t, dir)
			kept := 0
			for _, name := range before {
				if slices.Contains(after, name) {
					kept++
				}
			}
			// Four packs: one of random blocks, two of compressible ones,
			// and the filler's (fewer when Put compressed).
			if tc.write != onWrite && len(before) != 4 {
				t.Fatalf("packs %v, want 4", before)
			}
			if tc.wantRewritten {
				if kept != 2 || rep.BytesCopied == 0 {
					t.Errorf("first collection kept %d of the packs %v (now %v), copied %d bytes; want the 2 compressible packs rewritten, the random one and the filler's kept",
						kept, before, after, rep.BytesCopied)
				}
				if got := packBytes(t, dir); got > sizeBefore-int64(len(text))*ebs.BlockSize/3 {
					t.Errorf("packs take %d bytes after compaction, %d before: want about half of the compressible blocks' back", got, sizeBefore)
				}
			} else if kept != len(before) || rep.BytesCopied != 0 {
				t.Errorf("first collection kept %d of the packs %v (now %v), copied %d bytes; want nothing rewritten", kept, before, after, rep.BytesCopied)
			}
			for _, label := range []string{"second collection", "collection after a reopen"} {
				if rep := collect(label); rep.BytesCopied != 0 || rep.PacksRemoved != 0 {
					t.Errorf("%s: %+v, want nothing rewritten again", label, rep)
				}
			}
		})
	}
}

// packNames returns the names of the pack files in the store in dir.
func packNames(t *testing.T, dir string) []string {
	t.Helper()
	var names []string
	for _, p := range packPaths(t, dir) {
		names = append(names, filepath.Base(p))
	}
	return names
}

// packBytes returns the bytes the pack files in dir take.
func packBytes(t *testing.T, dir string) int64 {
	t.Helper()
	var n int64
	for _, p := range packPaths(t, dir) {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		n += fi.Size()
	}
	return n
}

// TestIdlePackCompressed checks the pack being written under
// CompressionZstd: a collection right after appends leaves it (it is
// still being filled), one on a store with no append since it opened ends
// it and compresses its blocks.
func TestIdlePackCompressed(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	opts := packblocks.Options{Dir: dir, PackSize: 2 << 20, Compression: packblocks.CompressionZstd}
	blocks := [][]byte{compressible(80), compressible(81)}
	collect := func(s *packblocks.Store) store.CompactReport {
		t.Helper()
		live := keySet{}
		for _, b := range blocks {
			live[ebs.Sum(b)] = true
		}
		disarm := s.Arm()
		defer disarm()
		if _, err := s.Sweep(ctx, live); err != nil {
			t.Fatal(err)
		}
		rep, err := s.Compact(ctx, store.CompactOptions{MinLive: 0.5})
		if err != nil {
			t.Fatal(err)
		}
		for _, b := range blocks {
			mustRead(t, s, ebs.Sum(b), b)
		}
		return rep
	}
	s := mustOpen(t, opts)
	for _, b := range blocks {
		if err := s.Put(ctx, ebs.Sum(b), b); err != nil {
			t.Fatal(err)
		}
	}
	if rep := collect(s); rep.BytesCopied != 0 {
		t.Errorf("collection right after the appends: %+v, want the pack being written left alone", rep)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if rep := collect(mustOpen(t, opts)); rep.BytesCopied == 0 {
		t.Errorf("collection of an idle store: %+v, want its pack compressed", rep)
	}
	for i, b := range blocks {
		if h := entryCodecs(t, dir)[ebs.Sum(b)]; h.Codec != pack.CodecZstd {
			t.Errorf("block %d: codec %d, want it compressed", i, h.Codec)
		}
	}
}
