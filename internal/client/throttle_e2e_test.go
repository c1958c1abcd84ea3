package client_test

import (
	"bytes"
	"context"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/ebsd/ebsd/internal/client"
	"github.com/ebsd/ebsd/internal/ebstest"
	"github.com/ebsd/ebsd/internal/throttle"
)

// TestTransfersUnderServerThrottling runs an upload and a download with 32
// workers against an ebsd whose per-snapshot quotas admit far fewer
// requests (the real -throttle machinery, AWS's errors): both must finish
// with every block intact, having been throttled and having lowered their
// concurrency, rather than failing blocks after their retries.
func TestTransfersUnderServerThrottling(t *testing.T) {
	q := throttle.AWS()
	for _, op := range []throttle.Op{throttle.PutSnapshotBlock, throttle.GetSnapshotBlock} {
		if err := q.Set(op, throttle.Snapshot, throttle.Limit{Rate: 60, Burst: 4}); err != nil {
			t.Fatal(err)
		}
	}
	_, api := dlServer(t, ebstest.Options{Throttle: &q})
	const size = 48 * bs
	image := make([]byte, size)
	fillRandom(rand.New(rand.NewPCG(11, 12)), image)

	// The default retry policy, as a user has it: the point is that the
	// client's own backoff and concurrency control get through.
	c := client.New(api, client.Options{Workers: 32, Retry: client.DefaultRetryPolicy, StateDir: t.TempDir()})
	ctx := context.Background()
	up, err := c.Upload(ctx, client.UploadInput{Image: bytes.NewReader(image), Size: size})
	if err != nil {
		t.Fatalf("upload under throttling: %v", err)
	}
	t.Logf("upload: %d puts throttled, concurrency lowered to %d", up.Throttled, up.LowestConcurrency)
	if up.Throttled == 0 || up.LowestConcurrency >= 32 {
		t.Errorf("upload was throttled %d times and kept %d in flight: the quota did not bite or the client did not adapt",
			up.Throttled, up.LowestConcurrency)
	}

	path := filepath.Join(t.TempDir(), "restored.raw")
	down, err := c.Download(ctx, client.DownloadInput{SnapshotID: up.SnapshotID, Path: path})
	if err != nil {
		t.Fatalf("download under throttling: %v", err)
	}
	t.Logf("download: %d gets throttled, concurrency lowered to %d", down.Throttled, down.LowestConcurrency)
	if down.Throttled == 0 || down.LowestConcurrency >= 32 {
		t.Errorf("download was throttled %d times and kept %d in flight", down.Throttled, down.LowestConcurrency)
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got[:size], image) {
		t.Fatal("the downloaded image differs from the uploaded one")
	}
}
