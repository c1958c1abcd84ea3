// Command ebs-clibench measures the ebs client against a local ebsd in one
// run: it writes a sparse raw image (half of its 512 KiB blocks zero, the
// other half pseudo-random from a fixed seed), starts ebsd, and measures
//
//  1. the server's PutSnapshotBlock ceiling: a plain aws-sdk-go-v2 loop
//     with 64 goroutines that reads each non-zero block of the image,
//     hashes it and puts it, as the least any client must do;
//  2. ebs upload of the whole image (zero blocks included in the walk);
//  3. two plain aws-sdk-go-v2 GET loops with 64 goroutines on the
//     snapshot of the last upload: list, GetSnapshotBlock, SHA-256
//     check, and then either nothing (the least any verifying reader
//     must do) or an O_DIRECT write of each block into a file and an
//     fsync (the least any downloader must do: the write's own cost,
//     which the first loop leaves out);
//  4. ebs download of that snapshot, between two pairs of GET loops,
//     checked against the image.
//
// Ceilings and transfers alternate, and the same-run ratios (upload /
// put loop, download / each get loop) are printed last.
//
// Uploads and downloads run in a child process, so that its peak RSS
// (getrusage of the child) is the client's alone: the ebs binary given
// with -ebs, or else this program re-executed in a child mode that calls
// the same client package ebs uses.
//
// Usage:
//
//	go build -o /tmp/ebsd ./cmd/ebsd && go build -o /tmp/ebs ./cmd/ebs
//	go run ./cmd/ebs-clibench -ebsd /tmp/ebsd -ebs /tmp/ebs -size 4GiB
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
	if len(os.Args) > 1 && os.Args[1] == childCommand {
		if err := runChild(ctx, os.Args[2:]); err != nil {
			fmt.Fprintf(os.Stderr, "ebs-clibench child: %v\n", err)
			os.Exit(1)
		}
		return
	}
	var opts options
	flag.StringVar(&opts.ebsd, "ebsd", "ebsd", "the ebsd binary to start")
	flag.StringVar(&opts.ebs, "ebs", "", "the ebs binary to run uploads and downloads with (default: this program in a child mode, over the same client package)")
	flag.StringVar(&opts.dir, "dir", "", "directory for the image, the server's data and the download (default: a temporary directory)")
	flag.Var(&opts.size, "size", "image size (e.g. 4GiB, 512MiB)")
	flag.IntVar(&opts.workers, "workers", 64, "concurrent requests, for the ceiling loop and the client alike")
	flag.Uint64Var(&opts.seed, "seed", 1, "seed of the image's content")
	flag.IntVar(&opts.rounds, "rounds", 1, "ceiling/upload rounds, each on a new image (the report gives medians)")
	flag.BoolVar(&opts.download, "download", true, "also measure the download (of the last upload)")
	flag.IntVar(&opts.downloads, "downloads", 3, "download rounds, each between two pairs of plain SDK GET loops on the same snapshot (the report gives medians)")
	flag.BoolVar(&opts.verify, "verify", true, "compare the downloaded file with the image")
	flag.StringVar(&opts.profiles, "cpuprofile-dir", "", "write a CPU profile of each child transfer (upload-N.pprof, download-N.pprof) into this directory (child mode only, not with -ebs)")
	flag.StringVar(&opts.endpoint, "endpoint", "", "with -snapshot: the URL of a running ebsd that accepts the benchmark's credentials")
	flag.StringVar(&opts.snapshot, "snapshot", "", "measure only downloads of this existing snapshot at -endpoint (no image, no server, no upload)")
	opts.size = 4 << 30
	opts.profileRuns = new(int)
	flag.Parse()
	do := run
	if opts.snapshot != "" {
		do = runExisting
	}
	if err := do(ctx, opts); err != nil {
		fmt.Fprintf(os.Stderr, "ebs-clibench: %v\n", err)
		os.Exit(1)
	}
}
