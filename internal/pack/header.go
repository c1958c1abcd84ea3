package pack

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"

	"github.com/ebsd/ebsd/internal/ebs"
)

// Sizes and limits of the format.
const (
	// Version is the format version this package writes and reads.
	Version = 1

	// FileHeaderSize is the size of the header at the start of every pack.
	FileHeaderSize = 16

	// EntryHeaderSize is the size of the header in front of every entry's
	// data.
	EntryHeaderSize = 52

	// MaxDataLen is the largest data an entry may hold. It bounds what a
	// reader allocates for a header it cannot yet tell from garbage.
	MaxDataLen = 64 << 20
)

const (
	fileMagic  = "EBSDPACK"
	entryMagic = "EBSE"
)

// castagnoli is the CRC-32C table; crc32 accelerates it in hardware.
var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// checksum returns the CRC-32C of b.
func checksum(b []byte) uint32 { return crc32.Checksum(b, castagnoli) }

// AppendFileHeader appends the header of a new pack to dst.
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
	if len(b) < FileHeaderSize {
		return fmt.Errorf("%w: file header: %d bytes, want %d", ErrCorrupt, len(b), FileHeaderSize)
	}
	b = b[:FileHeaderSize]
	if string(b[:8]) != fileMagic {
		return fmt.Errorf("%w: file header: bad magic %q", ErrCorrupt, b[:8])
	}
	if got, want := binary.LittleEndian.Uint32(b[12:]), checksum(b[:12]); got != want {
		return fmt.Errorf("%w: file header: checksum %08x, want %08x", ErrCorrupt, got, want)
	}
	if v := binary.LittleEndian.Uint32(b[8:]); v != Version {
		return fmt.Errorf("%w: file version %d, want %d", ErrVersion, v, Version)
	}
	return nil
}

// EntryHeader describes one entry: its key, how long its data is, and the
// checksum of that data.
type EntryHeader struct {
	Key     ebs.Digest
	Len     uint32 // data length in bytes
	DataCRC uint32 // CRC-32C of the data
}

// NewEntryHeader returns the header of an entry holding data under key.
func NewEntryHeader(key ebs.Digest, data []byte) EntryHeader {
	return EntryHeader{Key: key, Len: uint32(len(data)), DataCRC: checksum(data)}
}

// Size returns the size of the whole entry: header and data.
func (h EntryHeader) Size() int64 { return EntryHeaderSize + int64(h.Len) }

// Append appends the encoded header to dst.
func (h EntryHeader) Append(dst []byte) []byte {
	start := len(dst)
	dst = append(dst, entryMagic...)
	dst = append(dst, Version, 0, 0, 0)
	dst = append(dst, h.Key[:]...)
	dst = binary.LittleEndian.AppendUint32(dst, h.Len)
	dst = binary.LittleEndian.AppendUint32(dst, h.DataCRC)
	return binary.LittleEndian.AppendUint32(dst, checksum(dst[start:]))
}

// ParseEntryHeader decodes the entry header at the start of b. It returns
// ErrCorrupt unless the magic, version, reserved bytes, header checksum and
// length limit all check out.
func ParseEntryHeader(b []byte) (EntryHeader, error) {
	var h EntryHeader
	if len(b) < EntryHeaderSize {
		return h, fmt.Errorf("%w: entry header: %d bytes, want %d", ErrCorrupt, len(b), EntryHeaderSize)
	}
	b = b[:EntryHeaderSize]
	if string(b[:4]) != entryMagic {
		return h, fmt.Errorf("%w: entry header: bad magic %q", ErrCorrupt, b[:4])
	}
	if got, want := binary.LittleEndian.Uint32(b[48:]), checksum(b[:48]); got != want {
		return h, fmt.Errorf("%w: entry header: checksum %08x, want %08x", ErrCorrupt, got, want)
	}
	// The header checksum matched, so these are what a writer wrote: a
	// different version or reserved bits are not ours to interpret.
	if b[4] != Version || b[5] != 0 || b[6] != 0 || b[7] != 0 {
		return h, fmt.Errorf("%w: entry header: version %d flags %x", ErrCorrupt, b[4], b[5:8])
	}
	copy(h.Key[:], b[8:40])
	h.Len = binary.LittleEndian.Uint32(b[40:])
	h.DataCRC = binary.LittleEndian.Uint32(b[44:])
	if h.Len > MaxDataLen {
		return h, fmt.Errorf("%w: entry header: length %d over %d", ErrCorrupt, h.Len, MaxDataLen)
	}
	return h, nil
}

// Check reports whether data is the data h describes: ErrCorrupt when its
// length or checksum differ.
func (h EntryHeader) Check(data []byte) error {
	if len(data) != int(h.Len) {
		return fmt.Errorf("%w: entry %v: %d data bytes, want %d", ErrCorrupt, h.Key, len(data), h.Len)
	}
	if got := checksum(data); got != h.DataCRC {
		return fmt.Errorf("%w: entry %v: data checksum %08x, want %08x", ErrCorrupt, h.Key, got, h.DataCRC)
	}
	return nil
}
