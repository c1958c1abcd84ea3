package pack_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"io"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/ebsd/ebsd/internal/ebs"
	"github.com/ebsd/ebsd/internal/pack"
)

// testEntry is one entry of a pack built by buildPack.
type testEntry struct {
	off  int64
	key  ebs.Digest
	data []byte
}

// buildPack returns a pack holding entries of the given sizes.
func buildPack(tb testing.TB, sizes ...int) ([]byte, []testEntry) {
	tb.Helper()
	var buf bytes.Buffer
	w, err := pack.NewWriter(&buf)
	if err != nil {
		tb.Fatalf("NewWriter: %v", err)
	}
	rng := rand.New(rand.NewPCG(uint64(len(sizes)), 1))
	var entries []testEntry
	for _, n := range sizes {
		data := make([]byte, n)
		for i := range data {
			data[i] = byte(rng.Uint32())
		}
		key := ebs.Sum(data)
		off, err := w.Append(key, data)
		if err != nil {
			tb.Fatalf("Append: %v", err)
		}
		entries = append(entries, testEntry{off, key, data})
	}
	if got, want := w.Offset(), int64(buf.Len()); got != want {
		tb.Fatalf("Offset() = %d, want %d (bytes written)", got, want)
	}
	return buf.Bytes(), entries
}

func TestRoundTrip(t *testing.T) {
	b, entries := buildPack(t, 0, 1, 4096, ebs.BlockSize, 3)
	if err := pack.ParseFileHeader(b); err != nil {
		t.Fatalf("ParseFileHeader: %v", err)
	}
	r := bytes.NewReader(b)
	for _, e := range entries {
		prefix := []byte("prefix")
		got, err := pack.ReadEntry(r, e.off, e.key, prefix)
		if err != nil {
			t.Fatalf("ReadEntry(%d): %v", e.off, err)
		}
		if want := append([]byte("prefix"), e.data...); !bytes.Equal(got, want) {
			t.Errorf("ReadEntry(%d) returned %d bytes, want prefix + %d bytes of data", e.off, len(got), len(e.data))
		}
	}

	sc := pack.NewScanner(r, pack.FileHeaderSize, int64(len(b)))
	var i int
	for ; sc.Next(); i++ {
		e := sc.Entry()
		if i >= len(entries) {
			t.Fatalf("Scanner found more than %d entries", len(entries))
		}
		if e.Offset != entries[i].off || e.Header.Key != entries[i].key || !bytes.Equal(sc.Data(), entries[i].data) {
			t.Errorf("entry %d = {%d %v %d bytes}, want {%d %v %d bytes}", i, e.Offset, e.Header.Key, len(sc.Data()),
				entries[i].off, entries[i].key, len(entries[i].data))
		}
	}
	if err := sc.Err(); err != nil {
		t.Errorf("Scanner.Err() = %v, want nil", err)
	}
	if i != len(entries) {
		t.Errorf("Scanner found %d entries, want %d", i, len(entries))
	}
	if got, want := sc.Offset(), int64(len(b)); got != want {
		t.Errorf("Scanner.Offset() = %d, want %d", got, want)
	}
}

