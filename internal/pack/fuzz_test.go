package pack_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"slices"
	"testing"

	"github.com/klauspost/compress/zstd"

	"github.com/ebsd/ebsd/internal/ebs"
	"github.com/ebsd/ebsd/internal/pack"
)

// FuzzScan feeds arbitrary bytes to the readers as a pack, of version 1 or
// 2 entries. They must never panic, every entry they accept must be intact
// (its header checksum and its data checksum verify, independently of the
// package's own code), an entry of an unknown codec or flags must stop a
// scan with ErrUnsupported and never be skipped as damage, and
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

	f.Add(readTestdata(f, "v1.pack"))
	v1 := readTestdata(f, "v1.pack")
	v1[len(v1)-100] ^= 1
	f.Add(v1)
	f.Add(slices.Concat(b, unsupportedEntry(f, 2, 0, 0), b[pack.FileHeaderSize:]))
	f.Add(slices.Concat(b[:pack.FileHeaderSize+20], unsupportedEntry(f, 0, 1, 0)))
	f.Add(readTestdata(f, "v2-zstd.pack"))
	text := textBytes(3000, 1)
	h, stored := newEncoder(f).EncodeEntry(ebs.Sum(text), text, nil)
	f.Add(reencode(h.Key, stored, len(text)))
	f.Add(reencode(h.Key, stored, len(text)-1))
	f.Add(reencode(h.Key, stored[:len(stored)-1], len(text)))

	// header reports whether an entry header that checks out starts at
	// off, and whether this package decodes its encoding, checked from the
	// format's description (doc.go) without the package. It returns the
	// header's size, the stored length and the data checksum.
	header := func(b []byte, off int) (ok, supported bool, hl, n int, dataCRC uint32) {
		if off+52 > len(b) || string(b[off:off+4]) != "EBSE" {
			return
		}
		le := binary.LittleEndian
		switch b[off+4] {
		case 1:
			hdr := b[off : off+52]
			if crc32.Checksum(hdr[:48], castagnoli) != le.Uint32(hdr[48:]) || hdr[5]|hdr[6]|hdr[7] != 0 {
				return
			}
			hl, n, dataCRC, supported = 52, int(le.Uint32(hdr[40:])), le.Uint32(hdr[44:]), true
		case 2:
			if off+56 > len(b) {
				return
			}
			hdr := b[off : off+56]
			if crc32.Checksum(hdr[:52], castagnoli) != le.Uint32(hdr[52:]) {
				return
			}
			hl, n, dataCRC = 56, int(le.Uint32(hdr[40:])), le.Uint32(hdr[48:])
			raw := int(le.Uint32(hdr[44:]))
			if raw > pack.MaxRawLen || hdr[5] == 0 && raw != n {
				return
			}
			supported = hdr[5] <= 1 && hdr[6] == 0 && hdr[7] == 0 // codecs 0 (none) and 1 (zstd)
		default:
			return
		}
		return n <= pack.MaxDataLen, supported, hl, n, dataCRC
	}
	// complete reports whether a complete entry whose checksums verify
	// starts at off, and whether it is one this package decodes.
	complete := func(b []byte, off int) (ok, supported bool) {
		ok, supported, hl, n, dataCRC := header(b, off)
		if !ok || off+hl+n > len(b) {
			return false, false
		}
		return crc32.Checksum(b[off+hl:off+hl+n], castagnoli) == dataCRC, supported
	}
	zstdRef, err := zstd.NewReader(nil, zstd.WithDecoderMaxMemory(pack.MaxRawLen))
	if err != nil {
		f.Fatal(err)
	}
	whole := func(b []byte, off int) bool { ok, _ := complete(b, off); return ok }
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
					if ok, supported := complete(b, int(e.Offset)); !ok || !supported {
						t.Fatalf("entry at %d accepted, but its checksums do not verify (%v) or its encoding is unknown (%v)", e.Offset, ok, supported)
					}
					data := b[e.Offset+e.Header.HeaderSize() : e.Offset+e.Header.Size()]
					if !bytes.Equal(sc.Data(), data) {
						t.Fatalf("entry at %d: Data() differs from the bytes in the pack", e.Offset)
					}
					got, err := pack.ReadEntry(r, e.Offset, e.Header.Key, nil)
					if e.Header.Codec == pack.CodecZstd {
						// The scan checks the stored bytes; ReadEntry also
						// decodes them: the frame must decode, by zstd's
						// own decoder, to exactly the raw length, or the
						// entry is corrupt.
						want, werr := zstdRef.DecodeAll(data, nil)
						if werr != nil || len(want) != int(e.Header.RawLen) {
							if !errors.Is(err, pack.ErrCorrupt) {
								t.Fatalf("ReadEntry(%d) = %d bytes, %v; want ErrCorrupt (reference: %d bytes, %v)", e.Offset, len(got), err, len(want), werr)
							}
						} else if err != nil || !bytes.Equal(got, want) {
							t.Fatalf("ReadEntry(%d) = %d bytes, %v; want the decoded frame", e.Offset, len(got), err)
						}
					} else if err != nil || !bytes.Equal(got, data) {
						t.Fatalf("ReadEntry(%d) = %d bytes, %v; want the scanned entry", e.Offset, len(got), err)
					}
					prev = sc.Offset()
				}
				if err := sc.Err(); errors.Is(err, pack.ErrUnsupported) {
					// A newer writer's entry (its header is what counts: its
					// data may be torn): the scan stops there for good.
					if ok, supported, _, _, _ := header(b, int(sc.Offset())); !ok || supported || sc.Offset() != prev {
						t.Fatalf("ErrUnsupported at %d (after %d), but no header of an unknown encoding starts there", sc.Offset(), prev)
					}
					if sc.Skip() {
						t.Fatalf("Skip moved past an unsupported entry at %d", prev)
					}
					break
				}
				if err := sc.Err(); err != nil && !errors.Is(err, pack.ErrCorrupt) {
					t.Fatalf("Scanner.Err() = %v, want nil, ErrCorrupt or ErrUnsupported on an in-memory reader", err)
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
							if whole(b, off) {
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
				case !whole(b, int(to)):
					t.Fatalf("Skip moved from %d to %d, where no complete entry starts", from, to)
				default:
					for off := int(from) + 1; off < int(to); off++ {
						if whole(b, off) {
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
			if err != nil && !errors.Is(err, pack.ErrUnsupported) {
				continue
			}
			got, err := pack.ReadEntry(r, off, h.Key, nil)
			if err == nil && !whole(b, int(off)) {
				t.Fatalf("ReadEntry(%d) returned data of an entry whose checksums do not verify", off)
			}
			if err == nil && h.Codec == pack.CodecNone && crc32.Checksum(got, castagnoli) != h.DataCRC {
				t.Fatalf("ReadEntry(%d) returned data failing its checksum", off)
			}
			if err == nil && len(got) != int(h.RawLen) {
				t.Fatalf("ReadEntry(%d) returned %d bytes, want the raw length %d", off, len(got), h.RawLen)
			}
			if ok, supported, _, _, _ := header(b, int(off)); errors.Is(err, pack.ErrUnsupported) && (!ok || supported) {
				t.Fatalf("ReadEntry(%d) = %v, but the header there is not one of an unknown encoding", off, err)
			}
		}
	})
}
