package client_test

import (
	"bytes"
	"context"
	"io"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ebs"
	"github.com/aws/aws-sdk-go-v2/service/ebs/types"

	"github.com/ebsd/ebsd/internal/client"
	"github.com/ebsd/ebsd/internal/ebstest"
)

// throttlingAPI is a service that serves at most k block requests (puts
// and gets) at once and throttles the others, with AWS's
// RequestThrottledException, after a round trip's delay. It records how
// many requests each arriving request found in flight, itself included:
// the concurrency the client really drives.
type throttlingAPI struct {
	client.API
	k int64

	inflight  atomic.Int64
	throttled atomic.Int64
	mu        sync.Mutex
	arrivals  []int64
}

// admit lets a request in, or answers it throttled. An admitted request
// must call done when its answer is complete.
func (a *throttlingAPI) admit(ctx context.Context, op string) error {
	n := a.inflight.Add(1)
	a.mu.Lock()
	a.arrivals = append(a.arrivals, n)
	a.mu.Unlock()
	if n <= a.k {
		return nil
	}
	defer a.inflight.Add(-1)
	a.throttled.Add(1)
	select {
	case <-time.After(time.Millisecond):
	case <-ctx.Done():
		return ctx.Err()
	}
	return opError(op, 400, &types.RequestThrottledException{Message: aws.String("Rate exceeded"), Reason: types.RequestThrottledExceptionReasonResourceLevelThrottle})
}

func (a *throttlingAPI) done() { a.inflight.Add(-1) }

func (a *throttlingAPI) PutSnapshotBlock(ctx context.Context, in *ebs.PutSnapshotBlockInput, o ...func(*ebs.Options)) (*ebs.PutSnapshotBlockOutput, error) {
	if err := a.admit(ctx, "PutSnapshotBlock"); err != nil {
		return nil, err
	}
	defer a.done()
	return a.API.PutSnapshotBlock(ctx, in, o...)
}

func (a *throttlingAPI) GetSnapshotBlock(ctx context.Context, in *ebs.GetSnapshotBlockInput, o ...func(*ebs.Options)) (*ebs.GetSnapshotBlockOutput, error) {
	if err := a.admit(ctx, "GetSnapshotBlock"); err != nil {
		return nil, err
	}
	out, err := a.API.GetSnapshotBlock(ctx, in, o...)
	if err != nil {
		a.done()
		return nil, err
	}
	// The request is in flight until its body is read.
	out.BlockData = &doneBody{ReadCloser: out.BlockData, done: a.done}
	return out, nil
}

type doneBody struct {
	io.ReadCloser
	once sync.Once
	done func()
}

func (b *doneBody) Close() error {
	b.once.Do(b.done)
	return b.ReadCloser.Close()
}

// settled returns the mean and the largest concurrency the second half
// of the requests found: the state the transfer settled in.
func (a *throttlingAPI) settled() (mean float64, most int64) {
	a.mu.Lock()
	defer a.mu.Unlock()
	late := a.arrivals[len(a.arrivals)/2:]
	var sum int64
	for _, n := range late {
		sum += n
		most = max(most, n)
	}
	return float64(sum) / float64(max(len(late), 1)), most
}

// throttleRetry is the default policy's ten attempts, without the waiting.
var throttleRetry = client.RetryPolicy{
	MaxAttempts: 10, BaseDelay: time.Millisecond, MaxDelay: 20 * time.Millisecond,
	AttemptTimeout: 20 * time.Second, TotalTimeout: time.Minute,
}

// TestTransfersAdaptToThrottling runs an upload and a download with 32
// workers against a service that takes 4 requests at a time: both must
// finish, every block intact, with the concurrency they drive settled
// near 4 rather than throttled round after round at 32.
func TestTransfersAdaptToThrottling(t *testing.T) {
	const (
		workers = 32
		k       = 4
		blocks  = 96
	)
	e := newEnv(t)
	var image []byte
	for i := range blocks {
		image = append(image, ebstest.Random(uint64(1000+i))...)
	}
	check := func(t *testing.T, a *throttlingAPI, throttled int64, lowest int) {
		t.Helper()
		mean, most := a.settled()
		t.Logf("%d requests, %d throttled (result: %d), lowest concurrency %d; settled at a mean of %.1f in flight, at most %d (service limit %d)",
			len(a.arrivals), a.throttled.Load(), throttled, lowest, mean, most, k)
		if throttled != a.throttled.Load() || throttled == 0 || lowest > k {
			t.Errorf("result says %d throttled, lowest concurrency %d; the service throttled %d: want them equal and the concurrency lowered to %d or less",
				throttled, lowest, a.throttled.Load(), k)
		}
		// Without adapting, each round of 32 requests has 28 throttled:
		// several hundred throttles for 96 blocks, and blocks failing.
		if got, limit := a.throttled.Load(), int64(blocks/2+2*workers); got > limit {
			t.Errorf("%d requests throttled, want at most %d", got, limit)
		}
		if most > 2*k || mean < 1 {
			t.Errorf("settled at a mean of %.1f requests in flight, at most %d; want near %d", mean, most, k)
		}
	}

	t.Run("upload", func(t *testing.T) {
		a := &throttlingAPI{API: e.api, k: k}
		c := client.New(a, client.Options{Workers: workers, Retry: throttleRetry, StateDir: e.state})
		res, err := c.Upload(context.Background(), client.UploadInput{Image: bytes.NewReader(image), Size: int64(len(image)), Wait: true})
		if err != nil {
			t.Fatalf("Upload: %v", err)
		}
		if res.Written != blocks {
			t.Errorf("%d blocks written, want %d", res.Written, blocks)
		}
		checkSnapshot(t, e.api, res.SnapshotID, image)
		check(t, a, res.Throttled, res.LowestConcurrency)
	})
	t.Run("download", func(t *testing.T) {
		want := map[int32][]byte{}
		for i := range blocks {
			want[int32(i)] = image[i*bs : (i+1)*bs]
		}
		id := dlSnapshot(t, e.api, dlSpec{Blocks: want})
		a := &throttlingAPI{API: e.api, k: k}
		c := client.New(a, client.Options{Workers: workers, Retry: throttleRetry, StateDir: t.TempDir()})
		path := filepath.Join(t.TempDir(), "disk.img")
		res, err := c.Download(context.Background(), client.DownloadInput{SnapshotID: id, Path: path})
		if err != nil {
			t.Fatalf("Download: %v", err)
		}
		if res.Written != blocks {
			t.Errorf("%d blocks written, want %d", res.Written, blocks)
		}
		dlCheckSparse(t, path, 1, want)
		check(t, a, res.Throttled, res.LowestConcurrency)
	})
}
