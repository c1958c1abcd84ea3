package client

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

func TestTargetWriteZeros(t *testing.T) {
	// The last resort of zeroRange, where neither BLKZEROOUT nor punching
	// a hole works.
	path := filepath.Join(t.TempDir(), "f")
	old := bytes.Repeat([]byte{0xAA}, 3*BlockSize)
	if err := os.WriteFile(path, old, 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tg := &target{f: f, path: path}
	buf := bytes.Repeat([]byte{0x55}, BlockSize) // scratch space with data in it
	if err := tg.writeZeros(BlockSize/2, 2*BlockSize, buf); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(path)
	want := append(append(bytes.Repeat([]byte{0xAA}, BlockSize/2), make([]byte, 2*BlockSize)...), bytes.Repeat([]byte{0xAA}, BlockSize/2)...)
	if !bytes.Equal(got, want) {
		t.Error("writeZeros zeroed the wrong range")
	}
}

func TestIsBlockDevice(t *testing.T) {
	tests := []struct {
		mode fs.FileMode
		want bool
	}{
		{0o644, false},
		{fs.ModeDevice | 0o660, true},
		{fs.ModeDevice | fs.ModeCharDevice | 0o666, false}, // /dev/null
		{fs.ModeDir | 0o755, false},
	}
	for _, tc := range tests {
		if got := isBlockDevice(tc.mode); got != tc.want {
			t.Errorf("isBlockDevice(%v) = %v, want %v", tc.mode, got, tc.want)
		}
	}
}

func TestListPageSize(t *testing.T) {
	tests := []struct{ in, want int32 }{{0, 10000}, {-1, 10000}, {1, 100}, {100, 100}, {5000, 5000}, {20000, 10000}}
	for _, tc := range tests {
		if got := (ListOptions{PageSize: tc.in}).pageSize(); got != tc.want {
			t.Errorf("pageSize(%d) = %d, want %d", tc.in, got, tc.want)
		}
	}
}
