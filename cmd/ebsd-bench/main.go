// Command ebsd-bench measures ebsd's PutSnapshotBlock throughput the way a
// client sees it: the official aws-sdk-go-v2 EBS client over loopback, with
// SigV4, per-block checksums and durable acknowledgements. It starts its own
// ebsd process on a fresh data directory, reports blocks/s, MiB/s, latency
// percentiles and the server's peak RSS, and, as the baseline of the same
// run, the disk's own ceiling for 512 KiB appends with group fdatasync.
//
// Usage:
//
//	go build -o /tmp/ebsd ./cmd/ebsd && go run ./cmd/ebsd-bench -ebsd /tmp/ebsd
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	var opts options
	flag.StringVar(&opts.ebsd, "ebsd", "ebsd", "the ebsd binary to start")
	flag.StringVar(&opts.dir, "dir", "", "directory for the server's data and the baseline file (default: a temporary directory)")
	flag.IntVar(&opts.workers, "workers", 64, "concurrent uploaders")
	flag.IntVar(&opts.blocks, "blocks", 4096, "blocks to upload (distinct, random content)")
	flag.BoolVar(&opts.baseline, "baseline", true, "also measure the disk's append+fdatasync ceiling")
	flag.Parse()
	if err := run(ctx, opts); err != nil {
		fmt.Fprintf(os.Stderr, "ebsd-bench: %v\n", err)
		os.Exit(1)
	}
}
