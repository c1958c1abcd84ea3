package main

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/cockroachdb/pebble/v2"
)

// baselineFile creates the file the baselines write into, dir/baseline.dat,
// and writes it whole (blocks of 512 KiB) and fsyncs it before any clock
// starts: every baseline then overwrites space that is allocated and
// written already, whichever runs first. (A baseline on fresh space pays
// for allocating it, and one that runs after another reuses the space the
// first freed: that order made the two baselines differ by 24-60%.)
func baselineFile(dir string, blocks int) (*os.File, error) {
	f, err := os.Create(filepath.Join(dir, "baseline.dat"))
	if err != nil {
		return nil, err
	}
	buf := make([]byte, 8<<20)
	for off := int64(0); off < int64(blocks)*blockSize; off += int64(len(buf)) {
		n := min(int64(len(buf)), int64(blocks)*blockSize-off)
		if _, err := f.WriteAt(buf[:n], off); err != nil {
			f.Close()
			return nil, err
		}
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// diskCeiling measures how many 512 KiB blocks per second this disk takes
// the way any durable block store must write them: writers write blocks
// one after the other into f, which baselineFile wrote whole, and share
// fdatasyncs (group commit), then record each block's mapping in Pebble
// with a synced commit (which Pebble groups too). It is the least work a
// 201 can stand on, with no network, HTTP, SigV4 or hashing unless hash is
// set, which adds the one SHA-256 per block that checksum verification
// requires. Writers write under a lock; the first writer that finds its
// bytes unsynced fdatasyncs everything written so far and releases the
// others it covered.
func diskCeiling(ctx context.Context, dir string, f *os.File, writers, blocks int, hash bool) (float64, error) {
	dbDir := filepath.Join(dir, "baseline-pebble")
	os.RemoveAll(dbDir)
	db, err := pebble.Open(dbDir, &pebble.Options{Logger: quietLogger{}})
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(dbDir)
	defer db.Close()

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
				id := next
				next++
				mu.Unlock()
				if hash {
					sink := sha256.Sum256(block)
					_ = sink
				}
				mu.Lock()
				if _, err := f.WriteAt(block, written); err != nil {
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
				failed := ferr != nil
				mu.Unlock()
				if failed {
					return
				}
				var key [8]byte
				binary.BigEndian.PutUint64(key[:], uint64(id))
				if err := db.Set(key[:], block[:64], pebble.Sync); err != nil {
					mu.Lock()
					ferr = err
					mu.Unlock()
					return
				}
			}
		}()
	}
	wg.Wait()
	if ferr != nil {
		return 0, ferr
	}
	return float64(blocks) / time.Since(began).Seconds(), ctx.Err()
}

// quietLogger silences Pebble's informational logs.
type quietLogger struct{}

func (quietLogger) Infof(string, ...any)  {}
func (quietLogger) Errorf(string, ...any) {}
func (quietLogger) Fatalf(format string, args ...any) {
	panic(fmt.Sprintf(format, args...))
}
