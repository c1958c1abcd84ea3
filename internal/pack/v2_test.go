package pack_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ebsd/ebsd/internal/ebs"
	"github.com/ebsd/ebsd/internal/pack"
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// readTestdata returns the bytes of testdata/name.
func readTestdata(tb testing.TB, name string) []byte {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// v1Data returns the data of entry i of testdata/v1.pack, which the pack
// code of version 1 (commit 763e95a) wrote with entries of 0, 1, 100 and
// 5000 bytes.
func v1Data(i int) []byte {
	n := []int{0, 1, 100, 5000}[i]
	return bytes.Repeat([]byte(fmt.Sprintf("ebsd pack v1 entry %d;", i)), n)[:n]
}

// encodeV1Entry returns a version 1 entry, encoded from the format's
// description in doc.go: the package writes version 2 only.
func encodeV1Entry(key ebs.Digest, data []byte) []byte {
	b := append([]byte("EBSE"), 1, 0, 0, 0)
	b = append(b, key[:]...)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(data)))
	b = binary.LittleEndian.AppendUint32(b, crc32.Checksum(data, castagnoli))
	b = binary.LittleEndian.AppendUint32(b, crc32.Checksum(b, castagnoli))
	return append(b, data...)
}

// v1File returns a version 1 file header.
func v1File() []byte {
	b := binary.LittleEndian.AppendUint32([]byte("EBSDPACK"), 1)
	return binary.LittleEndian.AppendUint32(b, crc32.Checksum(b, castagnoli))
}

// unsupportedEntry returns a version 2 entry whose checksums verify but
// whose codec, flags or reserved byte this package does not know: what a
// newer writer could write.
func unsupportedEntry(tb testing.TB, codec, flags, reserved byte) []byte {
	tb.Helper()
	data := []byte("bytes of a codec from the future")
	b := pack.NewEntryHeader(ebs.Sum(data), data).Append(nil)
	b[5], b[6], b[7] = codec, flags, reserved
	binary.LittleEndian.PutUint32(b[52:], crc32.Checksum(b[:52], castagnoli))
	return append(b, data...)
}

// TestV1Readable reads a pack written by the version 1 code: every entry
// scans and reads back, with its 52-byte header.
func TestV1Readable(t *testing.T) {
	b := readTestdata(t, "v1.pack")
	if v, err := pack.FileVersion(b); v != 1 || err != nil {
		t.Fatalf("FileVersion = %d, %v; want 1, nil", v, err)
	}
	r := bytes.NewReader(b)
	sc := pack.NewScanner(r, pack.FileHeaderSize, int64(len(b)))
	off := int64(pack.FileHeaderSize)
	i := 0
	for ; sc.Next(); i++ {
		e, want := sc.Entry(), v1Data(i)
		h := e.Header
		if e.Offset != off || h.Version != 1 || h.Codec != pack.CodecNone || h.Key != ebs.Sum(want) ||
			int(h.Len) != len(want) || int(h.RawLen) != len(want) || h.HeaderSize() != 52 || !bytes.Equal(sc.Data(), want) {
			t.Errorf("entry %d = %+v at %d, want version 1 of %d bytes at %d", i, h, e.Offset, len(want), off)
		}
		got, err := pack.ReadEntry(r, e.Offset, h.Key, nil)
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("ReadEntry(entry %d) = %d bytes, %v", i, len(got), err)
		}
		off += 52 + int64(len(want))
	}
	if sc.Err() != nil || i != 4 || sc.Offset() != int64(len(b)) {
		t.Errorf("scan: %d entries up to %d, %v; want 4 up to %d, nil", i, sc.Offset(), sc.Err(), len(b))
	}
}

// TestV1Damage checks that damage in a version 1 pack is skipped as in a
// version 2 one: the length of a header that checks out is trusted, and
// otherwise the next valid version 1 entry is searched for.
func TestV1Damage(t *testing.T) {
	b := v1File()
	var offs []int
	for i := range 4 {
		offs = append(offs, len(b))
		data := bytes.Repeat([]byte{byte('a' + i)}, 300)
		b = append(b, encodeV1Entry(ebs.Sum(data), data)...)
	}
	for _, flip := range []int{10, 52 + 7} { // in the key; in the data
		t.Run(fmt.Sprint(flip), func(t *testing.T) {
			c := bytes.Clone(b)
			c[offs[1]+flip] ^= 1
			sc := pack.NewScanner(bytes.NewReader(c), pack.FileHeaderSize, int64(len(c)))
			var found []int64
			for {
				for sc.Next() {
					found = append(found, sc.Entry().Offset)
				}
				if !errors.Is(sc.Err(), pack.ErrCorrupt) || !sc.Skip() {
					break
				}
			}
			if want := []int64{int64(offs[0]), int64(offs[2]), int64(offs[3])}; !slices.Equal(found, want) || sc.Err() != nil {
				t.Errorf("found entries at %v, %v; want %v, nil", found, sc.Err(), want)
			}
		})
	}
}

