package packblocks_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/ebsd/ebsd/internal/blockcipher"
	"github.com/ebsd/ebsd/internal/ebs"
	"github.com/ebsd/ebsd/internal/pack"
	"github.com/ebsd/ebsd/internal/store"
	"github.com/ebsd/ebsd/internal/store/packblocks"
	"github.com/ebsd/ebsd/internal/store/storetest"
)

// compressionHarness is harness with Options.Compression set.
type compressionHarness struct {
	harness
	c packblocks.Compression
}

func (h compressionHarness) Open(ctx context.Context) (store.BlockStore, error) {
	return packblocks.Open(ctx, packblocks.Options{Dir: h.dir, Compression: h.c})
}

// TestConformanceCompression runs the BlockStore suite with compression
// on and off (TestConformance runs it with the default, off). The suite's
// blocks are half random, half compressible.
func TestConformanceCompression(t *testing.T) {
	for _, c := range []packblocks.Compression{packblocks.CompressionZstdOnWrite, packblocks.CompressionOff} {
		t.Run(c.String(), func(t *testing.T) {
			storetest.RunBlockStoreTests(t, func(tb testing.TB) storetest.BlockHarness {
				return compressionHarness{harness{dir: tb.TempDir()}, c}
			})
		})
	}
}

// compressible returns a 512 KiB block that zstd shrinks to about half.
func compressible(seed byte) []byte {
	b := randomBlock(seed)
	for i := ebs.BlockSize / 2; i < ebs.BlockSize; i += 64 {
		copy(b[i:], b[:64])
	}
	return b
}

// randomBlock returns a 512 KiB block of pseudo-random bytes.
func randomBlock(seed byte) []byte {
	b := make([]byte, ebs.BlockSize)
	x := uint64(seed)*0x9e3779b97f4a7c15 + 1
	for i := range b {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		b[i] = byte(x)
	}
	return b
}

// entryCodecs returns the codec of every entry in the store in dir, by key.
func entryCodecs(t *testing.T, dir string) map[ebs.Digest]pack.EntryHeader {
	t.Helper()
	out := make(map[ebs.Digest]pack.EntryHeader)
	for _, path := range packPaths(t, dir) {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		sc := pack.NewScanner(bytes.NewReader(b), pack.FileHeaderSize, int64(len(b)))
		for sc.Next() {
			out[sc.Entry().Header.Key] = sc.Entry().Header
		}
		if sc.Err() != nil {
			t.Fatal(sc.Err())
		}
	}
	return out
}

