package pack_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/ebsd/ebsd/internal/ebs"
	"github.com/ebsd/ebsd/internal/pack"
)

// randomBytes returns n pseudo-random bytes from seed.
func randomBytes(n int, seed uint64) []byte {
	rng := rand.New(rand.NewPCG(seed, 7))
	b := make([]byte, n)
	for i := 0; i < n; i += 8 {
		binary.LittleEndian.PutUint64(b[i:], rng.Uint64())
	}
	return b
}

// textBytes returns n bytes of varied English-like text.
func textBytes(n int, seed uint64) []byte {
	words := []string{"block", "snapshot", "the", "of", "pack", "entry", "zstd", "ebsd", "volume", "a", "durable", "index", "\n"}
	rng := rand.New(rand.NewPCG(seed, 3))
	var b bytes.Buffer
	for b.Len() < n {
		b.WriteString(words[rng.IntN(len(words))])
		b.WriteByte(' ')
	}
	return b.Bytes()[:n]
}

// compressionCases are blocks of 512 KiB and whether an Encoder stores
// them compressed.
func compressionCases() []struct {
	name string
	data []byte
	zstd bool
} {
	const n = ebs.BlockSize
	nearlyZero := make([]byte, n) // zeros, but not the zero block
	nearlyZero[n/2] = 1
	ones := bytes.Repeat([]byte{1}, n)
	half := slices.Concat(randomBytes(n/2, 1), textBytes(n/2, 1))
	// Random but for the last 1/32 (under the 1/16 threshold) or 1/8.
	little := slices.Concat(randomBytes(n-n/32, 2), make([]byte, n/32))
	eighth := slices.Concat(randomBytes(n-n/8, 3), make([]byte, n/8))
	return []struct {
		name string
		data []byte
		zstd bool
	}{
		{"random", randomBytes(n, 4), false},
		{"nearly zero", nearlyZero, true},
		{"all ones", ones, true},
		{"text", textBytes(n, 5), true},
		{"half random, half text", half, true},
		{"random but 1/32 zeros", little, false},
		{"random but 1/8 zeros", eighth, true},
		{"small text", textBytes(2000, 6), true},
		{"tiny text", textBytes(100, 6), false}, // the frame's overhead eats the saving
		{"one byte", []byte{7}, false},
		{"empty", nil, false},
	}
}

func newEncoder(tb testing.TB) *pack.Encoder {
	tb.Helper()
	e, err := pack.NewEncoder(pack.SpeedFastest)
	if err != nil {
		tb.Fatal(err)
	}
	return e
}

// TestZstdRoundTrip encodes each case as an entry, appends it to a pack
// and reads it back: compressible blocks are CodecZstd entries with the
// raw length in their header and a data CRC of the stored frame, the rest
// CodecNone; every read returns the raw bytes after the caller's prefix.
func TestZstdRoundTrip(t *testing.T) {
	enc := newEncoder(t)
	for _, tc := range compressionCases() {
		t.Run(tc.name, func(t *testing.T) {
			key := ebs.Sum(tc.data)
			h, stored := enc.EncodeEntry(key, tc.data, nil)
			wantCodec := pack.CodecNone
			if tc.zstd {
				wantCodec = pack.CodecZstd
			}
			if h.Codec != wantCodec || int(h.RawLen) != len(tc.data) || int(h.Len) != len(stored) ||
				h.DataCRC != crc32.Checksum(stored, castagnoli) || h.Key != key {
				t.Fatalf("header %+v for %d stored bytes; want codec %d, raw length %d", h, len(stored), wantCodec, len(tc.data))
			}
			if tc.zstd && len(stored) > len(tc.data)-len(tc.data)/16 {
				t.Errorf("stored %d of %d bytes compressed: saves less than 1/16", len(stored), len(tc.data))
			}
			var buf bytes.Buffer
			w, err := pack.NewWriter(&buf)
			if err != nil {
				t.Fatal(err)
			}
			off, err := w.AppendEntry(h, stored)
			if err != nil {
				t.Fatal(err)
			}
			b := buf.Bytes()
			if b[off+5] != byte(wantCodec) {
				t.Errorf("codec byte %d, want %d", b[off+5], wantCodec)
			}
			got, err := pack.ReadEntry(bytes.NewReader(b), off, key, []byte("prefix"))
			if err != nil || !bytes.Equal(got, append([]byte("prefix"), tc.data...)) {
				t.Fatalf("ReadEntry = %d bytes, %v; want the prefix and the %d raw bytes", len(got), err, len(tc.data))
			}
			sc := pack.NewScanner(bytes.NewReader(b), pack.FileHeaderSize, int64(len(b)))
			if !sc.Next() || sc.Entry().Header != h || !bytes.Equal(sc.Data(), stored) || sc.Next() || sc.Err() != nil {
				t.Errorf("scan: %+v, %v; want the entry with its stored bytes", sc.Entry(), sc.Err())
			}
		})
	}
}

