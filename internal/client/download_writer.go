package client

import (
	"errors"
	"os"
	"sync/atomic"
	"syscall"
	"unsafe"
)

// directAlign is the alignment a buffer, an offset and a length need for
// a direct write: the logical block size of common devices is 512 or 4096
// bytes. Block buffers (Go allocates 512 KiB objects on page boundaries)
// and block offsets meet it.
const directAlign = 4096

// blockWriter writes a download's blocks into its target, cheaply:
//
//   - around the page cache (O_DIRECT), through a second descriptor of the
//     target's file: copying each block into the page cache cost the
//     client more CPU than hashing it, and on 2 shared cores that CPU is
//     the server's too (issue 14: the pwrites took 55% of the client's
//     CPU). The final fsync still makes the file durable, as before.
//     Where the file system refuses direct I/O (at open, or at the first
//     write: EINVAL), or for a buffer that is not aligned, blocks go
//     through the buffered descriptor, as before;
//   - one at a time into a file, a few at a time into a device: 64
//     workers writing at once contend for a file's lock in the kernel
//     (ext4 takes it exclusively for a direct write that allocates, so
//     they would run one at a time anyway), and the threads blocked there
//     cost context switches and CPU, while the workers that wait here
//     park cheaply. A device has no such lock, and a few writes in flight
//     keep a device with a high latency (a network volume) busy.
type blockWriter struct {
	f     *os.File      // nil: none, every write is buffered
	off   atomic.Bool   // a direct write failed with EINVAL: buffered from then on
	slots chan struct{} // one per write in flight
}

// The block writes in flight of one download, into a file and into a
// device (see blockWriter).
const (
	fileWritersInFlight   = 1
	deviceWritersInFlight = 4
)

// openBlockWriter opens t's file again for direct writes; the writer
// writes buffered where that is not possible.
func openBlockWriter(t *target) *blockWriter {
	n := fileWritersInFlight
	if t.device {
		n = deviceWritersInFlight
	}
	return &blockWriter{f: openDirect(t.f, t.abs), slots: make(chan struct{}, n)}
}

// writeAt writes block buf at off: directly if it can, else through
// buffered. It reports whether the data went to the page cache, which
// then needs writing back. A nil *blockWriter writes buffered, at once.
func (w *blockWriter) writeAt(buffered *os.File, buf []byte, off int64) (cached bool, err error) {
	if w == nil {
		_, err = buffered.WriteAt(buf, off)
		return true, err
	}
	w.slots <- struct{}{}
	defer func() { <-w.slots }()
	if w.f != nil && !w.off.Load() && aligned(buf, off) {
		_, err := w.f.WriteAt(buf, off)
		if !errors.Is(err, syscall.EINVAL) {
			return false, err
		}
		// The file system takes direct opens but not these writes.
		w.off.Store(true)
	}
	_, err = buffered.WriteAt(buf, off)
	return true, err
}

func (w *blockWriter) close() {
	if w != nil && w.f != nil {
		w.f.Close()
	}
}

// aligned reports whether buf at off can be written directly.
func aligned(buf []byte, off int64) bool {
	return len(buf) > 0 && uintptr(unsafe.Pointer(&buf[0]))%directAlign == 0 &&
		len(buf)%directAlign == 0 && off%directAlign == 0
}
