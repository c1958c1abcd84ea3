package pack

import (
	"fmt"
	"io"

	"github.com/ebsd/ebsd/internal/ebs"
)

// Writer appends entries to a pack. It is not safe for concurrent use; an
// owner that shares one serializes calls to Append.
//
// After a failed write the Writer refuses further appends: the bytes after
// Offset are then a torn tail that readers will stop at.
type Writer struct {
	w   io.Writer
	off int64 // end of the last entry written in full
	err error // sticky: the first write error
	hdr [EntryHeaderSize]byte
}

// NewWriter writes the header of a new pack, of version Version, to w and
// returns a Writer that appends entries after it.
func NewWriter(w io.Writer) (*Writer, error) {
	if _, err := w.Write(AppendFileHeader(nil)); err != nil {
		return nil, fmt.Errorf("pack: write file header: %w", err)
	}
	return &Writer{w: w, off: FileHeaderSize}, nil
}

// ResumeWriter returns a Writer that appends to an existing pack of version
// Version whose valid content ends at off; w must write at off. A pack of
// another version must not be resumed: a pack holds entries of its own
// version only.
func ResumeWriter(w io.Writer, off int64) *Writer {
	return &Writer{w: w, off: off}
}

// Offset returns the offset just past the last entry written in full: the
// size of the pack as far as readers are concerned.
func (w *Writer) Offset() int64 { return w.off }

// Append writes an entry holding data under key and returns the offset of
// its header. The data is written straight from the caller's slice, in a
// write of its own after the header's: data is not copied.
func (w *Writer) Append(key ebs.Digest, data []byte) (int64, error) {
	if len(data) > MaxDataLen {
		return 0, fmt.Errorf("pack: append %v: %d bytes over the %d limit", key, len(data), MaxDataLen)
	}
	return w.AppendEntry(NewEntryHeader(key, data), data)
}

// AppendEntry is Append with the header computed by the caller, with
// NewEntryHeader(key, data) (or NewCodedEntryHeader for encoded data), so
// that an owner that serializes appends can checksum outside its lock, or
// copy an entry it read, of either version, with its header as it is. The
// entry is written in version Version whatever h.Version says. A header
// whose checksum does not match data makes an entry that readers reject;
// one with an unsupported codec, or lengths that do not match data, is
// refused.
func (w *Writer) AppendEntry(h EntryHeader, data []byte) (int64, error) {
	if w.err != nil {
		return 0, w.err
	}
	h.Version = Version
	if len(data) != int(h.Len) || h.Len > MaxDataLen || h.RawLen > MaxRawLen {
		return 0, fmt.Errorf("pack: append %v: %d bytes, header says %d stored and %d raw (limits %d, %d)",
			h.Key, len(data), h.Len, h.RawLen, MaxDataLen, MaxRawLen)
	}
	if !h.Codec.supported() || h.Codec == CodecNone && h.RawLen != h.Len {
		return 0, fmt.Errorf("pack: append %v: codec %d with %d stored and %d raw bytes: %w", h.Key, h.Codec, h.Len, h.RawLen, ErrUnsupported)
	}
	if _, err := w.w.Write(h.Append(w.hdr[:0])); err != nil {
		w.err = fmt.Errorf("pack: append %v: header: %w", h.Key, err)
		return 0, w.err
	}
	if _, err := w.w.Write(data); err != nil {
		w.err = fmt.Errorf("pack: append %v: data: %w", h.Key, err)
		return 0, w.err
	}
	off := w.off
	w.off += h.Size()
	return off, nil
}