// TestZstdReadIntoCallerBuffer checks that a compressed entry decodes
// into the caller's buffer: no allocation once the read buffers are warm.
func TestZstdReadIntoCallerBuffer(t *testing.T) {
	data := textBytes(ebs.BlockSize, 9)
	key := ebs.Sum(data)
	h, stored := newEncoder(t).EncodeEntry(key, data, nil)
	if h.Codec != pack.CodecZstd {
		t.Fatal("text not compressed")
	}
	b := slices.Concat(pack.AppendFileHeader(nil), h.Append(nil), stored)
	r := bytes.NewReader(b)
	dst := make([]byte, 0, ebs.BlockSize)
	allocs := testing.AllocsPerRun(20, func() {
		got, err := pack.ReadEntry(r, pack.FileHeaderSize, key, dst)
		if err != nil || &got[0] != &dst[:1][0] || !bytes.Equal(got, data) {
			t.Fatalf("ReadEntry = %d bytes, %v; want the block in dst's array", len(got), err)
		}
	})
	if allocs > 1 && !raceEnabled {
		t.Errorf("ReadEntry allocates %.0f times per read into a buffer with room", allocs)
	}
}

// reencode returns a zstd entry for key whose stored bytes are stored
// and whose raw length is rawLen, with checksums that verify: damage that
// the entry's CRC cannot see.
func reencode(key ebs.Digest, stored []byte, rawLen int) []byte {
	h := pack.NewCodedEntryHeader(key, pack.CodecZstd, stored, rawLen)
	return slices.Concat(pack.AppendFileHeader(nil), h.Append(nil), stored)
}

// TestZstdCorrupt damages compressed entries in every way: each read is
// ErrCorrupt and returns dst unchanged, never other bytes.
func TestZstdCorrupt(t *testing.T) {
	data := textBytes(ebs.BlockSize, 10)
	key := ebs.Sum(data)
	h, stored := newEncoder(t).EncodeEntry(key, data, nil)
	if h.Codec != pack.CodecZstd {
		t.Fatal("text not compressed")
	}
	good := reencode(key, stored, len(data))
	flip := func(b []byte, i int) []byte { c := bytes.Clone(b); c[i] ^= 0x40; return c }
	hdr := pack.FileHeaderSize + pack.EntryHeaderSize
	tests := []struct {
		name string
		pack []byte
	}{
		{"a stored byte flipped", flip(good, hdr+len(stored)/2)},
		{"a frame byte flipped, entry CRC fixed", reencode(key, flip(stored, len(stored)/2), len(data))},
		{"the frame's last byte (its checksum) flipped, entry CRC fixed", reencode(key, flip(stored, len(stored)-1), len(data))},
		{"frame magic flipped, entry CRC fixed", reencode(key, flip(stored, 0), len(data))},
		{"frame cut short, entry CRC fixed", reencode(key, stored[:len(stored)-10], len(data))},
		{"raw length one more", reencode(key, stored, len(data)+1)},
		{"raw length one less", reencode(key, stored, len(data)-1)},
		{"raw length zero", reencode(key, stored, 0)},
		{"not zstd at all", reencode(key, textBytes(1000, 1), len(data))},
		{"two frames", reencode(key, slices.Concat(stored, stored), len(data))},
		{"empty", reencode(key, nil, len(data))},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dst := []byte("dst")
			got, err := pack.ReadEntry(bytes.NewReader(tc.pack), pack.FileHeaderSize, key, dst)
			if !errors.Is(err, pack.ErrCorrupt) || !bytes.Equal(got, []byte("dst")) {
				t.Errorf("ReadEntry = %d bytes, %v; want dst unchanged and ErrCorrupt", len(got), err)
			}
		})
	}
}

