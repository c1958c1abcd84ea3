package client

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ebs"
)

// WaitOptions pace Wait.
type WaitOptions struct {
	// Interval is the pause between polls; 0 means 2 s.
	Interval time.Duration
	// Timeout bounds the wait; 0 means 10 minutes.
	Timeout time.Duration
	// Pending, if set, is called after each poll that found the snapshot
	// not readable yet, with the time waited so far.
	Pending func(waited time.Duration)
}

// ErrWaitTimeout means the snapshot did not become readable in time.
var ErrWaitTimeout = errors.New("timed out waiting for the snapshot to become readable")

// Wait polls until snapshot id is readable through the EBS direct APIs:
// completed, and visible (AWS lags some seconds behind EC2's "completed").
// It polls ListSnapshotBlocks (MaxResults 100), which is read-only: it
// never calls CompleteSnapshot, which would complete a pending snapshot
// that someone else is still writing. A 404 keeps it waiting (the
// snapshot is pending, failed, lagging or missing: the APIs cannot tell);
// any other error ends it. On timeout the error matches ErrWaitTimeout.
func (c *Client) Wait(ctx context.Context, id string, o WaitOptions) error {
	if o.Interval <= 0 {
		o.Interval = 2 * time.Second
	}
	if o.Timeout <= 0 {
		o.Timeout = 10 * time.Minute
	}
	start := c.opts.Now()
	wctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	timedOut := func(last error) error {
		return fmt.Errorf("%s: %w after %v (last answer: %v)", id, ErrWaitTimeout, o.Timeout, last)
	}
	for {
		err := c.call(wctx, "ListSnapshotBlocks "+id+" (wait)", false, func(ctx context.Context) error {
			_, err := c.api.ListSnapshotBlocks(ctx, &ebs.ListSnapshotBlocksInput{SnapshotId: aws.String(id), MaxResults: aws.Int32(MinPageSize)})
			return err
		})
		switch {
		case err == nil:
			return nil
		case ctx.Err() != nil:
			return ctx.Err()
		case wctx.Err() != nil:
			return timedOut(err)
		case !IsNotFound(err):
			return fmt.Errorf("wait for %s: %w", id, err)
		}
		waited := c.opts.Now().Sub(start)
		c.log.Debug("snapshot not readable yet", "snapshot", id, "waited", waited)
		if o.Pending != nil {
			o.Pending(waited)
		}
		t := time.NewTimer(o.Interval)
		select {
		case <-wctx.Done():
			t.Stop()
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return timedOut(err)
		case <-t.C:
		}
	}
}
