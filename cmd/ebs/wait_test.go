package main

import (
	"context"
	"encoding/json"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ebs"

	"github.com/ebsd/ebsd/internal/ebstest"
)

// watchedAPI counts polls and fails the test on any CompleteSnapshot: ebs
// wait must never complete a snapshot.
type watchedAPI struct {
	apiClient
	t     *testing.T
	polls atomic.Int64
}

func (w *watchedAPI) ListSnapshotBlocks(ctx context.Context, in *ebs.ListSnapshotBlocksInput, o ...func(*ebs.Options)) (*ebs.ListSnapshotBlocksOutput, error) {
	w.polls.Add(1)
	return w.apiClient.ListSnapshotBlocks(ctx, in, o...)
}

func (w *watchedAPI) CompleteSnapshot(context.Context, *ebs.CompleteSnapshotInput, ...func(*ebs.Options)) (*ebs.CompleteSnapshotOutput, error) {
	w.t.Error("ebs wait called CompleteSnapshot")
	return nil, context.Canceled
}

func TestWaitCommand(t *testing.T) {
	ctx := context.Background()
	e := newReadEnv(t)
	blocks := map[int32][]byte{4: ebstest.Payload("a")}

	t.Run("completed by someone else", func(t *testing.T) {
		id := e.start(t, "", blocks)
		api := &watchedAPI{apiClient: e.api, t: t}
		done := make(chan error, 1)
		go func() {
			for api.polls.Load() < 3 {
				time.Sleep(5 * time.Millisecond)
			}
			done <- e.complete(id, blocks)
		}()
		code, out, errOut := e.ebs(ctx, api, "wait", "--json", "--interval", "10ms", "--timeout", "20s", id)
		if err := <-done; err != nil {
			t.Fatalf("CompleteSnapshot: %v", err)
		}
		if code != 0 || !strings.Contains(errOut, id+" is completed and readable") {
			t.Fatalf("exit %d, stderr %q", code, errOut)
		}
		var got waitOutput
		if err := json.Unmarshal([]byte(out), &got); err != nil || got.SnapshotID != id || got.Status != "completed" || got.WaitedSeconds <= 0 {
			t.Errorf("--json = %q (%v)", out, err)
		}
		if api.polls.Load() < 4 {
			t.Errorf("%d polls, want it to have waited", api.polls.Load())
		}
	})
	t.Run("times out", func(t *testing.T) {
		id := e.start(t, "", blocks)
		api := &watchedAPI{apiClient: e.api, t: t}
		begin := time.Now()
		code, out, errOut := e.ebs(ctx, api, "wait", "--interval", "20ms", "--timeout", "250ms", id)
		if code != 1 || out != "" || !strings.Contains(errOut, "timed out") || !strings.Contains(errOut, "pending (not completed yet)") {
			t.Errorf("exit %d, stdout %q, stderr %q: want exit 1 saying what a timeout means", code, out, errOut)
		}
		if d := time.Since(begin); d > 5*time.Second {
			t.Errorf("took %v", d)
		}
	})
	t.Run("usage", func(t *testing.T) {
		if code, _, _ := e.ebs(ctx, nil, "wait", "--interval", "0s", "snap-0123456789abcdef0"); code != 2 {
			t.Errorf("--interval 0: exit %d, want 2", code)
		}
	})
}
