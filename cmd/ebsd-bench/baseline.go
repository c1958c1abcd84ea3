package main

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"
)

// diskCeiling measures how many 512 KiB blocks per second the disk takes
// when writers append to one file and share fdatasyncs, the best any
// durable block store on this disk can do. Writers append under a lock;
// a syncer goroutine fdatasyncs whatever has been written and releases
// everyone it covered.
func diskCeiling(ctx context.Context, dir string, writers, blocks int) (float64, error) {
	f, err := os.Create(filepath.Join(dir, "baseline.dat"))
	if err != nil {
		return 0, err
	}
	defer os.Remove(f.Name())
	defer f.Close()

	var (
		mu      sync.Mutex
		cond    = sync.NewCond(&mu)
		written int64 // bytes appended
		synced  int64 // bytes known durable
		syncing bool
		next    int
		ferr    error
	)
	block := make([]byte, 524288)
	for i := range block {
		block[i] = byte(i * 7)
	}
	began := time.Now()
	var wg sync.WaitGroup
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				mu.Lock()
				if next >= blocks || ferr != nil {
					mu.Unlock()
					return
				}
				next++
				mu.Unlock()
				mu.Lock()
				if _, err := f.Write(block); err != nil {
					ferr = err
				}
				written += int64(len(block))
				end := written
				for synced < end && ferr == nil {
					if !syncing {
						syncing = true
						target := written
						mu.Unlock()
						err := syscall.Fdatasync(int(f.Fd()))
						mu.Lock()
						syncing = false
						if err != nil {
							ferr = err
						}
						synced = target
						cond.Broadcast()
					} else {
						cond.Wait()
					}
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if ferr != nil {
		return 0, ferr
	}
	return float64(blocks) / time.Since(began).Seconds(), ctx.Err()
}
