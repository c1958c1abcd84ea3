// Command ebsd-powerloss runs a power-loss campaign against ebsd's embedded
// storage and garbage collector (see internal/powerloss): it cuts the
// power, or kills the process, at random instants of concurrent uploads,
// completions, timeouts, deletes, copies, collections and recoveries, on
// Pebble's crashable in-memory file system, and checks that every
// acknowledged snapshot, completion, copy and block survives each cut and
// each collection, that deleted snapshots are gone, and that deleting
// everything gives all the space back.
//
//	go run ./cmd/ebsd-powerloss -points 10000
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"time"

	"github.com/ebsd/ebsd/internal/powerloss"
)

func main() {
	points := flag.Int("points", 10000, "power cuts and process kills to make")
	cycles := flag.Int("cycles", 4, "cuts per scenario before deleting everything and starting from an empty store")
	workers := flag.Int("workers", 4, "concurrent clients (uploads, deletes, copies, reads)")
	seed := flag.Uint64("seed", uint64(time.Now().UnixNano()), "seed of the campaign")
	maxOps := flag.Int("max-ops", 60, "most acknowledgements of load before a cut")
	alphabet := flag.Int("alphabet", 24, "distinct block contents most writes draw from (fewer: more deduplication)")
	cold := flag.Int("cold", 30, "percent of writes of content held by one lineage only (-1: none)")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	fmt.Printf("ebsd-powerloss: seed %d, %d cuts\n", *seed, *points)
	last := time.Now()
	rep, err := powerloss.Run(ctx, powerloss.Config{
		CrashPoints: *points, Cycles: *cycles, Workers: *workers, Seed: *seed, MaxOps: *maxOps, Alphabet: *alphabet, ColdPercent: *cold,
		Progress: func(r powerloss.Report) {
			if time.Since(last) > 10*time.Second {
				last = time.Now()
				fmt.Println(" ", r)
			}
		},
	})
	fmt.Println(rep)
	if err != nil {
		fmt.Fprintf(os.Stderr, "ebsd-powerloss: FAILED (seed %d): %v\n", *seed, err)
		os.Exit(1)
	}
	fmt.Println("ebsd-powerloss: every acknowledgement survived every cut and every collection")
}