// TestV2HeaderLayout decodes a written header by the layout of doc.go.
func TestV2HeaderLayout(t *testing.T) {
	data := []byte("some block")
	key := ebs.Sum(data)
	var buf bytes.Buffer
	w, err := pack.NewWriter(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Append(key, data); err != nil {
		t.Fatal(err)
	}
	b := buf.Bytes()
	if v, err := pack.FileVersion(b); v != 2 || err != nil {
		t.Fatalf("FileVersion = %d, %v; want 2, nil", v, err)
	}
	e := b[pack.FileHeaderSize:]
	le := binary.LittleEndian
	switch {
	case len(e) != 56+len(data) || pack.EntryHeaderSize != 56:
		t.Fatalf("entry of %d bytes, want 56 + %d", len(e), len(data))
	case string(e[:4]) != "EBSE" || e[4] != 2 || e[5] != 0 || e[6] != 0 || e[7] != 0:
		t.Errorf("magic, version, codec, flags, reserved = %q %d %d %d %d; want EBSE 2 0 0 0", e[:4], e[4], e[5], e[6], e[7])
	case !bytes.Equal(e[8:40], key[:]):
		t.Error("key is not at 8")
	case le.Uint32(e[40:]) != uint32(len(data)) || le.Uint32(e[44:]) != uint32(len(data)):
		t.Errorf("stored, raw length = %d, %d; want %d, %d", le.Uint32(e[40:]), le.Uint32(e[44:]), len(data), len(data))
	case le.Uint32(e[48:]) != crc32.Checksum(data, castagnoli) || le.Uint32(e[52:]) != crc32.Checksum(e[:52], castagnoli):
		t.Error("data or header CRC wrong")
	case !bytes.Equal(e[56:], data):
		t.Error("data is not at 56")
	}
}

// TestUnsupportedEncoding checks that an entry a newer writer could write
// (another codec, a flag, the reserved byte) is ErrUnsupported, never
// ErrCorrupt, and that a scan stops at it and never skips it, even when it
// follows damage.
func TestUnsupportedEncoding(t *testing.T) {
	good, entries := buildPack(t, 100, 200)
	tests := []struct {
		name                   string
		codec, flags, reserved byte
	}{
		{"next codec", byte(pack.CodecZstd) + 1, 0, 0},
		{"unknown codec", 7, 0, 0},
		{"flag", 0, 1, 0},
		{"reserved byte", 0, 0, 0x80},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			u := unsupportedEntry(t, tc.codec, tc.flags, tc.reserved)
			off := int64(len(good))
			b := slices.Concat(good, u, good[pack.FileHeaderSize:])
			h, err := pack.ParseEntryHeader(u)
			if !errors.Is(err, pack.ErrUnsupported) || errors.Is(err, pack.ErrCorrupt) || h.Key != ebs.Sum(u[56:]) {
				t.Errorf("ParseEntryHeader = %v (key %v); want ErrUnsupported with the header", err, h.Key)
			}
			if err != nil && !strings.Contains(err.Error(), "upgrade ebsd") {
				t.Errorf("ParseEntryHeader = %v; want a message that says to upgrade", err)
			}
			if _, err := pack.ReadEntry(bytes.NewReader(b), off, h.Key, nil); !errors.Is(err, pack.ErrUnsupported) || errors.Is(err, pack.ErrCorrupt) {
				t.Errorf("ReadEntry = %v, want ErrUnsupported and not ErrCorrupt", err)
			}
			sc := pack.NewScanner(bytes.NewReader(b), pack.FileHeaderSize, int64(len(b)))
			n := 0
			for sc.Next() {
				n++
			}
			if n != len(entries) || sc.Offset() != off || !errors.Is(sc.Err(), pack.ErrUnsupported) || errors.Is(sc.Err(), pack.ErrCorrupt) {
				t.Errorf("scan: %d entries up to %d, %v; want %d up to %d, ErrUnsupported", n, sc.Offset(), sc.Err(), len(entries), off)
			}
			if sc.Skip() || sc.Offset() != off {
				t.Errorf("Skip moved past the unsupported entry to %d", sc.Offset())
			}

			// After damage, the search for the next valid entry stops at it.
			d := bytes.Clone(b)
			d[entries[1].off+20] ^= 1 // the second entry's header
			sc = pack.NewScanner(bytes.NewReader(d), pack.FileHeaderSize, int64(len(d)))
			for sc.Next() {
			}
			if !sc.Skip() || sc.Offset() != off || sc.Next() || !errors.Is(sc.Err(), pack.ErrUnsupported) {
				t.Errorf("after damage: Skip to %d, then %v; want %d, ErrUnsupported", sc.Offset(), sc.Err(), off)
			}
		})
	}

	// Writers refuse what readers could not read.
	var buf bytes.Buffer
	w, err := pack.NewWriter(&buf)
	if err != nil {
		t.Fatal(err)
	}
	data := []byte("x")
	if _, err := w.AppendEntry(pack.NewCodedEntryHeader(ebs.Sum(data), pack.CodecZstd+1, data, 1), data); !errors.Is(err, pack.ErrUnsupported) {
		t.Errorf("AppendEntry(codec 2) = %v, want ErrUnsupported", err)
	}
	if _, err := w.AppendEntry(pack.NewCodedEntryHeader(ebs.Sum(data), pack.CodecNone, data, 2), data); err == nil {
		t.Error("AppendEntry(stored as is, raw length 2, 1 byte) succeeded")
	}
	if buf.Len() != pack.FileHeaderSize {
		t.Errorf("refused entries wrote %d bytes", buf.Len()-pack.FileHeaderSize)
	}
}

