package pack_test

import (
	"bytes"
	"errors"
	"hash/crc32"
	"testing"

	"github.com/ebsd/ebsd/internal/pack"
)

// FuzzScan feeds arbitrary bytes to the readers as a pack. They must never
// panic, and every entry they accept must be intact: its header checksum
// and its data checksum verify, independently of the package's own code.
func FuzzScan(f *testing.F) {
	b, _ := buildPack(f, 0, 1, 17, 300)
	f.Add(b)
	f.Add(b[:len(b)-1])
	f.Add(b[pack.FileHeaderSize:])
	f.Add([]byte{})
	c := bytes.Clone(b)
	c[pack.FileHeaderSize+pack.EntryHeaderSize] ^= 1
	f.Add(c)

	table := crc32.MakeTable(crc32.Castagnoli)
	f.Fuzz(func(t *testing.T, b []byte) {
		_ = pack.ParseFileHeader(b)
		r := bytes.NewReader(b)
		for _, start := range []int64{0, pack.FileHeaderSize} {
			if start > int64(len(b)) {
				continue
			}
			sc := pack.NewScanner(r, start, int64(len(b)))
			prev := start
			for sc.Next() {
				e := sc.Entry()
				if e.Offset != prev {
					t.Fatalf("entry at %d, want %d", e.Offset, prev)
				}
				hdr := b[e.Offset : e.Offset+pack.EntryHeaderSize]
				data := b[e.Offset+pack.EntryHeaderSize : e.Offset+e.Header.Size()]
				if got, want := crc32.Checksum(hdr[:48], table), uint32(hdr[48])|uint32(hdr[49])<<8|uint32(hdr[50])<<16|uint32(hdr[51])<<24; got != want {
					t.Fatalf("entry at %d accepted with header checksum %08x, stored %08x", e.Offset, got, want)
				}
				if got := crc32.Checksum(data, table); got != e.Header.DataCRC {
					t.Fatalf("entry at %d accepted with data checksum %08x, header says %08x", e.Offset, got, e.Header.DataCRC)
				}
				if !bytes.Equal(sc.Data(), data) {
					t.Fatalf("entry at %d: Data() differs from the bytes in the pack", e.Offset)
				}
				got, err := pack.ReadEntry(r, e.Offset, e.Header.Key, nil)
				if err != nil || !bytes.Equal(got, data) {
					t.Fatalf("ReadEntry(%d) = %d bytes, %v; want the scanned entry", e.Offset, len(got), err)
				}
				prev = sc.Offset()
			}
			if err := sc.Err(); err != nil && !errors.Is(err, pack.ErrCorrupt) {
				t.Fatalf("Scanner.Err() = %v, want nil or ErrCorrupt on an in-memory reader", err)
			}
			if sc.Err() == nil && sc.Offset() != int64(len(b)) {
				t.Fatalf("scan ended at %d without error, want %d", sc.Offset(), len(b))
			}
		}
		// ReadEntry at any offset where a header could start either fails
		// or returns data whose checksum verifies against that header.
		for i := 0; ; i++ {
			j := bytes.Index(b[i:], []byte("EBSE"))
			if j < 0 {
				break
			}
			i += j
			off := int64(i)
			h, err := pack.ParseEntryHeader(b[off:])
			if err != nil {
				continue
			}
			got, err := pack.ReadEntry(r, off, h.Key, nil)
			if err == nil && crc32.Checksum(got, table) != h.DataCRC {
				t.Fatalf("ReadEntry(%d) returned data failing its checksum", off)
			}
		}
	})
}
