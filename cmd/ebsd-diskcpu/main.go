// Command ebsd-diskcpu measures the server's CPU per GiB of
// PutSnapshotBlock on a fast disk and on a slow one, in the same run, as
// issue #14 asks: the CPU a server spends per byte written must not grow
// when its disk is slow (goal: within 1.3×).
//
// The slow disk is the same disk, throttled for the server's process only
// with the kernel's block I/O controller (cgroup v1 blkio.throttle, or v2
// io.max): -write-iops writes per second and -write-bps bytes per second
// on the device that holds -dir. That needs root and a writable cgroup
// hierarchy; without them the command says so and stops.
//
// Each round starts a fresh ebsd (the binary given with -ebsd) twice, once
// unthrottled and once throttled, in alternating order, and uploads
// -blocks distinct random blocks into one snapshot with -workers
// concurrent PutSnapshotBlock calls through aws-sdk-go-v2. It reads the
// server's CPU time from /proc before and after the upload. It prints each
// run, then per mode the min/median/max of CPU-seconds per GiB and of
// blocks/s, and last the ratio of the medians, slow over fast.
//
// Usage:
//
//	go build -o /tmp/ebsd ./cmd/ebsd && go run ./cmd/ebsd-diskcpu -ebsd /tmp/ebsd
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"slices"
	"time"

	"github.com/ebsd/ebsd/internal/config"
)

type options struct {
	ebsd      string
	dir       string
	blocks    int
	workers   int
	rounds    int
	writeIOPS int
	writeBPS  int64
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	o := options{writeBPS: 32 << 20}
	flag.StringVar(&o.ebsd, "ebsd", "ebsd", "the ebsd binary to start")
	flag.StringVar(&o.dir, "dir", "", "directory for the servers' data (default: a temporary directory, removed at the end)")
	flag.IntVar(&o.blocks, "blocks", 2048, "distinct 512 KiB blocks uploaded per run")
	flag.IntVar(&o.workers, "workers", 16, "concurrent PutSnapshotBlock calls")
	flag.IntVar(&o.rounds, "rounds", 3, "rounds of one fast and one slow run each")
	flag.IntVar(&o.writeIOPS, "write-iops", 40, "write operations per second of the slow disk")
	flag.Func("write-bps", "write bytes per second of the slow disk (default 32MiB)", func(s string) error {
		n, err := config.ParseSize(s)
		o.writeBPS = n
		return err
	})
	flag.Parse()
	if err := run(ctx, o); err != nil {
		fmt.Fprintln(os.Stderr, "ebsd-diskcpu:", err)
		os.Exit(1)
	}
}

// result is one upload's measurement.
type result struct {
	slow      bool
	cpuPerGiB float64 // server CPU-seconds per GiB acknowledged
	sysPerGiB float64 // the part of cpuPerGiB spent in the kernel
	rate      float64 // blocks per second
}

func summarize(rs []result, slow bool) (cpu, rate [3]float64) {
	var cs, bs []float64
	for _, r := range rs {
		if r.slow == slow {
			cs, bs = append(cs, r.cpuPerGiB), append(bs, r.rate)
		}
	}
	return minMedMax(cs), minMedMax(bs)
}

func minMedMax(xs []float64) [3]float64 {
	if len(xs) == 0 {
		return [3]float64{}
	}
	xs = slices.Clone(xs)
	slices.Sort(xs)
	return [3]float64{xs[0], xs[len(xs)/2], xs[len(xs)-1]}
}

func mode(slow bool) string {
	if slow {
		return "slow"
	}
	return "fast"
}

func since(t time.Time) time.Duration { return time.Since(t).Round(time.Millisecond) }
