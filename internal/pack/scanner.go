package pack

import (
	"bufio"
	"bytes"
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
// given end, verifying each header and data checksum. It reads entries of
// either version. Next stops at the end
// or at the first entry that is not valid; Offset then tells where the
// valid entries end. Skip moves past invalid bytes to the next valid entry,
// so that damage in the middle of a pack costs only the entries it hit:
//
//	sc := pack.NewScanner(f, pack.FileHeaderSize, size)
//	for {
//		for sc.Next() {
//			e := sc.Entry()
//			...
//		}
//		if !errors.Is(sc.Err(), pack.ErrCorrupt) {
//			break // the end (Err nil), or a read error
//		}
//		from := sc.Offset()
//		if !sc.Skip() {
//			break // bytes from sc.Offset() to the end are a torn tail (or Err is a read error)
//		}
//		// bytes [from, sc.Offset()) are damaged; scanning goes on after them
//	}
type Scanner struct {
	r     io.ReaderAt
	br    *bufio.Reader
	off   int64 // offset of the next entry: the end of the valid entries scanned
	end   int64
	entry Entry
	data  []byte
	err   error

	// badHeader is the header of the invalid entry at off when that header
	// checks out (only its data does not), and badSize its size; badSize
	// is 0 when the header itself is invalid.
	badHeader EntryHeader
	badSize   int64
	window    []byte // Skip's search buffer
}

// NewScanner returns a Scanner over the entries of r between off, which
// must be the offset of an entry header (FileHeaderSize for a whole pack),
// and end, usually the size of the pack.
func NewScanner(r io.ReaderAt, off, end int64) *Scanner {
	s := &Scanner{r: r, off: off, end: end}
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
	s.badSize = 0
	var buf [entryHeaderSizeV2]byte
	if err := s.read(buf[:minEntryHeaderSize]); err != nil {
		s.err = fmt.Errorf("pack: entry at %d: header: %w", s.off, err)
		return false
	}
	if n := headerSizeAt(buf[:]); n > minEntryHeaderSize && string(buf[:4]) == entryMagic {
		if err := s.read(buf[minEntryHeaderSize:n]); err != nil {
			s.err = fmt.Errorf("pack: entry at %d: header: %w", s.off, err)
			return false
		}
	}
	h, err := ParseEntryHeader(buf[:])
	if err != nil {
		// ErrUnsupported stops the scan like damage does, but Skip refuses
		// to move past it: it is a newer writer's entry, not damage.
		s.err = fmt.Errorf("pack: entry at %d: %w", s.off, err)
		return false
	}
	s.badHeader, s.badSize = h, h.Size()
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
	s.badSize = 0
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

// Skip moves past the invalid bytes at Offset that stopped Next (Err wraps
// ErrCorrupt) to where scanning can go on, and reports whether it could;
// the bytes between the old and the new Offset are the damage.
//
// When the header of the invalid entry checks out and only its data does
// not, the header's length is trusted (its checksum covers it): Skip moves
// to the end of that entry and never searches inside its data, where a
// block's content could itself look like entries. Otherwise Skip searches
// forward from the next byte for the first offset where a complete entry
// checks out, header and data.
//
// Skip returns false, leaving Offset where it was, when no valid entry
// follows: the bytes from Offset to the end are a torn tail. It also
// returns false on a read error, which Err then returns.
func (s *Scanner) Skip() bool {
	if !errors.Is(s.err, ErrCorrupt) || s.off == s.end {
		return false
	}
	if s.badSize > 0 {
		if s.badSize > s.end-s.off {
			return false // a torn write: its header made it, its data did not
		}
		s.resume(s.off + s.badSize)
		return true
	}
	next, err := s.search(s.off + 1)
	if err != nil {
		s.err = fmt.Errorf("pack: search after invalid entry at %d: %w", s.off, err)
		return false
	}
	if next < 0 {
		return false
	}
	s.resume(next)
	return true
}

// resume makes Next go on at off.
func (s *Scanner) resume(off int64) {
	s.off, s.err, s.badSize = off, nil, 0
	s.br.Reset(io.NewSectionReader(s.r, off, s.end-off))
}

// search returns the first offset in [from, end) where a complete valid
// entry starts, or -1. Candidates are the places where the entry magic
// appears; each is checked in full.
func (s *Scanner) search(from int64) (int64, error) {
	if s.window == nil {
		s.window = make([]byte, min(s.end-from, scanBufferSize))
	}
	for pos := from; pos < s.end; {
		n := int(min(int64(len(s.window)), s.end-pos))
		w := s.window[:n]
		if err := readAt(s.r, w, pos); err != nil {
			return -1, err
		}
		for i := 0; ; {
			j := bytes.Index(w[i:], []byte(entryMagic))
			if j < 0 {
				break
			}
			i += j
			ok, err := s.validAt(pos + int64(i))
			if err != nil {
				return -1, err
			}
			if ok {
				return pos + int64(i), nil
			}
			i++
		}
		if pos+int64(n) >= s.end {
			break
		}
		// Overlap the windows so that a magic across their boundary is seen.
		pos += int64(n - (len(entryMagic) - 1))
	}
	return -1, nil
}

// validAt reports whether a complete valid entry starts at off. An entry
// whose header and data check out but whose encoding is unsupported counts
// as valid: Next then stops there with ErrUnsupported, rather than Skip
// taking a newer writer's entry for damage.
func (s *Scanner) validAt(off int64) (bool, error) {
	var buf [entryHeaderSizeV2]byte
	if off+minEntryHeaderSize > s.end {
		return false, nil
	}
	if err := readAt(s.r, buf[:minEntryHeaderSize], off); err != nil {
		return false, err
	}
	if n := int64(headerSizeAt(buf[:])); n > minEntryHeaderSize {
		if off+n > s.end {
			return false, nil
		}
		if err := readAt(s.r, buf[minEntryHeaderSize:n], off+minEntryHeaderSize); err != nil {
			return false, err
		}
	}
	h, err := ParseEntryHeader(buf[:])
	if err != nil && !errors.Is(err, ErrUnsupported) || h.Size() > s.end-off {
		return false, nil
	}
	s.data = slices.Grow(s.data[:0], int(h.Len))[:h.Len]
	if err := readAt(s.r, s.data, off+h.HeaderSize()); err != nil {
		return false, err
	}
	return h.Check(s.data) == nil, nil
}

// readAt fills b from r at off. Bytes missing before end mean that the
// reader is shorter than the range scanned: an I/O condition, not damage.
func readAt(r io.ReaderAt, b []byte, off int64) error {
	n, err := r.ReadAt(b, off)
	if n == len(b) {
		return nil
	}
	if err == nil || errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF
	}
	return err
}

// Entry returns the entry Next found.
func (s *Scanner) Entry() Entry { return s.entry }

// Data returns the stored data of the entry Next found: the raw data for
// CodecNone, the zstd frame for CodecZstd (the scan checks its checksum,
// but does not decode it). It is valid only until the next call to Next
// or Skip.
func (s *Scanner) Data() []byte { return s.data }

// Offset returns the offset where the next entry is expected: after Next
// returned false with ErrCorrupt, the start of the invalid bytes; after a
// complete scan, the end of the last valid entry.
func (s *Scanner) Offset() int64 { return s.off }

// Err returns nil when the scan reached end exactly, an error wrapping
// ErrCorrupt when it stopped at bytes that are not a valid entry, one
// wrapping ErrUnsupported when it stopped at a valid entry it cannot
// decode, or the reader's error. Only ErrCorrupt says that the bytes from
// Offset on are not a valid entry; any other error says nothing about them.
func (s *Scanner) Err() error { return s.err }