// TestRawLengthOfStoredEntry checks that an entry stored as is whose raw
// length differs from its stored length is corrupt, even with checksums
// that verify: no writer writes one.
func TestRawLengthOfStoredEntry(t *testing.T) {
	data := []byte("abc")
	b := pack.NewEntryHeader(ebs.Sum(data), data).Append(nil)
	binary.LittleEndian.PutUint32(b[44:], 4)
	binary.LittleEndian.PutUint32(b[52:], crc32.Checksum(b[:52], castagnoli))
	if _, err := pack.ParseEntryHeader(b); !errors.Is(err, pack.ErrCorrupt) {
		t.Errorf("ParseEntryHeader = %v, want ErrCorrupt", err)
	}
}

// TestCopyV1ToV2 appends the entries of a version 1 pack, headers as read,
// to a new pack: they are written as version 2 with the same content, as
// compaction migrates packs.
func TestCopyV1ToV2(t *testing.T) {
	old := readTestdata(t, "v1.pack")
	var buf bytes.Buffer
	w, err := pack.NewWriter(&buf)
	if err != nil {
		t.Fatal(err)
	}
	sc := pack.NewScanner(bytes.NewReader(old), pack.FileHeaderSize, int64(len(old)))
	var offs []int64
	for sc.Next() {
		off, err := w.AppendEntry(sc.Entry().Header, sc.Data())
		if err != nil {
			t.Fatal(err)
		}
		offs = append(offs, off)
	}
	if sc.Err() != nil || len(offs) != 4 {
		t.Fatalf("scan of v1: %d entries, %v", len(offs), sc.Err())
	}
	b := buf.Bytes()
	if int64(len(b)) != w.Offset() || len(b) != len(old)+4*4 {
		t.Errorf("new pack of %d bytes (Offset %d), want %d: 4 more per entry", len(b), w.Offset(), len(old)+16)
	}
	for i, off := range offs {
		want := v1Data(i)
		h, err := pack.ParseEntryHeader(b[off:])
		if err != nil || h.Version != 2 {
			t.Errorf("entry %d: version %d, %v; want 2", i, h.Version, err)
		}
		if got, err := pack.ReadEntry(bytes.NewReader(b), off, ebs.Sum(want), nil); err != nil || !bytes.Equal(got, want) {
			t.Errorf("ReadEntry(entry %d) = %d bytes, %v", i, len(got), err)
		}
	}
}
