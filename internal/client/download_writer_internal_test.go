package client

import (
	"bytes"
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// TestBlockWriter checks that blocks land intact whichever way they are
// written: directly (an aligned block buffer, where the file system takes
// O_DIRECT), or through the page cache (a buffer that is not aligned, no
// direct descriptor, or no writer at all).
func TestBlockWriter(t *testing.T) {
	raw := make([]byte, 2*BlockSize+directAlign)
	for i := range raw {
		raw[i] = byte(i * 7)
	}
	aligned := alignedIn(raw)
	unaligned := raw[1 : 1+BlockSize]
	path := filepath.Join(t.TempDir(), "f")
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := f.Truncate(4 * BlockSize); err != nil {
		t.Fatal(err)
	}
	abs, _ := filepath.Abs(path)
	full := openBlockWriter(&target{f: f, abs: abs})
	defer full.close()
	direct := full.f != nil
	if !direct && runtime.GOOS == "linux" {
		t.Logf("%s takes no O_DIRECT: every case is buffered", path)
	}
	tests := []struct {
		name       string
		w          *blockWriter
		buf        []byte
		index      int64
		wantCached bool
	}{
		{"aligned buffer", full, aligned, 0, !direct},
		{"unaligned buffer", full, unaligned, 1, true},
		{"no direct descriptor", &blockWriter{slots: make(chan struct{}, 1)}, aligned, 2, true},
		{"no writer", nil, aligned, 3, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cached, err := tc.w.writeAt(f, tc.buf, tc.index*BlockSize)
			if err != nil {
				t.Fatal(err)
			}
			if cached != tc.wantCached {
				t.Errorf("cached = %v, want %v", cached, tc.wantCached)
			}
			got := make([]byte, BlockSize)
			if _, err := f.ReadAt(got, tc.index*BlockSize); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, tc.buf) {
				t.Error("the block read back differs from the one written")
			}
		})
	}
}

// alignedIn returns a block of b that starts on a directAlign boundary.
func alignedIn(b []byte) []byte {
	for i := range directAlign {
		if aligned(b[i:i+BlockSize], 0) {
			return b[i : i+BlockSize]
		}
	}
	panic("no aligned block")
}
