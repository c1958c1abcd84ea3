package pack

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"slices"
)

// scanBufferSize is how much Scanner reads at a time: large enough that a
// scan of 512 KiB entries costs few system calls.
const scanBufferSize = 1 << 20

// Entry is an entry found by Scanner.
type Entry struct {
	Offset int64 // offset of the entry's header in the pack
	Header EntryHeader
}

// Scanner reads the entries of a pack in order, from a given offset to a
// given end, verifying each header and data checksum. It stops at the end
// or at the first entry that is not valid; Offset then tells where the
// valid prefix ends, which is where an owner truncates a torn tail.
//
//	sc := pack.NewScanner(f, pack.FileHeaderSize, size)
//	for sc.Next() {
//		e := sc.Entry()
//		...
//	}
//	if err := sc.Err(); errors.Is(err, pack.ErrCorrupt) {
//		// bytes from sc.Offset() on are not valid entries
//	}
type Scanner struct {
	br    *bufio.Reader
	off   int64 // offset of the next entry: the end of the valid prefix
	end   int64
	entry Entry
	data  []byte
	err   error
}

// NewScanner returns a Scanner over the entries of r between off, which
// must be the offset of an entry header (FileHeaderSize for a whole pack),
// and end, usually the size of the pack.
func NewScanner(r io.ReaderAt, off, end int64) *Scanner {
	s := &Scanner{off: off, end: end}
	if off < 0 || end < off {
		s.err = fmt.Errorf("pack: scan [%d, %d): bad range", off, end)
		return s
	}
	size := int(min(end-off, scanBufferSize)) // no bigger than what there is to read
	s.br = bufio.NewReaderSize(io.NewSectionReader(r, off, end-off), size)
	return s
}

// Next advances to the next valid entry and reports whether there is one.
func (s *Scanner) Next() bool {
	if s.err != nil || s.off == s.end {
		return false
	}
	var buf [EntryHeaderSize]byte
	if err := s.read(buf[:]); err != nil {
		s.err = fmt.Errorf("pack: entry at %d: header: %w", s.off, err)
		return false
	}
	h, err := ParseEntryHeader(buf[:])
	if err != nil {
		s.err = fmt.Errorf("pack: entry at %d: %w", s.off, err)
		return false
	}
	if h.Size() > s.end-s.off {
		s.err = fmt.Errorf("%w: entry at %d: %d bytes, only %d left: %w", ErrCorrupt, s.off, h.Size(), s.end-s.off, io.ErrUnexpectedEOF)
		return false
	}
	s.data = slices.Grow(s.data[:0], int(h.Len))[:h.Len]
	if err := s.read(s.data); err != nil {
		s.err = fmt.Errorf("pack: entry at %d: data: %w", s.off, err)
		return false
	}
	if err := h.Check(s.data); err != nil {
		s.err = fmt.Errorf("pack: entry at %d: %w", s.off, err)
		return false
	}
	s.entry = Entry{Offset: s.off, Header: h}
	s.off += h.Size()
	return true
}

// read fills b from the section, turning an early end into ErrCorrupt.
func (s *Scanner) read(b []byte) error {
	_, err := io.ReadFull(s.br, b)
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("%w: cut short: %w", ErrCorrupt, io.ErrUnexpectedEOF)
	}
	return err
}

// Entry returns the entry Next found.
func (s *Scanner) Entry() Entry { return s.entry }

// Data returns the data of the entry Next found. It is valid only until the
// next call to Next.
func (s *Scanner) Data() []byte { return s.data }

// Offset returns the end of the valid entries scanned so far: after a
// complete scan, the end of the last valid entry.
func (s *Scanner) Offset() int64 { return s.off }

// Err returns nil when the scan reached end exactly, an error wrapping
// ErrCorrupt when it stopped at bytes that are not a valid entry, or the
// reader's error. Only ErrCorrupt says that the bytes from Offset on are
// garbage; any other error says nothing about them.
func (s *Scanner) Err() error { return s.err }