// TestCompressionOnDisk checks what lands in the packs: with compression
// on, a compressible block is a zstd entry of about half its size and a
// random one is stored as is; with it off, both are stored as is. Either
// store reads what the other wrote, so the option can change between
// two Opens.
func TestCompressionOnDisk(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	text, random := compressible(1), randomBlock(2)
	later := compressible(3)
	open := func(c packblocks.Compression) *packblocks.Store {
		s, err := packblocks.Open(ctx, packblocks.Options{Dir: dir, Compression: c})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	s := open(packblocks.CompressionZstdOnWrite)
	for _, b := range [][]byte{text, random} {
		if err := s.Put(ctx, ebs.Sum(b), b); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = open(packblocks.CompressionOff)
	if err := s.Put(ctx, ebs.Sum(later), later); err != nil {
		t.Fatal(err)
	}
	for _, b := range [][]byte{text, random, later} {
		got, err := s.Get(ctx, ebs.Sum(b), nil)
		if err != nil || !bytes.Equal(got, b) {
			t.Errorf("Get = %d bytes, %v", len(got), err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	hs := entryCodecs(t, dir)
	for _, tc := range []struct {
		name string
		data []byte
		want pack.Codec
	}{
		{"compressible, compression on", text, pack.CodecZstd},
		{"random, compression on", random, pack.CodecNone},
		{"compressible, compression off", later, pack.CodecNone},
	} {
		h, ok := hs[ebs.Sum(tc.data)]
		if !ok || h.Codec != tc.want || int(h.RawLen) != ebs.BlockSize {
			t.Errorf("%s: entry %+v (found %v), want codec %d, raw length %d", tc.name, h, ok, tc.want, ebs.BlockSize)
		}
		if h.Codec == pack.CodecZstd && h.Len > ebs.BlockSize*9/16 {
			t.Errorf("%s: %d bytes stored, want about half a block", tc.name, h.Len)
		}
	}
	// The index is rebuilt from packs with both kinds of entries.
	if err := os.RemoveAll(filepath.Join(dir, "index")); err != nil {
		t.Fatal(err)
	}
	s = open(packblocks.CompressionZstdOnWrite)
	defer s.Close()
	for _, b := range [][]byte{text, random, later} {
		got, err := s.Get(ctx, ebs.Sum(b), slices.Clip([]byte("x")))
		if err != nil || !bytes.Equal(got, append([]byte("x"), b...)) {
			t.Errorf("Get after rebuilding the index = %d bytes, %v", len(got), err)
		}
	}
}

// TestSealedBlocksStoredAsIs puts the stored forms of an encrypted
// snapshot's compressible block, raw and compressed (the service
// compresses before it seals): ciphertext does not compress, and the
// store's sampling sees that, so both are stored as they are.
func TestSealedBlocksStoredAsIs(t *testing.T) {
	ctx := t.Context()
	c, err := blockcipher.New(bytes.Repeat([]byte{9}, blockcipher.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	block := compressible(4)
	d := ebs.Sum(block)
	enc, err := pack.NewEncoder(pack.SpeedFastest)
	if err != nil {
		t.Fatal(err)
	}
	frame, ok := enc.Compress(nil, block)
	if !ok {
		t.Fatal("block not compressible")
	}
	packed, err := c.SealCompressed(nil, d, blockcipher.CodecZstd, frame)
	if err != nil {
		t.Fatal(err)
	}
	raw := c.Seal(nil, d, block)
	dir := t.TempDir()
	s, err := packblocks.Open(ctx, packblocks.Options{Dir: dir, Compression: packblocks.CompressionZstdOnWrite})
	if err != nil {
		t.Fatal(err)
	}
	for i, b := range [][]byte{raw, packed} {
		key := ebs.Sum([]byte{byte(i)}) // a storage key, as the service's are
		if err := s.Put(ctx, key, b); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	hs := entryCodecs(t, dir)
	for k, h := range hs {
		if h.Codec != pack.CodecNone {
			t.Errorf("sealed block %v stored with codec %d", k, h.Codec)
		}
	}
	if len(hs) != 2 {
		t.Errorf("%d entries, want 2", len(hs))
	}
}

// oldBlock is block i of testdata/uncompressed-31e1a0f, a data directory
// that the code of commit 31e1a0f, before compression, wrote (see
// olddirBlock in /tmp/head/cmd/mkold, reproduced here): six compressible
// blocks, stored as they are.
func oldBlock(i int) []byte {
	b := make([]byte, 1000+i*3000)
	for j := range b {
		b[j] = "old ebsd data directory "[j%24] + byte(i)
	}
	return b
}

// copyDir copies the directory tree src to dst.
func copyDir(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o700)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, 0o600)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestOldDataDirectory opens a data directory written before compression
// with compression on: its blocks read back, new compressible blocks are
// stored compressed next to them, and a compaction of all of it (which
// compresses the old entries as it moves them, and counts their index
// lengths) leaves every block readable, across a reopen.
func TestOldDataDirectory(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	copyDir(t, filepath.Join("testdata", "uncompressed-31e1a0f"), dir)
	// Packs smaller than the old one: it is not appended to, and every new
	// block gets a pack of its own, so that the old pack and new ones are
	// compacted together.
	s := mustOpen(t, packblocks.Options{Dir: dir, PackSize: 32 << 10, Compression: packblocks.CompressionZstdOnWrite})
	blocks := map[ebs.Digest][]byte{}
	for i := range 6 {
		b := oldBlock(i)
		blocks[ebs.Sum(b)] = b
	}
	for k, b := range blocks {
		mustRead(t, s, k, b)
	}
	for i := range 3 {
		b := compressible(byte(10 + i))
		if err := s.Put(ctx, ebs.Sum(b), b); err != nil {
			t.Fatal(err)
		}
		blocks[ebs.Sum(b)] = b
	}
	live := make(keySet)
	for k := range blocks {
		live[k] = true
	}
	disarm := s.Arm()
	if _, err := s.Sweep(ctx, live); err != nil {
		t.Fatal(err)
	}
	rep, err := s.Compact(ctx, store.CompactOptions{MinLive: 1})
	disarm()
	if err != nil || rep.PacksCompacted == 0 {
		t.Fatalf("Compact = %+v, %v; want the packs compacted", rep, err)
	}
	for k, b := range blocks {
		mustRead(t, s, k, b)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = mustOpen(t, packblocks.Options{Dir: dir, Compression: packblocks.CompressionOff})
	for k, b := range blocks {
		mustRead(t, s, k, b)
	}
	codecs := map[pack.Codec]int{}
	for _, h := range entryCodecs(t, dir) {
		codecs[h.Codec]++
	}
	// Compaction with compression on compresses the old raw entries it
	// moves (compact_compress.go).
	if codecs[pack.CodecNone] != 0 || codecs[pack.CodecZstd] != 9 {
		t.Errorf("entries by codec %v, want all 9 compressed, the 6 old ones by the compaction", codecs)
	}
}

// TestCompactCountsStoredBytes checks that the collector counts what
// compressed entries take in their pack, not the bytes they decode to: a
// pack of three compressed blocks, two of them dead, is a third live and
// is compacted at MinLive 0.5, where counting raw bytes would make it two
// thirds live and leave it.
func TestCompactCountsStoredBytes(t *testing.T) {
	ctx := t.Context()
	s := mustOpen(t, packblocks.Options{Dir: t.TempDir(), PackSize: 1 << 20, Compression: packblocks.CompressionZstdOnWrite})
	var keys []ebs.Digest
	for i := range 4 { // three fill the first pack, the fourth starts another
		b := compressible(byte(20 + i))
		if err := s.Put(ctx, ebs.Sum(b), b); err != nil {
			t.Fatal(err)
		}
		keys = append(keys, ebs.Sum(b))
	}
	live := keySet{keys[0]: true, keys[3]: true}
	disarm := s.Arm()
	if _, err := s.Sweep(ctx, live); err != nil {
		t.Fatal(err)
	}
	rep, err := s.Compact(ctx, store.CompactOptions{MinLive: 0.5})
	disarm()
	if err != nil || rep.PacksRemoved == 0 {
		t.Errorf("Compact = %+v, %v; want the first pack, a third live, compacted away", rep, err)
	}
	mustRead(t, s, keys[0], compressible(20))
	mustRead(t, s, keys[3], compressible(23))
}
