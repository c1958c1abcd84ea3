package client_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ebs"
	"github.com/aws/aws-sdk-go-v2/service/ebs/types"

	"github.com/ebsd/ebsd/internal/client"
	"github.com/ebsd/ebsd/internal/ebstest"
)

func TestWait(t *testing.T) {
	_, api := dlServer(t, ebstest.Options{})
	blocks := map[int32][]byte{1: ebstest.Payload("a")}
	done := dlSnapshot(t, api, dlSpec{Blocks: blocks})

	t.Run("already readable", func(t *testing.T) {
		h := &hookedAPI{API: api}
		c, _ := dlClient(t, h, 4, nil)
		if err := c.Wait(context.Background(), done, client.WaitOptions{Interval: time.Millisecond}); err != nil {
			t.Fatalf("Wait: %v", err)
		}
		if h.lists.Load() != 1 {
			t.Errorf("%d polls, want 1", h.lists.Load())
		}
	})
	t.Run("completed by someone else", func(t *testing.T) {
		pending := dlStart(t, api, dlSpec{})
		dlPut(t, api, pending, blocks)
		h := &hookedAPI{API: api}
		c, _ := dlClient(t, h, 4, nil)
		polls := make(chan time.Duration, 100)
		go func() {
			<-polls
			<-polls // it has seen the snapshot pending twice
			count := int32(len(blocks))
			if _, err := api.CompleteSnapshot(context.Background(), &ebs.CompleteSnapshotInput{SnapshotId: &pending, ChangedBlocksCount: &count}); err != nil {
				t.Errorf("CompleteSnapshot: %v", err)
			}
		}()
		err := c.Wait(context.Background(), pending, client.WaitOptions{Interval: 5 * time.Millisecond, Timeout: 10 * time.Second,
			Pending: func(w time.Duration) { polls <- w }})
		if err != nil {
			t.Fatalf("Wait: %v", err)
		}
		if h.completes.Load() != 0 {
			t.Error("Wait called CompleteSnapshot")
		}
		if h.lists.Load() < 3 {
			t.Errorf("%d polls, want at least 3", h.lists.Load())
		}
	})
	t.Run("times out", func(t *testing.T) {
		pending := dlStart(t, api, dlSpec{})
		h := &hookedAPI{API: api}
		c, _ := dlClient(t, h, 4, nil)
		begin := time.Now()
		err := c.Wait(context.Background(), pending, client.WaitOptions{Interval: 10 * time.Millisecond, Timeout: 200 * time.Millisecond})
		if !errors.Is(err, client.ErrWaitTimeout) {
			t.Fatalf("Wait = %v, want ErrWaitTimeout", err)
		}
		if d := time.Since(begin); d < 200*time.Millisecond || d > 3*time.Second {
			t.Errorf("timed out after %v, want about 200ms", d)
		}
		if h.completes.Load() != 0 {
			t.Error("Wait called CompleteSnapshot")
		}
	})
	t.Run("other errors end it", func(t *testing.T) {
		h := &hookedAPI{API: api}
		h.list = func(context.Context, *ebs.ListSnapshotBlocksInput) (*ebs.ListSnapshotBlocksOutput, error) {
			return nil, &types.AccessDeniedException{Message: aws.String("no"), Reason: types.AccessDeniedExceptionReasonUnauthorizedAccount}
		}
		c, _ := dlClient(t, h, 4, nil)
		err := c.Wait(context.Background(), done, client.WaitOptions{Interval: time.Millisecond, Timeout: 10 * time.Second})
		var ad *types.AccessDeniedException
		if !errors.As(err, &ad) || h.lists.Load() != 1 {
			t.Errorf("Wait = %v after %d polls, want AccessDenied at once", err, h.lists.Load())
		}
	})
}

func TestInfo(t *testing.T) {
	_, api := dlServer(t, ebstest.Options{})
	parentBlocks := dlRandomBlocks(12, 30, 4096, 0)
	parent := dlSnapshot(t, api, dlSpec{VolumeSize: 2, Blocks: parentBlocks})
	childOwn := map[int32][]byte{4095: ebstest.Payload("x")}
	for i := range parentBlocks {
		childOwn[i] = ebstest.Payload("y") // an overwrite: still one block
		break
	}
	child := dlSnapshot(t, api, dlSpec{VolumeSize: 3, Parent: parent, Blocks: childOwn})
	pending := dlStart(t, api, dlSpec{})
	c, _ := dlClient(t, api, 4, nil)

	got, err := c.Info(context.Background(), parent)
	if err != nil {
		t.Fatalf("Info: %v", err)
	}
	want := client.Info{SnapshotID: parent, Status: "completed", VolumeSize: 2, BlockSize: client.BlockSize, Blocks: 30, WrittenBytes: 30 * client.BlockSize}
	if *got != want {
		t.Errorf("Info = %+v, want %+v", *got, want)
	}
	got, err = c.Info(context.Background(), child)
	if err != nil {
		t.Fatalf("Info: %v", err)
	}
	if n := int64(len(dlMerge(parentBlocks, childOwn))); got.Blocks != n || got.VolumeSize != 3 {
		t.Errorf("child: %d blocks of %d GiB, want %d of 3 GiB", got.Blocks, got.VolumeSize, n)
	}
	for _, id := range []string{pending, "snap-0123456789abcdef0"} {
		if _, err := c.Info(context.Background(), id); !errors.Is(err, client.ErrNotReadable) {
			t.Errorf("Info(%s) = %v, want ErrNotReadable", id, err)
		}
	}
}
