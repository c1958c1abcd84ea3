package client

import (
	"os"
	"sync"
)

// writebackEvery is how many bytes a download writes between two
// requests to the kernel to start writing the file out (64 MiB).
const writebackEvery = 64 << 20

// writeback starts the kernel writing a download's file out while the
// download goes on, so that the disk works alongside the network instead
// of all at the final fsync, without a syscall per block: asking per 512
// KiB block (sync_file_range on each) made every worker submit I/O
// itself, in random order, and cost more client CPU than hashing the
// blocks (issue 14). One goroutine asks, for the whole file, once per
// writebackEvery bytes written; the workers only count.
type writeback struct {
	start func() // asks the kernel to start writing the file out

	mu      sync.Mutex
	pending int64 // bytes written since the last request
	kick    chan struct{}
	done    chan struct{}
}

// newWriteback returns a writeback of f, running until stop.
func newWriteback(f *os.File) *writeback {
	return newWritebackFunc(func() { startWriteback(f, 0, 0) })
}

// newWritebackFunc returns a writeback that calls start (tests count).
func newWritebackFunc(start func()) *writeback {
	w := &writeback{start: start, kick: make(chan struct{}, 1), done: make(chan struct{})}
	go func() {
		defer close(w.done)
		for range w.kick {
			w.start()
		}
	}()
	return w
}

// wrote counts n bytes written, and wakes the goroutine when another
// writebackEvery bytes are due. It never blocks: a request still running
// covers the bytes written since.
func (w *writeback) wrote(n int64) {
	w.mu.Lock()
	w.pending += n
	due := w.pending >= writebackEvery
	if due {
		w.pending = 0
	}
	w.mu.Unlock()
	if due {
		select {
		case w.kick <- struct{}{}:
		default:
		}
	}
}

// stop waits for the goroutine to finish; wrote must not be called after.
func (w *writeback) stop() {
	close(w.kick)
	<-w.done
}
