// Command ebsd-bench measures ebsd the way a client sees it: the official
// aws-sdk-go-v2 EBS client over loopback, with SigV4, per-block checksums
// and durable acknowledgements, against ebsd processes it starts on fresh
// data directories. Every measurement is repeated in rounds whose order
// rotates, and reported as median (min, max); ratios are taken within a
// round and printed last, since only those survive a disk whose speed
// swings from run to run.
//
// The default mode measures PutSnapshotBlock (blocks/s, latency, server
// CPU per GiB and peak RSS) against the disk's own ceiling for 512 KiB
// writes with group fdatasync, with and without hashing, on space written
// before the clock starts. -compression measures -compression zstd
// against off: bytes stored per logical byte, and Put and Get rates, on
// random data and on a disk image (-image; scripts/bench-image.sh builds
// a debootstrapped Debian one).
//
// Usage:
//
//	go build -o /tmp/ebsd ./cmd/ebsd && go run ./cmd/ebsd-bench -ebsd /tmp/ebsd
//	go run ./cmd/ebsd-bench -ebsd /tmp/ebsd -compression -image "$(scripts/bench-image.sh)"
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	var opts options
	var args string
	flag.StringVar(&opts.ebsd, "ebsd", "ebsd", "the ebsd binary to start")
	flag.StringVar(&opts.dir, "dir", "", "directory for the servers' data and the baseline file (default: a temporary directory)")
	flag.IntVar(&opts.workers, "workers", 64, "concurrent uploaders (and readers)")
	flag.IntVar(&opts.blocks, "blocks", 4096, "random blocks to upload per run (distinct)")
	flag.IntVar(&opts.rounds, "rounds", 3, "rounds: each runs every measurement once")
	flag.BoolVar(&opts.baseline, "baseline", true, "also measure the disk's append+fdatasync ceiling")
	flag.BoolVar(&opts.compression, "compression", false, "measure -compression zstd and zstd-on-write against off instead")
	flag.StringVar(&opts.image, "image", "", "with -compression, also upload the non-zero blocks of this disk image")
	flag.StringVar(&args, "args", "", "more ebsd flags, separated by spaces")
	flag.Parse()
	opts.args = strings.Fields(args)
	if opts.rounds < 1 || opts.workers < 1 || opts.blocks < 1 {
		fmt.Fprintln(os.Stderr, "ebsd-bench: -rounds, -workers and -blocks must be at least 1")
		os.Exit(2)
	}
	if err := run(ctx, opts); err != nil {
		fmt.Fprintf(os.Stderr, "ebsd-bench: %v\n", err)
		os.Exit(1)
	}
}