func TestReadEntryCorrupt(t *testing.T) {
	b, entries := buildPack(t, 100, 200)
	e := entries[1]
	tests := []struct {
		name string
		flip int64 // offset of the byte to flip, relative to the entry
		key  ebs.Digest
		end  int64 // truncate the pack here, relative to the entry; 0: keep
	}{
		{name: "magic", flip: 0, key: e.key},
		{name: "version", flip: 4, key: e.key},
		{name: "codec", flip: 5, key: e.key},
		{name: "flags", flip: 6, key: e.key},
		{name: "reserved", flip: 7, key: e.key},
		{name: "key", flip: 9, key: e.key},
		{name: "stored length", flip: 41, key: e.key},
		{name: "raw length", flip: 45, key: e.key},
		{name: "data crc", flip: 49, key: e.key},
		{name: "header crc", flip: 54, key: e.key},
		{name: "first data byte", flip: pack.EntryHeaderSize, key: e.key},
		{name: "last data byte", flip: pack.EntryHeaderSize + 199, key: e.key},
		{name: "other key", flip: -1, key: entries[0].key},
		{name: "truncated data", flip: -1, key: e.key, end: pack.EntryHeaderSize + 10},
		{name: "truncated header", flip: -1, key: e.key, end: 10},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := bytes.Clone(b)
			if tc.flip >= 0 {
				c[e.off+tc.flip] ^= 0x40
			}
			if tc.end > 0 {
				c = c[:e.off+tc.end]
			}
			dst := []byte("x")
			got, err := pack.ReadEntry(bytes.NewReader(c), e.off, tc.key, dst)
			if !errors.Is(err, pack.ErrCorrupt) {
				t.Errorf("ReadEntry error = %v, want ErrCorrupt", err)
			}
			if string(got) != "x" {
				t.Errorf("ReadEntry returned %d bytes, want dst unchanged", len(got))
			}

			// The scanner keeps the first entry and stops at the second.
			sc := pack.NewScanner(bytes.NewReader(c), pack.FileHeaderSize, int64(len(c)))
			var n int
			for sc.Next() {
				n++
			}
			if tc.flip < 0 && tc.end == 0 {
				// Nothing is damaged: only the key asked for was wrong.
				if err := sc.Err(); err != nil || n != 2 {
					t.Errorf("Scanner: %d entries, Err() = %v; want 2, nil", n, err)
				}
				return
			}
			if err := sc.Err(); !errors.Is(err, pack.ErrCorrupt) {
				t.Errorf("Scanner.Err() = %v, want ErrCorrupt", err)
			}
			if n != 1 || sc.Offset() != e.off {
				t.Errorf("Scanner: %d entries up to %d, want 1 up to %d", n, sc.Offset(), e.off)
			}
		})
	}
}

// errReaderAt fails every read with err.
type errReaderAt struct{ err error }

func (r errReaderAt) ReadAt([]byte, int64) (int, error) { return 0, r.err }

func TestReadErrorIsNotCorruption(t *testing.T) {
	ioErr := errors.New("disk on fire")
	_, err := pack.ReadEntry(errReaderAt{ioErr}, pack.FileHeaderSize, ebs.Digest{}, nil)
	if !errors.Is(err, ioErr) || errors.Is(err, pack.ErrCorrupt) {
		t.Errorf("ReadEntry error = %v, want the reader's error and not ErrCorrupt", err)
	}
	sc := pack.NewScanner(errReaderAt{ioErr}, pack.FileHeaderSize, 1000)
	if sc.Next() {
		t.Fatal("Scanner.Next() = true on a failing reader")
	}
	if err := sc.Err(); !errors.Is(err, ioErr) || errors.Is(err, pack.ErrCorrupt) {
		t.Errorf("Scanner.Err() = %v, want the reader's error and not ErrCorrupt", err)
	}
}

func TestParseFileHeader(t *testing.T) {
	good := pack.AppendFileHeader(nil)
	withVersion := func(v uint32) []byte {
		b := bytes.Clone(good)
		binary.LittleEndian.PutUint32(b[8:], v)
		binary.LittleEndian.PutUint32(b[12:], crc32.Checksum(b[:12], crc32.MakeTable(crc32.Castagnoli)))
		return b
	}
	otherVersion := withVersion(3)
	badCRC := bytes.Clone(good)
	badCRC[9] ^= 1
	badMagic := bytes.Clone(good)
	badMagic[0] = 'X'
	tests := []struct {
		name string
		b    []byte
		want error
	}{
		{"good", good, nil},
		{"version 1", withVersion(1), nil},
		{"version 0", withVersion(0), pack.ErrVersion},
		{"good with entries after it", append(bytes.Clone(good), 1, 2, 3), nil},
		{"empty", nil, pack.ErrCorrupt},
		{"short", good[:15], pack.ErrCorrupt},
		{"bad magic", badMagic, pack.ErrCorrupt},
		{"bad checksum", badCRC, pack.ErrCorrupt},
		{"other version", otherVersion, pack.ErrVersion},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := pack.ParseFileHeader(tc.b)
			if tc.want == nil && err != nil || tc.want != nil && !errors.Is(err, tc.want) {
				t.Errorf("ParseFileHeader = %v, want %v", err, tc.want)
			}
		})
	}
}

