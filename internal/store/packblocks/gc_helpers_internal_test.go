package packblocks

import (
	"bytes"
	"context"
	"encoding/binary"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ebsd/ebsd/internal/ebs"
	"github.com/ebsd/ebsd/internal/pack"
)

// keySet is a store.LiveSet.
type keySet map[ebs.Digest]bool

func (k keySet) Has(key ebs.Digest) bool { return k[key] }

// gcBlock returns the block of a seed: size bytes of pseudo-random content.
func gcBlock(seed uint64, size int) (ebs.Digest, []byte) {
	var s [32]byte
	binary.LittleEndian.PutUint64(s[:], seed)
	binary.LittleEndian.PutUint64(s[8:], 0x6c)
	data := make([]byte, size)
	rand.NewChaCha8(s).Read(data)
	return ebs.Sum(data), data
}

// openGC opens a store in dir with small packs and closes it when t ends
// (a second Close is harmless).
func openGC(t *testing.T, opts Options) *Store {
	t.Helper()
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	s, err := Open(t.Context(), opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func putGC(t *testing.T, s *Store, key ebs.Digest, data []byte) {
	t.Helper()
	if err := s.Put(context.Background(), key, data); err != nil {
		t.Fatalf("Put: %v", err)
	}
}

func wantBlock(t *testing.T, s *Store, key ebs.Digest, want []byte) {
	t.Helper()
	got, err := s.Get(context.Background(), key, nil)
	if err != nil || !bytes.Equal(got, want) {
		t.Errorf("Get(%v) = %d bytes, %v; want the %d bytes put", key, len(got), err, len(want))
	}
}

// packFiles returns the sizes of the pack files in dir, by name.
func packFiles(t *testing.T, dir string) map[string]int64 {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(dir, "packs", "*.pack"))
	if err != nil {
		t.Fatal(err)
	}
	m := make(map[string]int64)
	for _, p := range paths {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		m[filepath.Base(p)] = fi.Size()
	}
	return m
}

func total(sizes map[string]int64) (n int64) {
	for _, v := range sizes {
		n += v
	}
	return n
}

// deletedPackHandles returns the descriptors this process holds open on
// pack files of dir that were removed: their blocks stay allocated until
// they are closed. It skips t where /proc/self/fd cannot tell (not Linux).
func deletedPackHandles(t *testing.T, dir string) []string {
	t.Helper()
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("cannot list open files: %v", err)
	}
	var held []string
	for _, fd := range fds {
		target, err := os.Readlink(filepath.Join("/proc/self/fd", fd.Name()))
		if err == nil && strings.HasPrefix(target, filepath.Join(dir, "packs")) && strings.HasSuffix(target, " (deleted)") {
			held = append(held, target)
		}
	}
	return held
}

// rot flips a byte in the middle of key's data in pack id of dir.
func rot(t *testing.T, dir string, id uint32, key ebs.Digest) {
	t.Helper()
	path := filepath.Join(dir, "packs", packName(id))
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sc := pack.NewScanner(bytes.NewReader(b), pack.FileHeaderSize, int64(len(b)))
	for sc.Next() {
		if e := sc.Entry(); e.Header.Key == key {
			b[e.Offset+e.Header.HeaderSize()+int64(e.Header.Len)/2] ^= 0x20
			if err := os.WriteFile(path, b, 0o600); err != nil {
				t.Fatal(err)
			}
			return
		}
	}
	t.Fatalf("key %v not in %s", key, path)
}
