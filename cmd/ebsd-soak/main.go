// Command ebsd-soak runs many official-SDK clients against one ebsd for a
// bounded time and checks that nothing drifts: every read matches what was
// written, no request fails except by throttling, and the server's
// goroutines, open files and memory stop growing after warm-up.
//
// Each of the -w workers loops over one snapshot's life: StartSnapshot
// (full, or incremental on its previous snapshot), 1 to 32 puts of fresh or
// duplicate content, CompleteSnapshot with the LINEAR checksum,
// ListSnapshotBlocks against the expected view, GetSnapshotBlock with its
// checksum and content verified, and ListChangedBlocks against the parent.
// Every 10 s it samples the server's RSS, goroutines (/metrics) and open
// file descriptors (/proc/PID/fd) and prints a row of a table.
//
// It exits 1 on any data mismatch, on any error that is not throttling, and
// on growth beyond the tolerance stated in its report; 2 on a usage error.
//
// Usage:
//
//	go build -o /tmp/ebsd ./cmd/ebsd && go run ./cmd/ebsd-soak -ebsd /tmp/ebsd -d 10m -w 64
//	go run ./cmd/ebsd-soak -endpoint http://127.0.0.1:8450 -pid $(pidof ebsd)   # a running server
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"os/signal"
	"syscall"
	"time"
)

// options are the command line.
type options struct {
	ebsd     string        // binary to start, when endpoint is ""
	endpoint string        // a running server on loopback
	pid      int           // its process, for /proc; 0 = use /metrics only
	dir      string        // data directory of the started server; "" = temporary
	keyID    string        // credentials for endpoint
	secret   string        //
	region   string        //
	duration time.Duration // how long the workers run
	workers  int           //
	sample   time.Duration // sampling interval
	warmup   time.Duration // growth is measured from the first sample after it
	fresh    float64       // share of puts with never-seen content
	maxFresh int           // bound on fresh blocks, hence on disk use
	pool     int           // distinct contents that duplicate puts draw from
	seed     uint64        // of the workers' choices; 0 = from the clock
	tol      tolerance     //
}

// Bounds that keep a mistyped flag from running for days or filling the
// disk.
const (
	maxDuration = 24 * time.Hour
	maxWorkers  = 1024
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	o, err := parseFlags(os.Args[1:], os.Getenv, os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(0)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "ebsd-soak: %v\n", err)
		os.Exit(2)
	}
	ok, err := run(ctx, o, os.Stdout)
	if err != nil {
		fmt.Fprintf(os.Stderr, "ebsd-soak: %v\n", err)
		os.Exit(1)
	}
	if !ok {
		os.Exit(1)
	}
}

func parseFlags(args []string, getenv func(string) string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("ebsd-soak", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.ebsd, "ebsd", "ebsd", "the ebsd binary to start on a loopback port (unless -endpoint)")
	fs.StringVar(&o.endpoint, "endpoint", "", "soak a running ebsd at this loopback URL instead, with the keys in AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY")
	fs.IntVar(&o.pid, "pid", 0, "with -endpoint: the server's pid, to sample /proc/PID (default: /metrics' process_* values)")
	fs.StringVar(&o.dir, "dir", "", "data directory of the started server, kept afterwards (default: a temporary one, removed)")
	fs.DurationVar(&o.duration, "d", 10*time.Minute, "how long to run")
	fs.IntVar(&o.workers, "w", 64, "concurrent SDK clients")
	fs.DurationVar(&o.sample, "sample", 10*time.Second, "sampling interval of RSS, goroutines and fds")
	fs.DurationVar(&o.warmup, "warmup", 0, "growth is measured from the first sample after this (default: a third of -d, at most 2m)")
	fs.Float64Var(&o.fresh, "fresh", 0.2, "share of puts with never-seen content; the rest duplicate a pool")
	fs.IntVar(&o.maxFresh, "max-fresh", 16384, "most fresh blocks to write (512 KiB each), bounding disk use; then puts are duplicates")
	fs.IntVar(&o.pool, "pool", 2048, "distinct contents that duplicate puts draw from")
	fs.Uint64Var(&o.seed, "seed", 0, "seed of the workers' random choices, printed at start (default: from the clock)")
	fs.Float64Var(&o.tol.frac, "tolerance", 0.5, "allowed growth after warm-up, as a fraction of the warm-up value (plus a fixed slack: 64 goroutines, 64 fds and one per new pack, 128 MiB RSS)")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	o.keyID, o.secret = getenv("AWS_ACCESS_KEY_ID"), getenv("AWS_SECRET_ACCESS_KEY")
	o.region = getenv("AWS_REGION")
	if o.region == "" {
		o.region = getenv("AWS_DEFAULT_REGION")
	}
	if o.region == "" {
		o.region = "us-east-1"
	}
	if o.warmup == 0 {
		o.warmup = min(o.duration/3, 2*time.Minute)
	}
	return o, o.validate()
}

func (o options) validate() error {
	switch {
	case o.duration <= 0 || o.duration > maxDuration:
		return fmt.Errorf("-d %v: want more than 0 and at most %v", o.duration, maxDuration)
	case o.workers < 1 || o.workers > maxWorkers:
		return fmt.Errorf("-w %d: want 1 to %d", o.workers, maxWorkers)
	case o.sample <= 0:
		return fmt.Errorf("-sample %v: want more than 0", o.sample)
	case o.fresh < 0 || o.fresh > 1:
		return fmt.Errorf("-fresh %v: want 0 to 1", o.fresh)
	case o.maxFresh < 0 || o.pool < 1:
		return fmt.Errorf("-max-fresh %d, -pool %d: want at least 0 and 1", o.maxFresh, o.pool)
	case o.tol.frac < 0:
		return fmt.Errorf("-tolerance %v: want at least 0", o.tol.frac)
	}
	if o.endpoint == "" {
		return nil
	}
	if o.keyID == "" || o.secret == "" {
		return errors.New("-endpoint needs AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (eval \"$(ebsd credentials)\")")
	}
	return checkLoopback(o.endpoint)
}

// checkLoopback refuses an endpoint off this machine: a soak is a load
// test, and pointing one at a shared or remote server by mistake is costly.
func checkLoopback(endpoint string) error {
	u, err := url.Parse(endpoint)
	if err != nil || u.Host == "" {
		return fmt.Errorf("-endpoint %q: want a URL like http://127.0.0.1:8450", endpoint)
	}
	host := u.Hostname()
	if ip := net.ParseIP(host); host == "localhost" || (ip != nil && ip.IsLoopback()) {
		return nil
	}
	return fmt.Errorf("-endpoint %q: ebsd-soak runs only against loopback (127.0.0.1, ::1, localhost)", endpoint)
}