// failingWriter accepts n bytes, then fails.
type failingWriter struct {
	n   int
	buf bytes.Buffer
}

func (w *failingWriter) Write(b []byte) (int, error) {
	if len(b) > w.n {
		w.buf.Write(b[:w.n])
		w.n = 0
		return 0, io.ErrShortWrite
	}
	w.n -= len(b)
	return w.buf.Write(b)
}

func TestWriterStopsAfterError(t *testing.T) {
	fw := &failingWriter{n: pack.FileHeaderSize + pack.EntryHeaderSize + 10 + pack.EntryHeaderSize + 5}
	w, err := pack.NewWriter(fw)
	if err != nil {
		t.Fatalf("NewWriter: %v", err)
	}
	if _, err := w.Append(ebs.Sum([]byte("0123456789")), []byte("0123456789")); err != nil {
		t.Fatalf("first Append: %v", err)
	}
	end := w.Offset()
	if _, err := w.Append(ebs.Digest{1}, make([]byte, 100)); !errors.Is(err, io.ErrShortWrite) {
		t.Fatalf("second Append error = %v, want io.ErrShortWrite", err)
	}
	if _, err := w.Append(ebs.Digest{2}, nil); err == nil {
		t.Fatal("Append after a failed Append succeeded")
	}
	if w.Offset() != end {
		t.Errorf("Offset() = %d after failures, want %d", w.Offset(), end)
	}
	// What reached the writer is a valid entry followed by a torn tail.
	b := fw.buf.Bytes()
	sc := pack.NewScanner(bytes.NewReader(b), pack.FileHeaderSize, int64(len(b)))
	for sc.Next() {
	}
	if !errors.Is(sc.Err(), pack.ErrCorrupt) || sc.Offset() != end {
		t.Errorf("Scanner stopped at %d with %v, want %d with ErrCorrupt", sc.Offset(), sc.Err(), end)
	}
}

// TestAppendRefuses checks that entries refused before any write leave the
// Writer usable.
func TestAppendRefuses(t *testing.T) {
	var buf bytes.Buffer
	w, err := pack.NewWriter(&buf)
	if err != nil {
		t.Fatalf("NewWriter: %v", err)
	}
	if _, err := w.Append(ebs.Digest{}, make([]byte, pack.MaxDataLen+1)); err == nil {
		t.Error("Append of MaxDataLen+1 bytes succeeded")
	}
	h := pack.NewEntryHeader(ebs.Digest{}, []byte("four"))
	if _, err := w.AppendEntry(h, []byte("five!")); err == nil {
		t.Error("AppendEntry with a header of another length succeeded")
	}
	if buf.Len() != pack.FileHeaderSize {
		t.Errorf("refused entries wrote %d bytes", buf.Len()-pack.FileHeaderSize)
	}
	if _, err := w.AppendEntry(h, []byte("four")); err != nil {
		t.Errorf("AppendEntry after refusals: %v", err)
	}
}

