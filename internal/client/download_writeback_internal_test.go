package client

import (
	"sync"
	"sync/atomic"
	"testing"
)

// TestWritebackBatches guards the client CPU of downloads (issue 14):
// the kernel is asked to start writing the file out once per
// writebackEvery bytes, from one goroutine, not once per block by every
// worker.
func TestWritebackBatches(t *testing.T) {
	tests := []struct {
		name            string
		workers         int
		blocks          int
		atLeast, atMost int64
	}{
		{"fewer bytes than one batch", 8, writebackEvery/BlockSize - 1, 0, 0},
		{"exactly one batch", 1, writebackEvery / BlockSize, 1, 1},
		{"4096 blocks by 64 workers", 64, 4096, 1, 4096 * BlockSize / writebackEvery},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var calls atomic.Int64
			w := newWritebackFunc(func() { calls.Add(1) })
			var next atomic.Int64
			var wg sync.WaitGroup
			for range tc.workers {
				wg.Go(func() {
					for next.Add(1) <= int64(tc.blocks) {
						w.wrote(BlockSize)
					}
				})
			}
			wg.Wait()
			w.stop()
			if n := calls.Load(); n < tc.atLeast || n > tc.atMost {
				t.Errorf("%d blocks written: writeback started %d times, want %d..%d", tc.blocks, n, tc.atLeast, tc.atMost)
			}
		})
	}
}
