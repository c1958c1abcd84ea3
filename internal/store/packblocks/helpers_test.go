package packblocks_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/ebsd/ebsd/internal/ebs"
	"github.com/ebsd/ebsd/internal/pack"
	"github.com/ebsd/ebsd/internal/store/packblocks"
)

// packPaths returns the pack files of the store in dir, oldest first.
func packPaths(tb testing.TB, dir string) []string {
	tb.Helper()
	paths, err := filepath.Glob(filepath.Join(dir, "packs", "*.pack"))
	if err != nil {
		tb.Fatal(err)
	}
	return paths // Glob sorts, and pack names sort by id
}

// flipDataByte flips a byte in the middle of key's data, on disk.
func flipDataByte(dir string, key ebs.Digest) error {
	paths, err := filepath.Glob(filepath.Join(dir, "packs", "*.pack"))
	if err != nil {
		return err
	}
	for _, path := range paths {
		off, err := findEntry(path, key)
		if err != nil {
			return err
		}
		if off < 0 {
			continue
		}
		f, err := os.OpenFile(path, os.O_RDWR, 0)
		if err != nil {
			return err
		}
		defer f.Close()
		b := make([]byte, 1)
		if _, err := f.ReadAt(b, off); err != nil {
			return err
		}
		b[0] ^= 0x01
		_, err = f.WriteAt(b, off)
		return err
	}
	return fmt.Errorf("key %v is in no pack", key)
}

// findEntry returns the offset of the middle of key's data in the pack at
// path, or -1.
func findEntry(path string, key ebs.Digest) (int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return 0, err
	}
	sc := pack.NewScanner(f, pack.FileHeaderSize, fi.Size())
	for sc.Next() {
		if e := sc.Entry(); e.Header.Key == key {
			return e.Offset + pack.EntryHeaderSize + int64(e.Header.Len)/2, nil
		}
	}
	return -1, sc.Err()
}

// seededBlock returns the block of a seed: 1 byte to ebs.BlockSize of
// pseudo-random content, the same for the same seed in any process.
func seededBlock(seed uint64) (ebs.Digest, []byte) {
	var s [32]byte
	binary.LittleEndian.PutUint64(s[:], seed)
	rng := rand.NewChaCha8(s)
	data := make([]byte, 1+rng.Uint64()%ebs.BlockSize)
	rng.Read(data)
	return ebs.Sum(data), data
}

// mustOpen opens the store in dir and closes it when tb ends (unless the
// test closed it already).
func mustOpen(tb testing.TB, opts packblocks.Options) *packblocks.Store {
	tb.Helper()
	if opts.Logger == nil {
		opts.Logger = discardLogger
	}
	s, err := packblocks.Open(tb.Context(), opts)
	if err != nil {
		tb.Fatalf("Open: %v", err)
	}
	tb.Cleanup(func() { s.Close() })
	return s
}

// discardLogger drops what the stores of tests log.
var discardLogger = slog.New(slog.DiscardHandler)

// mustPut stores the block of seed in s and returns its key and data.
func mustPut(tb testing.TB, s *packblocks.Store, seed uint64) (ebs.Digest, []byte) {
	tb.Helper()
	key, data := seededBlock(seed)
	if err := s.Put(tb.Context(), key, data); err != nil {
		tb.Fatalf("Put(seed %d): %v", seed, err)
	}
	return key, data
}

// mustRead fails tb unless key reads back from s as want.
func mustRead(tb testing.TB, s *packblocks.Store, key ebs.Digest, want []byte) {
	tb.Helper()
	got, err := s.Get(context.Background(), key, nil)
	if err != nil {
		tb.Errorf("Get(%v): %v", key, err)
		return
	}
	if !bytes.Equal(got, want) {
		tb.Errorf("Get(%v) = %d bytes, want %d other bytes", key, len(got), len(want))
	}
}