// TestSkip damages one entry in the middle of a pack in various ways and
// checks that a scan with Skip finds every other entry, and reports
// exactly the damaged bytes.
func TestSkip(t *testing.T) {
	b, entries := buildPack(t, 100, 5000, 300, 7000, 40, 2000)
	const hit = 2 // the damaged entry
	e := entries[hit]
	next := entries[hit+1].off
	tests := []struct {
		name     string
		damage   func(b []byte) []byte
		lost     []int // the entries damaged
		from, to int64 // the bytes Skip must report as damaged
	}{
		{"data byte flipped: the header's length is trusted", func(b []byte) []byte {
			b[e.off+pack.EntryHeaderSize+10] ^= 1
			return b
		}, []int{hit}, e.off, next},
		{"header byte flipped: searched", func(b []byte) []byte {
			b[e.off+20] ^= 1
			return b
		}, []int{hit}, e.off, next},
		{"magic zeroed", func(b []byte) []byte {
			copy(b[e.off:], "\x00\x00\x00\x00")
			return b
		}, []int{hit}, e.off, next},
		{"length grown: header checksum fails", func(b []byte) []byte {
			b[e.off+41]++
			return b
		}, []int{hit}, e.off, next},
		{"zeros over the end of one entry and the start of the next", func(b []byte) []byte {
			clear(b[next-50 : next+30])
			return b
		}, []int{hit, hit + 1}, e.off, entries[hit+2].off},
		{"garbage holding the magic, then an entry with a bad data checksum", func(b []byte) []byte {
			garbage := bytes.Repeat([]byte("EBSE not an entry "), 7)[:123]
			b = slices.Concat(b[:e.off], garbage, b[e.off:])
			b[e.off+123+pack.EntryHeaderSize] ^= 1
			return b
		}, []int{hit}, e.off, next + 123},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := tc.damage(bytes.Clone(b))
			sc := pack.NewScanner(bytes.NewReader(c), pack.FileHeaderSize, int64(len(c)))
			var got []ebs.Digest
			var damaged [][2]int64
			for {
				for sc.Next() {
					got = append(got, sc.Entry().Header.Key)
				}
				if !errors.Is(sc.Err(), pack.ErrCorrupt) {
					break
				}
				from := sc.Offset()
				if !sc.Skip() {
					t.Fatalf("Skip at %d found nothing after it (Err %v)", from, sc.Err())
				}
				if n := len(damaged); n > 0 && damaged[n-1][1] == from {
					damaged[n-1][1] = sc.Offset() // adjacent damage, reported in steps
				} else {
					damaged = append(damaged, [2]int64{from, sc.Offset()})
				}
			}
			if err := sc.Err(); err != nil {
				t.Fatalf("Err() = %v after the scan, want nil", err)
			}
			var want []ebs.Digest
			for i, e := range entries {
				if !slices.Contains(tc.lost, i) {
					want = append(want, e.key)
				}
			}
			if !slices.Equal(got, want) {
				t.Errorf("scan found %d entries, want the %d undamaged ones", len(got), len(want))
			}
			if len(damaged) != 1 || damaged[0] != [2]int64{tc.from, tc.to} {
				t.Errorf("damaged ranges %v, want [%d, %d)", damaged, tc.from, tc.to)
			}
		})
	}
}

// TestSkipTornTail checks that Skip finds nothing after a torn last entry,
// and never searches inside the data of an entry whose header checks out:
// a block's content may hold bytes that look like entries.
func TestSkipTornTail(t *testing.T) {
	b, entries := buildPack(t, 100, 200)
	inner := encodeEntry(ebs.Sum([]byte("inner")), []byte("inner"))
	data := slices.Concat(make([]byte, 10), inner, make([]byte, 10))
	outer := encodeEntry(ebs.Sum(data), data)
	torn := slices.Concat(b, outer[:len(outer)-5]) // its last bytes never written
	for _, tc := range []struct {
		name string
		b    []byte
	}{
		{"header whole, data cut short", torn},
		{"header cut short", slices.Concat(b, outer[:30])},
		{"zeros", slices.Concat(b, make([]byte, 5000))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sc := pack.NewScanner(bytes.NewReader(tc.b), pack.FileHeaderSize, int64(len(tc.b)))
			n := 0
			for sc.Next() {
				n++
			}
			end := sc.Offset()
			if sc.Skip() {
				t.Fatalf("Skip moved from %d to %d in a torn tail", end, sc.Offset())
			}
			if n != len(entries) || end != int64(len(b)) || sc.Offset() != end || !errors.Is(sc.Err(), pack.ErrCorrupt) {
				t.Errorf("%d entries up to %d, Offset %d, Err %v; want %d up to %d, ErrCorrupt", n, end, sc.Offset(), sc.Err(), len(entries), len(b))
			}
		})
	}
}

// encodeEntry returns the bytes of a complete entry.
func encodeEntry(key ebs.Digest, data []byte) []byte {
	return append(pack.NewEntryHeader(key, data).Append(nil), data...)
}
