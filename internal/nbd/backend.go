package nbd

import (
	"context"
	"errors"
	"io/fs"
	"syscall"
)

// Backend holds an export's data. Its methods are called from many
// goroutines at once (requests of one connection run in parallel, and
// several connections may share a backend); offsets and lengths are
// already checked against Size.
type Backend interface {
	// Size is the export's size in bytes; it does not change.
	Size() int64
	// ReadAt fills p with the bytes at off; holes read as zeros.
	ReadAt(ctx context.Context, p []byte, off int64) error
	// WriteAt writes p at off. A read-only backend returns ErrReadOnly.
	WriteAt(ctx context.Context, p []byte, off int64) error
	// Zero makes n bytes at off read as zeros (WRITE_ZEROES, and TRIM,
	// which this server implements as zeroing so that a discarded range
	// never shows stale data).
	Zero(ctx context.Context, off, n int64) error
	// Flush makes every write that returned before it was called
	// durable.
	Flush(ctx context.Context) error
	// BlockStatus describes the n bytes at off as consecutive extents,
	// with StateHole and StateZero flags (the base:allocation context,
	// proto.md §base:allocation metadata context). It may describe less
	// than n bytes (at least one extent) or more.
	BlockStatus(ctx context.Context, off, n int64) ([]Extent, error)
}

// SliceReader is a Backend that can lend the bytes of a read instead of
// copying them into a buffer: the server sends them from where the
// backend keeps them (one copy fewer per byte read, no buffer to
// allocate per request), in one vectored write with the reply's header.
type SliceReader interface {
	// ReadSlices returns the n bytes at off (n > 0) as consecutive
	// slices of n bytes in all, which the server only reads, and only
	// until it calls release, once. On an error, nothing is lent.
	ReadSlices(ctx context.Context, off, n int64) (data [][]byte, release func(), err error)
}

// Extent is a run of bytes with one allocation state.
type Extent struct {
	Length int64
	Flags  uint32 // StateHole | StateZero
}

// States of base:allocation.
const (
	// StateHole: not allocated (it may read as anything unless StateZero
	// is set too).
	StateHole = 1 << 0
	// StateZero: reads as zeros.
	StateZero = 1 << 1
)

// Errors a Backend returns to get a given NBD error; anything else is
// EIO.
var (
	ErrReadOnly = errors.New("the export is read-only")    // EPERM
	ErrNoSpace  = errors.New("no space left")              // ENOSPC
	ErrInvalid  = errors.New("invalid request")            // EINVAL
	ErrTooLarge = errors.New("request too large to serve") // EOVERFLOW
)

// errnoOf maps a backend error to the NBD error sent to the client
// (proto.md §Error values: EDQUOT and EFBIG are reported as ENOSPC).
func errnoOf(err error) Errno {
	switch {
	case errors.Is(err, ErrReadOnly), errors.Is(err, fs.ErrPermission):
		return EPERM
	case errors.Is(err, ErrNoSpace), errors.Is(err, syscall.ENOSPC),
		errors.Is(err, syscall.EDQUOT), errors.Is(err, syscall.EFBIG):
		return ENOSPC
	case errors.Is(err, ErrInvalid):
		return EINVAL
	case errors.Is(err, ErrTooLarge):
		return EOVERFLOW
	}
	var e Errno
	if errors.As(err, &e) {
		return e
	}
	return EIO
}

// Error makes an Errno usable as an error, so that a backend can name
// the exact NBD error it wants.
func (e Errno) Error() string { return "nbd: " + e.String() }
