// Command ebsd-gcbench measures ebsd's garbage collection on a live
// server, as issue #12 asks: collecting a store with 10 GiB of packs at 50%
// garbage, its time and the bytes it rewrites, and the throughput of an
// upload that runs during it, against the same upload without a
// collection, in the same run.
//
// It starts its own ebsd processes (the binary given with -ebsd) on a fresh
// data directory and drives them with the official aws-sdk-go-v2 EBS and
// EC2 clients:
//
//  1. Fill (a server without a collector): -fill bytes of distinct random
//     blocks, interleaved into -snapshots snapshots so that every pack
//     holds blocks of each; all are completed, then every other snapshot
//     is deleted with EC2 DeleteSnapshot: every pack is about half
//     garbage. The pack files are then dropped from the page cache (-cold),
//     so that the collection reads them from the disk.
//  2. The server restarts with -gc-interval set to -gc-delay: its first
//     collection starts that long after it serves (at most a minute, the
//     server's first run), which is how the benchmark starts a collection
//     from outside without any endpoint of its own. Before it, after a
//     warm-up of 256 blocks (at most), the upload U (-blocks distinct blocks into a
//     new snapshot, -workers concurrent PutSnapshotBlock) runs alone: the
//     baseline.
//  3. From just before the collection until its "garbage collection done"
//     log line, U runs again, round after round (a new snapshot and new
//     content each round). Its throughput counts the blocks acknowledged
//     between the collection's start and end (its logged duration back
//     from the line). Then U runs once more alone, as a control of the
//     run's noise.
//
// It prints the collection's phases from the server's log (-log-format
// json): sweep and compaction times, the bytes compaction rewrote and
// reclaimed; the pack bytes on disk before and after; for each upload its
// blocks/s and latency percentiles with the server's and the client's CPU
// use, the server's disk reads and writes, the disk's busy time and the
// machine's CPU and I/O pressure; and the ratio of U during the collection
// to U before it (issue #12's target: at least 0.8). When U before and
// after differ by more than 15%, it says the run was too noisy to trust:
// client and server share the machine, and so does anything else running.
//
// Usage (the benchmark; it needs about 25 GiB of free disk: the
// 10 GiB fill, up to -rounds GiB of U's rounds, 2 GiB more of U):
//
//	go build -o /tmp/ebsd ./cmd/ebsd && go run ./cmd/ebsd-gcbench -ebsd /tmp/ebsd -fill 10GiB
//
// A quicker run: -fill 2GiB -blocks 1024.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"time"

	"github.com/ebsd/ebsd/internal/config"
)

// options are the command's flags.
type options struct {
	ebsd        string
	dir         string
	keep        bool
	fill        int64
	snapshots   int
	fillWorkers int
	blocks      int
	workers     int
	rounds      int
	delay       time.Duration
	minLive     float64
	packSize    string
	compactRate string
	cold        bool
	control     bool
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	o := options{fill: 10 << 30}
	flag.StringVar(&o.ebsd, "ebsd", "ebsd", "the ebsd binary to start")
	flag.StringVar(&o.dir, "dir", "", "directory for the server's data (default: a temporary directory, removed at the end)")
	flag.BoolVar(&o.keep, "keep", false, "keep the data directory at the end")
	flag.Func("fill", "bytes of distinct blocks to fill the store with, half of them then deleted, like 10GiB or 2GiB (default 10GiB)",
		func(s string) (err error) { o.fill, err = config.ParseSize(s); return err })
	flag.IntVar(&o.snapshots, "snapshots", 8, "snapshots the fill is interleaved into (every other one is deleted); even")
	flag.IntVar(&o.fillWorkers, "fill-workers", 16, "concurrent uploaders of the fill")
	flag.IntVar(&o.blocks, "blocks", 2048, "blocks of the upload U (one round)")
	flag.IntVar(&o.workers, "workers", 16, "concurrent uploaders of U")
	flag.IntVar(&o.rounds, "rounds", 10, "most rounds of U during the collection; checksums for them are computed up front")
	flag.DurationVar(&o.delay, "gc-delay", time.Minute, "when the collection starts after the server serves (its -gc-interval; at most 1m): U's baseline must fit before it")
	flag.Float64Var(&o.minLive, "min-live", 0.6, "the server's -gc-min-live: 0.6 makes every pack at about 50% garbage a compaction source, "+
		"where the default 0.5 would take only those a little over half garbage")
	flag.StringVar(&o.packSize, "pack-size", "", "the server's -pack-size (default: the server's)")
	flag.StringVar(&o.compactRate, "gc-compact-rate", "", "the server's -gc-compact-rate (default: the server's)")
	flag.BoolVar(&o.cold, "cold", true, "drop the pack files from the page cache before the measuring server starts")
	flag.BoolVar(&o.control, "control", true, "then fill a second store the same way and run U on the same timeline with no collection: "+
		"the baseline for U during the collection over the same seconds of sustained writing")
	flag.Parse()
	if err := o.check(); err != nil {
		fmt.Fprintf(os.Stderr, "ebsd-gcbench: %v\n", err)
		os.Exit(2)
	}
	if err := run(ctx, o); err != nil {
		fmt.Fprintf(os.Stderr, "ebsd-gcbench: %v\n", err)
		os.Exit(1)
	}
}

func (o options) check() error {
	switch {
	case o.fill < blockSize*int64(o.snapshots):
		return fmt.Errorf("-fill %d is less than one block per snapshot", o.fill)
	case o.snapshots < 2 || o.snapshots%2 != 0:
		return fmt.Errorf("-snapshots %d: want an even number, at least 2", o.snapshots)
	case o.blocks < 1 || o.workers < 1 || o.fillWorkers < 1 || o.rounds < 1:
		return fmt.Errorf("-blocks, -workers, -fill-workers and -rounds must be positive")
	case o.delay <= 0 || o.delay > time.Minute:
		return fmt.Errorf("-gc-delay %v: want more than 0 and at most 1m (the server runs its first collection a minute after start-up at the latest)", o.delay)
	}
	return nil
}
