package client

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// payload is the spec's synthetic block (ebs-api-spec §7.6).
func payload(x string) []byte {
	return bytes.Repeat([]byte("stackd-ebs-synthetic-"+x+"\n"), BlockSize)[:BlockSize]
}

func TestLinearSpecVectors(t *testing.T) {
	zero := make([]byte, BlockSize)
	tests := []struct {
		blocks map[int32][]byte
		want   string
	}{
		{map[int32][]byte{0: payload("b"), 3: payload("a"), 7: zero, 2047: payload("c")}, "Pq34jf4xh07iqiQpo/morRl/xL06mqy1ERimH+Hypi8="},
		{map[int32][]byte{0: zero, 3: payload("a"), 5: payload("b")}, "hf4A3LvWy4effbPmcB9iS2uEagRPJ7DdLQQXLJYnpsg="},
		{map[int32][]byte{0: payload("a"), 2: payload("b")}, "TaVs0wV7YBznFZI053JMqdP3BZFgoXWQRCI8Npz4HRM="},
		{map[int32][]byte{}, "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="},
	}
	for _, tt := range tests {
		// Collected out of order, as workers finish.
		var log digestLog
		for i := int32(2047); i >= 0; i-- {
			if b, ok := tt.blocks[i]; ok {
				log.add(i, sha256.Sum256(b))
			}
		}
		if got := log.sorted().linear(); got != tt.want {
			t.Errorf("linear = %s, want %s", got, tt.want)
		}
	}
}

func TestIsZero(t *testing.T) {
	b := make([]byte, BlockSize)
	if !isZero(b) || !isZero(b[:3]) || !isZero(nil) {
		t.Fatal("zeros not seen as zero")
	}
	for _, at := range []int{0, 1, 7, 8, 9, 4095, BlockSize / 2, BlockSize - 9, BlockSize - 8, BlockSize - 1} {
		b[at] = 0x80
		if isZero(b) {
			t.Errorf("byte %d set, still zero", at)
		}
		b[at] = 0
	}
	if isZero([]byte{0, 0, 1}) {
		t.Error("short non-zero slice seen as zero")
	}
}

func TestReadBlockPads(t *testing.T) {
	img := bytes.Repeat([]byte{7}, BlockSize+10)
	buf := bytes.Repeat([]byte{0xff}, BlockSize)
	if err := readBlock(bytes.NewReader(img), int64(len(img)), 1, buf); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(buf[:10], bytes.Repeat([]byte{7}, 10)) || !isZero(buf[10:]) {
		t.Error("tail block not padded with zeros")
	}
	if err := readBlock(bytes.NewReader(img), int64(len(img)), 5, buf); err != nil || !isZero(buf) {
		t.Errorf("block past the end: %v, zero %v", err, isZero(buf))
	}
	// An image shorter than its declared size is an error, not zeros.
	err := readBlock(bytes.NewReader(img[:100]), int64(len(img)), 0, buf)
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("short image: %v", err)
	}
}

func TestUploadHeaderRoundTrip(t *testing.T) {
	h := uploadHeader{snapshotID: "snap-0123456789abcdef0", imageSize: 12345, volumeSize: 3, parent: "snap-0fedcba9876543210", zero: ZeroUpload}
	path := filepath.Join(t.TempDir(), "j")
	j, err := OpenJournal(path, h.bytes())
	if err != nil {
		t.Fatal(err)
	}
	if err := j.Append(4, [32]byte{1}); err != nil {
		t.Fatal(err)
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	got, err := peekUploadHeader(path)
	if err != nil || got != h {
		t.Fatalf("peek = %+v, %v; want %+v", got, err, h)
	}
	if _, err := peekUploadHeader(filepath.Join(t.TempDir(), "none")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing journal: %v", err)
	}
	if err := os.WriteFile(path, []byte("EBSJ"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := peekUploadHeader(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("torn journal: %v", err)
	}
}

func TestHoleMap(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sparse.img")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	const size = 64 * BlockSize
	if err := f.Truncate(size); err != nil {
		t.Fatal(err)
	}
	// Data in block 5 (a few bytes mid-block), across the 20/21 boundary,
	// and at the very end.
	for _, off := range []int64{5*BlockSize + 1000, 21*BlockSize - 10, size - 1} {
		if _, err := f.WriteAt(bytes.Repeat([]byte{1}, 20)[:min(20, size-off)], off); err != nil {
			t.Fatal(err)
		}
	}
	data := map[int64]bool{5: true, 20: true, 21: true, 63: true}
	m, err := newHoleMap(f, size)
	if err != nil {
		t.Fatal(err)
	}
	holes := 0
	for i := int64(0); i < 64; i++ {
		h := m.hole(i*BlockSize, BlockSize)
		if h && data[i] {
			t.Errorf("block %d holds data but is called a hole", i)
		}
		if h {
			holes++
		}
	}
	// A file system may allocate more than was written, never less; on
	// Linux file systems with SEEK_HOLE most of the file is a hole.
	if holes == 0 {
		t.Logf("no holes found: the file system does not report them")
	}
	if m, err := newHoleMap(bytes.NewReader(nil), 0); m != nil || err != nil {
		t.Errorf("hole map of a non-file: %v, %v; want none", m, err)
	}
}
