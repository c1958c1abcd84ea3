package main

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"os"
)

const blockSize = 524288

type options struct {
	ebsd     string
	dir      string
	workers  int
	blocks   int
	rounds   int
	baseline bool
	args     []string // extra ebsd flags of the put mode

	compression bool   // the compression mode instead of the put mode
	image       string // disk image of the compression mode; "" = random data only
}

func run(ctx context.Context, opts options) error {
	dir := opts.dir
	if dir == "" {
		var err error
		if dir, err = os.MkdirTemp("", "ebsd-bench-"); err != nil {
			return err
		}
		defer os.RemoveAll(dir)
	}
	if opts.compression {
		return runCompression(ctx, opts, dir)
	}
	return runPut(ctx, opts, dir)
}

// randomDataset returns n distinct blocks: one random block stamped with
// each block's index. Their checksums are computed before any clock
// starts, so that the client's own hashing (on the same two cores as the
// server) is not what is measured.
func randomDataset(n int) dataset {
	base := make([]byte, blockSize)
	for i := 0; i < blockSize; i += 8 {
		binary.LittleEndian.PutUint64(base[i:], rand.Uint64())
	}
	ds := dataset{name: "random", n: n, sums: make([]string, n)}
	ds.fill = func(buf []byte, i int) {
		copy(buf, base)
		binary.LittleEndian.PutUint64(buf, uint64(i)+1)
	}
	ds.sums = checksums(ds)
	return ds
}

// checksums returns the Base64 SHA-256 of every block of ds.
func checksums(ds dataset) []string {
	sums := make([]string, ds.n)
	buf := make([]byte, blockSize)
	for i := range sums {
		ds.fill(buf, i)
		d := sha256.Sum256(buf)
		sums[i] = base64.StdEncoding.EncodeToString(d[:])
	}
	return sums
}

// runPut measures PutSnapshotBlock against the disk's ceiling: rounds of
// an ebsd run and the two baselines, in an order that rotates from round
// to round, all on space written before (baselineFile), each ebsd run on
// a fresh data directory. It prints each round, then min/median/max, and
// last the ratios of each round's ebsd run to its own baselines.
func runPut(ctx context.Context, opts options, dir string) error {
	fmt.Printf("ebsd-bench: PutSnapshotBlock, %d blocks (%d MiB) with %d workers, %d rounds, data in %s\n",
		opts.blocks, opts.blocks/2, opts.workers, opts.rounds, dir)
	ds := randomDataset(opts.blocks)
	var f *os.File
	if opts.baseline {
		var err error
		if f, err = baselineFile(dir, opts.blocks); err != nil {
			return err
		}
		defer os.Remove(f.Name())
		defer f.Close()
	}
	var rates, plain, hashed, toPlain, toHashed, rss spread
	for r := range opts.rounds {
		steps := []string{"ebsd", "plain", "hashed"}
		if !opts.baseline {
			steps = steps[:1]
		}
		// Rotate, so that no measurement always runs first or last.
		steps = append(steps[r%len(steps):], steps[:r%len(steps)]...)
		var rate, p, h float64
		for _, step := range steps {
			var err error
			switch step {
			case "ebsd":
				var s session
				if s, err = runSession(ctx, opts, dir, ds, opts.args, false, false); err == nil {
					rate = s.putRate
					fmt.Printf("round %d: ebsd %.0f blocks/s (%.0f MiB/s), latency p50 %v p99 %v, server %.2f CPU-s/GiB, peak RSS %.0f MiB\n",
						r+1, s.putRate, s.putRate/2, s.p50, s.p99, s.putCPU, float64(s.rss)/(1<<20))
					rss = append(rss, float64(s.rss)/(1<<20))
				}
			case "plain":
				if p, err = diskCeiling(ctx, dir, f, opts.workers, opts.blocks, false); err == nil {
					fmt.Printf("round %d: baseline %.0f blocks/s\n", r+1, p)
				}
			case "hashed":
				if h, err = diskCeiling(ctx, dir, f, opts.workers, opts.blocks, true); err == nil {
					fmt.Printf("round %d: baseline + SHA-256 %.0f blocks/s\n", r+1, h)
				}
			}
			if err != nil {
				return err
			}
		}
		rates = append(rates, rate)
		if opts.baseline {
			plain, hashed = append(plain, p), append(hashed, h)
			toPlain, toHashed = append(toPlain, 100*rate/p), append(toHashed, 100*rate/h)
		}
	}
	fmt.Printf("\nebsd PutSnapshotBlock, blocks/s: %v; server peak RSS, MiB: %v\n", rates, rss)
	if !opts.baseline {
		return nil
	}
	fmt.Printf("baseline (same disk, space written before): write + group fdatasync + synced Pebble commit per 512 KiB block, %d writers, no network, blocks/s: %v\n", opts.workers, plain)
	fmt.Printf("baseline + the SHA-256 of each block, blocks/s: %v\n", hashed)
	fmt.Printf("same-run ratio, ebsd / baseline, %%: %v\n", toPlain)
	fmt.Printf("same-run ratio, ebsd / baseline + SHA-256, %%: %v\n", toHashed)
	return nil
}
