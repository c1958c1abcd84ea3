package pack

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"

	"github.com/ebsd/ebsd/internal/ebs"
)

// Sizes and limits of the format.
const (
	// Version is the format version this package writes. It reads
	// versions 1 and 2.
	Version = 2

	// FileHeaderSize is the size of the header at the start of every pack.
	FileHeaderSize = 16

	// EntryHeaderSize is the size of the header in front of every entry's
	// data, in the version this package writes.
	EntryHeaderSize = entryHeaderSizeV2

	// MaxDataLen is the largest stored data an entry may hold. It bounds
	// what a reader allocates for a header it cannot yet tell from garbage.
	MaxDataLen = 64 << 20

	// MaxRawLen is the largest raw length (the bytes a reader returns) an
	// entry may declare.
	MaxRawLen = 64 << 20
)

const (
	fileMagic  = "EBSDPACK"
	entryMagic = "EBSE"

	entryHeaderSizeV1 = 52
	entryHeaderSizeV2 = 56
	// minEntryHeaderSize is what a reader reads before it knows an entry's
	// version (byte 4), and so the size of its header.
	minEntryHeaderSize = entryHeaderSizeV1
)

// castagnoli is the CRC-32C table; crc32 accelerates it in hardware.
var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// checksum returns the CRC-32C of b.
func checksum(b []byte) uint32 { return crc32.Checksum(b, castagnoli) }

// AppendFileHeader appends the header of a new pack, of version Version,
// to dst.
func AppendFileHeader(dst []byte) []byte {
	start := len(dst)
	dst = append(dst, fileMagic...)
	dst = binary.LittleEndian.AppendUint32(dst, Version)
	return binary.LittleEndian.AppendUint32(dst, checksum(dst[start:]))
}

// ParseFileHeader checks that b starts with a valid pack header of a known
// version. It returns ErrVersion for a valid header of another version and
// ErrCorrupt for anything else.
func ParseFileHeader(b []byte) error {
	_, err := FileVersion(b)
	return err
}

// FileVersion is ParseFileHeader that also returns the pack's version: 1
// or 2. The entries of a pack are all of its version; only packs of
// version Version can be appended to (ResumeWriter).
func FileVersion(b []byte) (uint32, error) {
	if len(b) < FileHeaderSize {
		return 0, fmt.Errorf("%w: file header: %d bytes, want %d", ErrCorrupt, len(b), FileHeaderSize)
	}
	b = b[:FileHeaderSize]
	if string(b[:8]) != fileMagic {
		return 0, fmt.Errorf("%w: file header: bad magic %q", ErrCorrupt, b[:8])
	}
	if got, want := binary.LittleEndian.Uint32(b[12:]), checksum(b[:12]); got != want {
		return 0, fmt.Errorf("%w: file header: checksum %08x, want %08x", ErrCorrupt, got, want)
	}
	v := binary.LittleEndian.Uint32(b[8:])
	if v != 1 && v != 2 {
		return v, fmt.Errorf("%w: file version %d, want 1 or 2", ErrVersion, v)
	}
	return v, nil
}

// EntryHeader describes one entry: its key, how its data is stored, and
// the checksum of the stored bytes.
type EntryHeader struct {
	// Version is the format version of the entry: 1 or 2. Writers encode
	// every header in their own version whatever this says, so an entry
	// read from a version 1 pack is appended to a new pack as version 2.
	Version uint8
	Codec   Codec
	Key     ebs.Digest
	Len     uint32 // stored length: the data bytes after the header
	RawLen  uint32 // length of the bytes a reader returns; Len for CodecNone
	DataCRC uint32 // CRC-32C of the stored bytes
}

// NewEntryHeader returns the header of an entry storing data as it is
// (CodecNone) under key.
func NewEntryHeader(key ebs.Digest, data []byte) EntryHeader {
	return NewCodedEntryHeader(key, CodecNone, data, len(data))
}

// NewCodedEntryHeader returns the header of an entry whose stored bytes
// encode rawLen raw bytes under codec. For CodecNone, rawLen must be
// len(stored).
func NewCodedEntryHeader(key ebs.Digest, codec Codec, stored []byte, rawLen int) EntryHeader {
	return EntryHeader{Version: Version, Codec: codec, Key: key, Len: uint32(len(stored)), RawLen: uint32(rawLen), DataCRC: checksum(stored)}
}

// HeaderSize returns the size of the encoded header: 52 bytes in version
// 1, 56 in version 2.
func (h EntryHeader) HeaderSize() int64 {
	if h.Version == 1 {
		return entryHeaderSizeV1
	}
	return entryHeaderSizeV2
}

// Size returns the size of the whole entry: header and stored data.
func (h EntryHeader) Size() int64 { return h.HeaderSize() + int64(h.Len) }

// Append appends the header, encoded in version 2 whatever h.Version
// says, to dst. Writers write version 2 only.
func (h EntryHeader) Append(dst []byte) []byte {
	start := len(dst)
	dst = append(dst, entryMagic...)
	dst = append(dst, Version, byte(h.Codec), 0, 0) // flags and the reserved byte are 0
	dst = append(dst, h.Key[:]...)
	dst = binary.LittleEndian.AppendUint32(dst, h.Len)
	dst = binary.LittleEndian.AppendUint32(dst, h.RawLen)
	dst = binary.LittleEndian.AppendUint32(dst, h.DataCRC)
	return binary.LittleEndian.AppendUint32(dst, checksum(dst[start:]))
}

