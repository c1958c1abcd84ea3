package main_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ebs"
	"github.com/aws/aws-sdk-go-v2/service/ebs/types"

	ebscreds "github.com/ebsd/ebsd/internal/credentials"
	"github.com/ebsd/ebsd/internal/ebstest"
)

// TestKill9LosesNothingAcknowledged uploads with many concurrent writers,
// kills ebsd with SIGKILL mid-flight, restarts it, and checks that every
// block it acknowledged is still there: the snapshot then completes with
// the exact count and LINEAR checksum, and reads back bit for bit.
func TestKill9LosesNothingAcknowledged(t *testing.T) {
	if testing.Short() {
		t.Skip("starts and kills processes")
	}
	home := t.TempDir()
	p := startProcess(t, home)
	client := func(p *process) *ebs.Client {
		return ebstest.NewClient(p.Endpoint, ebscreds.Credential{AccessKeyID: p.KeyID, SecretAccessKey: p.Secret},
			&http.Client{Timeout: 30 * time.Second})
	}
	ctx := context.Background()
	c := client(p)
	start, err := c.StartSnapshot(ctx, &ebs.StartSnapshotInput{VolumeSize: aws.Int64(1)})
	if err != nil {
		t.Fatal(err)
	}
	id := *start.SnapshotId

	var (
		mu        sync.Mutex
		attempted = map[int32]bool{}
		acked     = map[int32]bool{}
		next      atomic.Int32
		wg        sync.WaitGroup
	)
	for w := 0; w < 16; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				if i >= 2048 {
					return
				}
				mu.Lock()
				attempted[i] = true
				mu.Unlock()
				if err := put(ctx, c, id, i); err != nil {
					return // the server is gone
				}
				mu.Lock()
				acked[i] = true
				mu.Unlock()
			}
		}()
	}
	time.Sleep(1500 * time.Millisecond)
	p.kill()
	wg.Wait()
	mu.Lock()
	t.Logf("killed after %d acknowledged puts (%d attempted)", len(acked), len(attempted))
	if len(acked) == 0 {
		t.Fatal("no put was acknowledged before the kill; the test proves nothing")
	}
	mu.Unlock()

	// A restart prints the key ID but not the secret: reuse the first's.
	keyID, secret := p.KeyID, p.Secret
	p = startProcess(t, home)
	p.KeyID, p.Secret = keyID, secret
	c = client(p)
	// Re-send only what was never acknowledged; acknowledged blocks must
	// have survived on their own.
	var indexes []int32
	for i := range attempted {
		indexes = append(indexes, i)
		if !acked[i] {
			if err := put(ctx, c, id, i); err != nil {
				t.Fatalf("re-put %d after restart: %v", i, err)
			}
		}
	}
	sort.Slice(indexes, func(a, b int) bool { return indexes[a] < indexes[b] })
	blocks := make([][]byte, len(indexes))
	for k, i := range indexes {
		blocks[k] = ebstest.Random(uint64(i))
	}
	sum := ebstest.Linear(blocks...)
	n := int32(len(indexes))
	if _, err := c.CompleteSnapshot(ctx, &ebs.CompleteSnapshotInput{SnapshotId: &id, ChangedBlocksCount: &n,
		Checksum: &sum, ChecksumAlgorithm: types.ChecksumAlgorithmChecksumAlgorithmSha256,
		ChecksumAggregationMethod: types.ChecksumAggregationMethodChecksumAggregationLinear}); err != nil {
		t.Fatal(err)
	}
	out, err := c.CompleteSnapshot(ctx, &ebs.CompleteSnapshotInput{SnapshotId: &id, ChangedBlocksCount: &n})
	if err != nil || out.Status != types.StatusCompleted {
		t.Fatalf("after the crash the snapshot is %v (%v): acknowledged blocks were lost", out.Status, err)
	}
	// Read a sample back.
	page, err := c.ListSnapshotBlocks(ctx, &ebs.ListSnapshotBlocksInput{SnapshotId: &id, MaxResults: aws.Int32(100)})
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range page.Blocks {
		got, err := c.GetSnapshotBlock(ctx, &ebs.GetSnapshotBlockInput{SnapshotId: &id, BlockIndex: b.BlockIndex, BlockToken: b.BlockToken})
		if err != nil {
			t.Fatal(err)
		}
		data, _ := io.ReadAll(got.BlockData)
		got.BlockData.Close()
		if !bytes.Equal(data, ebstest.Random(uint64(*b.BlockIndex))) {
			t.Fatalf("block %d differs after the crash", *b.BlockIndex)
		}
	}
	p.stop(t)
}

func put(ctx context.Context, c *ebs.Client, id string, i int32) error {
	data := ebstest.Random(uint64(i))
	_, err := c.PutSnapshotBlock(ctx, &ebs.PutSnapshotBlockInput{
		SnapshotId: &id, BlockIndex: &i, BlockData: bytes.NewReader(data), DataLength: aws.Int32(int32(len(data))),
		Checksum: aws.String(ebstest.Checksum(data)), ChecksumAlgorithm: types.ChecksumAlgorithmChecksumAlgorithmSha256,
	})
	return err
}
