package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ebsd/ebsd/internal/client"
)

const waitSummary = `Wait until a snapshot is completed and readable through the EBS direct
APIs, polling ListSnapshotBlocks; exit 0 once it is, 1 on timeout.

It only reads: it never calls CompleteSnapshot, which would complete a
snapshot someone else is still writing ('ebs upload --wait' completes its
own). While the snapshot is pending the APIs answer "not found", as they do
for a snapshot that failed or does not exist, or that AWS has completed but
not yet made readable (a lag of seconds to a minute): all of these keep it
waiting until --timeout.`

// waitOutput is the --json result of ebs wait.
type waitOutput struct {
	SnapshotID    string  `json:"snapshot_id"`
	Status        string  `json:"status"`
	WaitedSeconds float64 `json:"waited_seconds"`
}

// waitReportEvery is how often ebs wait says it is still waiting.
const waitReportEvery = 30 * time.Second

func runWait(ctx context.Context, m *Main, args []string) error {
	var g Globals
	var o client.WaitOptions
	fs := newFlagSet(m, "wait", "[flags] SNAPSHOT", waitSummary, &g)
	fs.DurationVar(&o.Interval, "interval", 2*time.Second, "pause between polls")
	fs.DurationVar(&o.Timeout, "timeout", 10*time.Minute, "give up after this long")
	pos, err := parse(fs, args, 1)
	if err != nil {
		return err
	}
	if o.Interval <= 0 || o.Timeout <= 0 {
		return usagef("--interval and --timeout must be positive")
	}
	id := pos[0]
	c, err := m.client(ctx, &g, nil)
	if err != nil {
		return err
	}
	var reported time.Duration
	o.Pending = func(waited time.Duration) {
		if !g.Quiet && waited-reported >= waitReportEvery {
			reported = waited
			fmt.Fprintf(m.Stderr, "still waiting for %s to become readable (%v so far)\n", id, waited.Round(time.Second))
		}
	}
	start := time.Now()
	err = c.Wait(ctx, id, o)
	if errors.Is(err, client.ErrWaitTimeout) {
		return fmt.Errorf("timed out: %s is still not readable after %v. It is pending (not completed yet), "+
			"failed (error state), or does not exist: the EBS direct APIs cannot tell these apart; "+
			"'ebs snapshots %s' (EC2 DescribeSnapshots) can", id, o.Timeout, id)
	}
	if err != nil {
		return err
	}
	waited := time.Since(start)
	if !g.Quiet {
		fmt.Fprintf(m.Stderr, "%s is completed and readable (waited %v)\n", id, waited.Round(time.Millisecond))
	}
	if g.JSON {
		return printJSON(m.Stdout, waitOutput{SnapshotID: id, Status: "completed", WaitedSeconds: waited.Seconds()})
	}
	return nil
}
