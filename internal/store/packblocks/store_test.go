package packblocks_test

import (
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/ebsd/ebsd/internal/ebs"
	"github.com/ebsd/ebsd/internal/pack"
	"github.com/ebsd/ebsd/internal/store/packblocks"
)

func TestRotation(t *testing.T) {
	// Three 512 KiB entries fit in 2 MiB, a fourth does not.
	// Stored as they are: the pack sizes below are those of the raw blocks.
	opts := packblocks.Options{Dir: t.TempDir(), PackSize: 2 << 20, Compression: packblocks.CompressionOff}
	s := mustOpen(t, opts)
	blocks := make(map[ebs.Digest][]byte)
	for i := range 10 {
		data := make([]byte, ebs.BlockSize)
		data[0] = byte(i)
		key := ebs.Sum(data)
		if err := s.Put(t.Context(), key, data); err != nil {
			t.Fatal(err)
		}
		blocks[key] = data
	}
	// An entry larger than PackSize gets a pack of its own.
	big := make([]byte, 3<<20)
	big[0] = 0xff
	if err := s.Put(t.Context(), ebs.Sum(big), big); err != nil {
		t.Fatal(err)
	}
	blocks[ebs.Sum(big)] = big

	entry := int64(pack.EntryHeaderSize + ebs.BlockSize)
	want := packblocks.Stats{
		Packs:  5,
		Bytes:  5*pack.FileHeaderSize + 10*entry + pack.EntryHeaderSize + int64(len(big)),
		Blocks: 11,
	}
	if got := s.Stats(); got != want {
		t.Errorf("Stats() = %+v, want %+v", got, want)
	}
	paths := packPaths(t, opts.Dir)
	if len(paths) != 5 {
		t.Fatalf("%d pack files, want 5", len(paths))
	}
	for i, path := range paths[:4] {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if want := pack.FileHeaderSize + int64(min(3, 10-3*i))*entry; fi.Size() != want {
			t.Errorf("%s is %d bytes, want %d", path, fi.Size(), want)
		}
	}
	for key, data := range blocks {
		mustRead(t, s, key, data)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	// Reopened, the store goes on in a new pack: the last one is full.
	s = mustOpen(t, opts)
	mustPut(t, s, 1)
	if got := s.Stats().Packs; got != 6 {
		t.Errorf("Stats().Packs = %d after reopen and Put, want 6", got)
	}
	for key, data := range blocks {
		mustRead(t, s, key, data)
	}
}

// TestAppendOnce checks that concurrent Puts of one key append it once.
func TestAppendOnce(t *testing.T) {
	s := mustOpen(t, packblocks.Options{Dir: t.TempDir()})
	key, data := seededBlock(7)
	var wg sync.WaitGroup
	for range 64 {
		wg.Go(func() {
			if err := s.Put(t.Context(), key, data); err != nil {
				t.Errorf("Put: %v", err)
			}
		})
	}
	wg.Wait()
	want := packblocks.Stats{Packs: 1, Bytes: pack.FileHeaderSize + pack.EntryHeaderSize + int64(len(data)), Blocks: 1}
	if got := s.Stats(); got != want {
		t.Errorf("Stats() = %+v, want %+v", got, want)
	}
	mustRead(t, s, key, data)
}

// TestResumeAfterReopen checks that a reopened store appends to its last
// pack while it has room, and that every block survives.
func TestResumeAfterReopen(t *testing.T) {
	opts := packblocks.Options{Dir: t.TempDir()}
	blocks := make(map[ebs.Digest][]byte)
	for round := range uint64(3) {
		s := mustOpen(t, opts)
		for seed := range uint64(3) {
			key, data := mustPut(t, s, round*10+seed)
			blocks[key] = data
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
	s := mustOpen(t, opts)
	if got := s.Stats(); got.Packs != 1 || got.Blocks != 9 {
		t.Errorf("Stats() = %+v, want 1 pack and 9 blocks", got)
	}
	for key, data := range blocks {
		mustRead(t, s, key, data)
	}
}

// TestPrivateModes checks that the directories Open creates are 0700 and
// the packs 0600, whatever the umask: packs hold block data in the clear.
func TestPrivateModes(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "new", "store")
	s := mustOpen(t, packblocks.Options{Dir: dir})
	mustPut(t, s, 1)
	for _, d := range []string{filepath.Dir(dir), dir, filepath.Join(dir, "packs"), filepath.Join(dir, "index")} {
		assertMode(t, d, 0o700)
	}
	for _, p := range packPaths(t, dir) {
		assertMode(t, p, 0o600)
	}
}
