package cluster_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ebs"
	"github.com/aws/aws-sdk-go-v2/service/ebs/types"

	"github.com/ebsd/ebsd/internal/ebstest"
)

// TestKillOneNodeAmidUploaders runs three ebsd nodes and 16 uploaders
// that spread their PutSnapshotBlock calls over the nodes, kills one node
// with SIGKILL in the middle, and lets the uploaders retry what failed on
// the others, as a client behind a load balancer would. Every block is then
// acknowledged once or more; the snapshot completes on a surviving node
// with the exact count and LINEAR checksum of all of them (an acknowledged
// block lost would fail it) and reads back bit for bit from another.
func TestKillOneNodeAmidUploaders(t *testing.T) {
	d := newDeployment(t)
	nodes := []*node{d.start(t, "n0"), d.start(t, "n1"), d.start(t, "n2")}
	clients := make([]*ebs.Client, len(nodes))
	for i, n := range nodes {
		clients[i] = ebstest.NewClient(n.Endpoint, ebstest.Alice, &http.Client{Timeout: 30 * time.Second})
	}
	ctx := context.Background()
	start, err := clients[0].StartSnapshot(ctx, &ebs.StartSnapshotInput{VolumeSize: aws.Int64(1)})
	if err != nil {
		t.Fatal(err)
	}
	id := *start.SnapshotId

	const blocks, uploaders = 384, 16
	var (
		dead       atomic.Int32 // index+1 of the killed node, 0 before
		next       atomic.Int32
		acked      atomic.Int32
		retried    atomic.Int32
		ackedAfter atomic.Int32 // acknowledgements after the kill
		wg         sync.WaitGroup
	)
	dead.Store(0)
	for w := range uploaders {
		wg.Go(func() {
			for {
				i := next.Add(1) - 1
				if i >= blocks {
					return
				}
				data := ebstest.Random(uint64(i))
				var err error
				for attempt := range 6 {
					c := clients[(int(i)+w+attempt)%len(clients)]
					_, err = c.PutSnapshotBlock(ctx, &ebs.PutSnapshotBlockInput{
						SnapshotId: &id, BlockIndex: aws.Int32(i), BlockData: bytes.NewReader(data),
						DataLength: aws.Int32(int32(len(data))), Checksum: aws.String(ebstest.Checksum(data)),
						ChecksumAlgorithm: types.ChecksumAlgorithmChecksumAlgorithmSha256,
					})
					if err == nil {
						break
					}
					retried.Add(1)
				}
				if err != nil {
					t.Errorf("block %d failed on every node: %v", i, err)
					return
				}
				acked.Add(1)
				if dead.Load() != 0 {
					ackedAfter.Add(1)
				}
			}
		})
	}
	for acked.Load() < blocks/4 {
		time.Sleep(10 * time.Millisecond)
	}
	nodes[1].kill()
	dead.Store(2)
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	t.Logf("%d blocks acknowledged, %d after the kill; %d attempts retried on another node", acked.Load(), ackedAfter.Load(), retried.Load())
	if ackedAfter.Load() == 0 {
		t.Fatal("nothing was acknowledged after the kill: the test proves nothing")
	}

	all := make([][]byte, blocks)
	for i := range all {
		all[i] = ebstest.Random(uint64(i))
	}
	sum := ebstest.Linear(all...)
	n := int32(blocks)
	c2 := clients[2]
	if _, err := c2.CompleteSnapshot(ctx, &ebs.CompleteSnapshotInput{SnapshotId: &id, ChangedBlocksCount: &n,
		Checksum: &sum, ChecksumAlgorithm: types.ChecksumAlgorithmChecksumAlgorithmSha256,
		ChecksumAggregationMethod: types.ChecksumAggregationMethodChecksumAggregationLinear}); err != nil {
		t.Fatal(err)
	}
	out, err := c2.CompleteSnapshot(ctx, &ebs.CompleteSnapshotInput{SnapshotId: &id, ChangedBlocksCount: &n})
	if err != nil || out.Status != types.StatusCompleted {
		t.Fatalf("after the kill the snapshot is %v (%v): an acknowledged block was lost", out.Status, err)
	}
	c0 := clients[0]
	var seen []int32
	p := ebs.NewListSnapshotBlocksPaginator(c0, &ebs.ListSnapshotBlocksInput{SnapshotId: &id, MaxResults: aws.Int32(100)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, b := range page.Blocks {
			got, err := c0.GetSnapshotBlock(ctx, &ebs.GetSnapshotBlockInput{SnapshotId: &id, BlockIndex: b.BlockIndex, BlockToken: b.BlockToken})
			if err != nil {
				t.Fatal(err)
			}
			data, _ := io.ReadAll(got.BlockData)
			got.BlockData.Close()
			if !bytes.Equal(data, all[*b.BlockIndex]) {
				t.Fatalf("block %d differs", *b.BlockIndex)
			}
			seen = append(seen, *b.BlockIndex)
		}
	}
	if len(seen) != blocks || !slices.IsSorted(seen) {
		t.Fatalf("listed %d blocks, want %d in order", len(seen), blocks)
	}
}
