package pack_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"testing"

	"github.com/ebsd/ebsd/internal/pack"
)

// FuzzScan feeds arbitrary bytes to the readers as a pack. They must never
// panic, every entry they accept must be intact (its header checksum and
// its data checksum verify, independently of the package's own code), and
// a scan with Skip must account for every byte: entries and damaged ranges
// tile the scanned range, Skip resumes only where a complete entry checks
// out (or right after an entry whose header checks out), and a torn tail
// holds no complete entry.
func FuzzScan(f *testing.F) {
	b, _ := buildPack(f, 0, 1, 17, 300)
	f.Add(b)
	f.Add(b[:len(b)-1])
	f.Add(b[pack.FileHeaderSize:])
	f.Add([]byte{})
	c := bytes.Clone(b)
	c[pack.FileHeaderSize+pack.EntryHeaderSize] ^= 1
	f.Add(c)
	d := bytes.Clone(b)
	d[pack.FileHeaderSize+pack.EntryHeaderSize+5] ^= 1 // the second entry's header
	f.Add(d)
	f.Add(append(bytes.Clone(b[:pack.FileHeaderSize+10]), b[pack.FileHeaderSize:]...))

	table := crc32.MakeTable(crc32.Castagnoli)
	// complete reports whether a complete, intact entry starts at off,
	// checked without the package.
	complete := func(b []byte, off int) bool {
		if off+pack.EntryHeaderSize > len(b) || string(b[off:off+4]) != "EBSE" {
			return false
		}
		hdr := b[off : off+pack.EntryHeaderSize]
		if crc32.Checksum(hdr[:48], table) != binary.LittleEndian.Uint32(hdr[48:]) || hdr[4] != pack.Version || hdr[5]|hdr[6]|hdr[7] != 0 {
			return false
		}
		n := int(binary.LittleEndian.Uint32(hdr[40:]))
		if n > pack.MaxDataLen || off+pack.EntryHeaderSize+n > len(b) {
			return false
		}
		data := b[off+pack.EntryHeaderSize : off+pack.EntryHeaderSize+n]
		return crc32.Checksum(data, table) == binary.LittleEndian.Uint32(hdr[44:])
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		_ = pack.ParseFileHeader(b)
		r := bytes.NewReader(b)
		for _, start := range []int64{0, pack.FileHeaderSize} {
			if start > int64(len(b)) {
				continue
			}
			sc := pack.NewScanner(r, start, int64(len(b)))
			prev := start
			for {
				for sc.Next() {
					e := sc.Entry()
					if e.Offset != prev {
						t.Fatalf("entry at %d, want %d", e.Offset, prev)
					}
					if !complete(b, int(e.Offset)) {
						t.Fatalf("entry at %d accepted, but its checksums do not verify", e.Offset)
					}
					data := b[e.Offset+pack.EntryHeaderSize : e.Offset+e.Header.Size()]
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
				if sc.Err() == nil {
					if sc.Offset() != int64(len(b)) {
						t.Fatalf("scan ended at %d without error, want %d", sc.Offset(), len(b))
					}
					break
				}
				from := sc.Offset()
				if from != prev {
					t.Fatalf("scan stopped at %d, want %d", from, prev)
				}
				if !sc.Skip() {
					if sc.Offset() != from || !errors.Is(sc.Err(), pack.ErrCorrupt) {
						t.Fatalf("Skip failed at %d leaving Offset %d, Err %v", from, sc.Offset(), sc.Err())
					}
					// A torn tail: no complete entry in it, unless inside
					// the data of a whole header that runs past the end.
					if h, err := pack.ParseEntryHeader(b[from:]); err != nil || from+h.Size() <= int64(len(b)) {
						for off := int(from) + 1; off < len(b); off++ {
							if complete(b, off) {
								t.Fatalf("torn tail from %d holds a complete entry at %d", from, off)
							}
						}
					}
					break
				}
				to := sc.Offset()
				if to <= from || to > int64(len(b)) {
					t.Fatalf("Skip moved from %d to %d", from, to)
				}
				h, err := pack.ParseEntryHeader(b[from:])
				switch {
				case err == nil && to == from+h.Size():
					// An entry whose header checks out, skipped whole.
				case !complete(b, int(to)):
					t.Fatalf("Skip moved from %d to %d, where no complete entry starts", from, to)
				default:
					for off := int(from) + 1; off < int(to); off++ {
						if complete(b, off) {
							t.Fatalf("Skip moved from %d to %d past a complete entry at %d", from, to, off)
						}
					}
				}
				prev = to
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