// TestZstdDamageNeverWrongData flips one byte at a time all over a
// compressed entry's frame, of each Encoder ebsd uses, with the entry's CRC fixed so that only the
// decoder can tell: every read fails with ErrCorrupt or returns the
// original block, never other bytes. The frame's content checksum is what
// catches a flip the decoder alone would decode.
func TestZstdDamageNeverWrongData(t *testing.T) {
	readFast, err := pack.NewReadFastEncoder()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		enc  *pack.Encoder
	}{{"fastest", newEncoder(t)}, {"read-fast", readFast}} {
		t.Run(tc.name, func(t *testing.T) { damageNeverWrongData(t, tc.enc) })
	}
}

func damageNeverWrongData(t *testing.T, enc *pack.Encoder) {
	data := slices.Concat(textBytes(ebs.BlockSize/2, 11), randomBytes(ebs.BlockSize/4, 11), make([]byte, ebs.BlockSize/4))
	key := ebs.Sum(data)
	h, stored := enc.EncodeEntry(key, data, nil)
	if h.Codec != pack.CodecZstd {
		t.Fatal("not compressed")
	}
	step := max(1, len(stored)/500)
	var failed int
	for i := 0; i < len(stored); i += step {
		for _, bit := range []byte{0x01, 0x80} {
			c := bytes.Clone(stored)
			c[i] ^= bit
			got, err := pack.ReadEntry(bytes.NewReader(reencode(key, c, len(data))), pack.FileHeaderSize, key, nil)
			switch {
			case err == nil && !bytes.Equal(got, data):
				t.Fatalf("byte %d of %d flipped (%#x): ReadEntry returned other bytes", i, len(stored), bit)
			case err != nil && !errors.Is(err, pack.ErrCorrupt):
				t.Fatalf("byte %d flipped: %v, want ErrCorrupt", i, err)
			case err != nil:
				failed++
			}
		}
	}
	if failed == 0 {
		t.Fatal("no flip was detected")
	}
}

// TestIncompressible checks the sampling that spares a compression
// attempt: it must see random data as such, and never miss compressible
// data a sample falls into.
func TestIncompressible(t *testing.T) {
	tests := []struct {
		name string
		data []byte
		want bool
	}{
		{"random", randomBytes(ebs.BlockSize, 1), true},
		{"random, small", randomBytes(1024, 1), true},
		{"text", textBytes(ebs.BlockSize, 1), false},
		{"random then 64 KiB of zeros", slices.Concat(randomBytes(ebs.BlockSize-64<<10, 1), make([]byte, 64<<10)), false},
		{"64 KiB of text then random", slices.Concat(textBytes(64<<10, 1), randomBytes(ebs.BlockSize-64<<10, 1)), false},
		{"zeros", make([]byte, ebs.BlockSize), false},
	}
	for _, tc := range tests {
		if got := pack.Incompressible(tc.data); got != tc.want {
			t.Errorf("%s: Incompressible = %v, want %v", tc.name, got, tc.want)
		}
	}
}