// headerSizeAt returns the size of the entry header that starts with b,
// which holds at least minEntryHeaderSize bytes, from its version byte:
// 52 for version 1, 56 otherwise (an unknown version is rejected by
// ParseEntryHeader).
func headerSizeAt(b []byte) int {
	if b[4] == 1 {
		return entryHeaderSizeV1
	}
	return entryHeaderSizeV2
}

// ParseEntryHeader decodes the entry header, of version 1 or 2, at the
// start of b. It returns ErrCorrupt unless the magic, version, header
// checksum, reserved bytes and length limits all check out, and
// ErrUnsupported, with the decoded header, for a header that checks out
// but uses a codec or flags this package does not know: bytes a newer
// writer wrote, not damage.
//
// The header checksum is checked before anything it covers is believed.
func ParseEntryHeader(b []byte) (EntryHeader, error) {
	var h EntryHeader
	if len(b) < minEntryHeaderSize {
		return h, fmt.Errorf("%w: entry header: %d bytes, want %d", ErrCorrupt, len(b), minEntryHeaderSize)
	}
	if string(b[:4]) != entryMagic {
		return h, fmt.Errorf("%w: entry header: bad magic %q", ErrCorrupt, b[:4])
	}
	switch b[4] {
	case 1:
		return parseV1(b[:entryHeaderSizeV1])
	case 2:
		if len(b) < entryHeaderSizeV2 {
			return h, fmt.Errorf("%w: entry header: %d bytes, want %d", ErrCorrupt, len(b), entryHeaderSizeV2)
		}
		return parseV2(b[:entryHeaderSizeV2])
	default:
		// Without a known layout not even the checksum can be checked.
		return h, fmt.Errorf("%w: entry header: version %d", ErrCorrupt, b[4])
	}
}

// parseV1 decodes a version 1 header:
//
//	0 magic(4) | 4 version=1 | 5 reserved(3)=0 | 8 key(32) | 40 len | 44 data CRC | 48 header CRC
func parseV1(b []byte) (EntryHeader, error) {
	var h EntryHeader
	if got, want := binary.LittleEndian.Uint32(b[48:]), checksum(b[:48]); got != want {
		return h, fmt.Errorf("%w: entry header: checksum %08x, want %08x", ErrCorrupt, got, want)
	}
	// Version 1 is frozen: no writer ever set these bytes.
	if b[5] != 0 || b[6] != 0 || b[7] != 0 {
		return h, fmt.Errorf("%w: entry header: version 1 with reserved bytes %x", ErrCorrupt, b[5:8])
	}
	h.Version = 1
	copy(h.Key[:], b[8:40])
	h.Len = binary.LittleEndian.Uint32(b[40:])
	h.RawLen = h.Len
	h.DataCRC = binary.LittleEndian.Uint32(b[44:])
	if h.Len > MaxDataLen {
		return h, fmt.Errorf("%w: entry header: length %d over %d", ErrCorrupt, h.Len, MaxDataLen)
	}
	return h, nil
}

// parseV2 decodes a version 2 header:
//
//	0 magic(4) | 4 version=2 | 5 codec | 6 flags | 7 reserved | 8 key(32) |
//	40 stored len | 44 raw len | 48 data CRC | 52 header CRC
func parseV2(b []byte) (EntryHeader, error) {
	var h EntryHeader
	if got, want := binary.LittleEndian.Uint32(b[52:]), checksum(b[:52]); got != want {
		return h, fmt.Errorf("%w: entry header: checksum %08x, want %08x", ErrCorrupt, got, want)
	}
	h.Version = 2
	h.Codec = Codec(b[5])
	copy(h.Key[:], b[8:40])
	h.Len = binary.LittleEndian.Uint32(b[40:])
	h.RawLen = binary.LittleEndian.Uint32(b[44:])
	h.DataCRC = binary.LittleEndian.Uint32(b[48:])
	if h.Len > MaxDataLen || h.RawLen > MaxRawLen {
		return h, fmt.Errorf("%w: entry header: lengths %d stored, %d raw, over %d, %d", ErrCorrupt, h.Len, h.RawLen, MaxDataLen, MaxRawLen)
	}
	if h.Codec == CodecNone && h.RawLen != h.Len {
		return h, fmt.Errorf("%w: entry header: stored as is, but %d stored and %d raw bytes", ErrCorrupt, h.Len, h.RawLen)
	}
	// The checksum matched, so a newer writer set these: its data is not
	// ours to interpret, nor to call damaged.
	if !h.Codec.supported() || b[6] != 0 || b[7] != 0 {
		return h, fmt.Errorf("%w: entry header: codec %d, flags %#x, reserved %#x: a newer ebsd wrote it; upgrade ebsd to read it", ErrUnsupported, b[5], b[6], b[7])
	}
	return h, nil
}

// Check reports whether stored is the stored data h describes: ErrCorrupt
// when its length or checksum differ.
func (h EntryHeader) Check(stored []byte) error {
	if len(stored) != int(h.Len) {
		return fmt.Errorf("%w: entry %v: %d data bytes, want %d", ErrCorrupt, h.Key, len(stored), h.Len)
	}
	if got := checksum(stored); got != h.DataCRC {
		return fmt.Errorf("%w: entry %v: data checksum %08x, want %08x", ErrCorrupt, h.Key, got, h.DataCRC)
	}
	return nil
}