// v2ZstdData returns the raw data of entry i of testdata/v2-zstd.pack.
func v2ZstdData(i int) []byte {
	switch i {
	case 0:
		return textBytes(64<<10, 100) // compressed
	case 1:
		return randomBytes(1000, 101) // stored as is
	default:
		return slices.Concat(make([]byte, 1000), textBytes(9000, 102)) // compressed
	}
}

// TestV2ZstdReadable reads testdata/v2-zstd.pack, written by the first
// code that wrote zstd entries: whatever the encoder writes later, these
// bytes must keep reading back. EBSD_PACK_UPDATE=1 rewrites the file.
func TestV2ZstdReadable(t *testing.T) {
	path := filepath.Join("testdata", "v2-zstd.pack")
	if os.Getenv("EBSD_PACK_UPDATE") == "1" {
		var buf bytes.Buffer
		w, err := pack.NewWriter(&buf)
		if err != nil {
			t.Fatal(err)
		}
		enc := newEncoder(t)
		for i := range 3 {
			data := v2ZstdData(i)
			if _, err := w.AppendEntry(enc.EncodeEntry(ebs.Sum(data), data, nil)); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	b := readTestdata(t, "v2-zstd.pack")
	r := bytes.NewReader(b)
	sc := pack.NewScanner(r, pack.FileHeaderSize, int64(len(b)))
	codecs := []pack.Codec{pack.CodecZstd, pack.CodecNone, pack.CodecZstd}
	i := 0
	for ; sc.Next(); i++ {
		e, want := sc.Entry(), v2ZstdData(i)
		if e.Header.Version != 2 || e.Header.Codec != codecs[i] || int(e.Header.RawLen) != len(want) {
			t.Errorf("entry %d: %+v; want version 2, codec %d, raw length %d", i, e.Header, codecs[i], len(want))
		}
		got, err := pack.ReadEntry(r, e.Offset, ebs.Sum(want), nil)
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("entry %d: ReadEntry = %d bytes, %v; want its %d bytes", i, len(got), err, len(want))
		}
	}
	if i != 3 || sc.Err() != nil {
		t.Errorf("scan: %d entries, %v; want 3, nil", i, sc.Err())
	}
}

// FuzzDecompress feeds arbitrary frames to Decompress: it must never
// panic, and either return ErrCorrupt with dst unchanged or exactly
// rawLen more bytes after dst's.
func FuzzDecompress(f *testing.F) {
	enc := newEncoder(f)
	for _, tc := range compressionCases() {
		if out, ok := enc.Compress(nil, tc.data); ok && len(tc.data) < 1<<20 {
			f.Add(out, len(tc.data))
			f.Add(out[:len(out)/2], len(tc.data))
		}
	}
	f.Add([]byte{}, 0)
	f.Add([]byte{0x28, 0xb5, 0x2f, 0xfd}, 10)
	f.Fuzz(func(t *testing.T, frame []byte, rawLen int) {
		if rawLen > 1<<20 {
			rawLen %= 1 << 20 // keep the fuzzer's allocations small
		}
		dst := []byte("dst")
		got, err := pack.Decompress(dst, frame, rawLen)
		switch {
		case err != nil && (!errors.Is(err, pack.ErrCorrupt) || !bytes.Equal(got, []byte("dst"))):
			t.Fatalf("Decompress = %d bytes, %v; want dst unchanged and ErrCorrupt", len(got), err)
		case err == nil && (len(got) != 3+rawLen || string(got[:3]) != "dst"):
			t.Fatalf("Decompress = %d bytes; want dst and %d more", len(got), rawLen)
		}
	})
}

// ExampleEncoder_Compress shows what compression saves on text.
func ExampleEncoder_Compress() {
	enc, _ := pack.NewEncoder(pack.SpeedFastest)
	text := bytes.Repeat([]byte("ebsd stores 512 KiB blocks. "), 1000)
	frame, ok := enc.Compress(nil, text)
	raw, _ := pack.Decompress(nil, frame, len(text))
	fmt.Println(ok, len(frame) < len(text)/10, bytes.Equal(raw, text))
	// Output: true true true
}
