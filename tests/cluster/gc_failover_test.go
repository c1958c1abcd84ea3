package cluster_test

import (
	"bytes"
	"context"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ebs"
	"github.com/aws/aws-sdk-go-v2/service/ebs/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"

	"github.com/ebsd/ebsd/internal/ebstest"
)

// TestCollectorNodeKilled kills nodes, one after the other, while every
// node collects twice a second, so that a kill often lands in a
// collection (its lease held, a compaction's group half written). After
// each kill a collection must complete on a survivor within seconds (the
// lease is the dead process's session, which PostgreSQL ends with it), and
// at the end the bucket must index exactly the kept snapshots' blocks:
// every deleted snapshot's blocks swept, whichever node was interrupted,
// and every kept block read back bit for bit.
func TestCollectorNodeKilled(t *testing.T) {
	d := newDeployment(t)
	flags := []string{"-gc-interval", "500ms", "-log-format", "json"}
	nodes := []*node{d.start(t, "n0", flags...), d.start(t, "n1", flags...), d.start(t, "n2", flags...)}
	ctx := context.Background()
	var kept []keptSnapshot
	seed := uint64(1 << 40)
	upload := func(cl []nodeClients, keep bool) {
		t.Helper()
		k := keptSnapshot{}
		out, err := cl[rand.IntN(len(cl))].ebs.StartSnapshot(ctx, &ebs.StartSnapshotInput{VolumeSize: aws.Int64(1)})
		if err != nil {
			t.Fatal(err)
		}
		k.id = *out.SnapshotId
		for i := range int32(gcBlocksEach) {
			seed++
			data, w := ebstest.Random(seed), rand.IntN(len(cl))
			if _, err := cl[w].ebs.PutSnapshotBlock(ctx, &ebs.PutSnapshotBlockInput{SnapshotId: &k.id, BlockIndex: aws.Int32(i),
				BlockData: bytes.NewReader(data), DataLength: aws.Int32(int32(len(data))), Checksum: aws.String(ebstest.Checksum(data)),
				ChecksumAlgorithm: types.ChecksumAlgorithmChecksumAlgorithmSha256}); err != nil {
				t.Fatal(err)
			}
			k.seeds, k.writers = append(k.seeds, seed), append(k.writers, w)
		}
		if _, err := cl[rand.IntN(len(cl))].ebs.CompleteSnapshot(ctx, &ebs.CompleteSnapshotInput{SnapshotId: &k.id,
			ChangedBlocksCount: aws.Int32(gcBlocksEach)}); err != nil {
			t.Fatal(err)
		}
		if keep {
			kept = append(kept, k)
			return
		}
		waitCompleted(t, cl, k.id)
		if _, err := cl[rand.IntN(len(cl))].ec2.DeleteSnapshot(ctx, &ec2.DeleteSnapshotInput{SnapshotId: &k.id}); err != nil {
			t.Fatal(err)
		}
	}
	alive := func() []nodeClients {
		var cl []nodeClients
		for _, n := range nodes {
			if n != nil {
				cl = append(cl, newNodeClients(n.Endpoint))
			}
		}
		return cl
	}

	for victim := range 2 {
		cl := alive()
		for i := range 8 {
			upload(cl, i%4 == 0)
		}
		// Somewhere in the next collection cycle of the three nodes.
		time.Sleep(time.Duration(rand.IntN(500)) * time.Millisecond)
		killedAt := time.Now()
		nodes[victim].kill()
		t.Logf("killed %s", nodes[victim].name)
		nodes[victim] = nil
		cl = alive()
		deadline := time.Now().Add(10 * time.Second)
		for !collectedSince(t, nodes, killedAt) {
			if time.Now().After(deadline) {
				dumpErrors(t, slices.DeleteFunc(slices.Clone(nodes), func(n *node) bool { return n == nil }))
				t.Fatalf("no collection completed on a survivor in the 10 s after the kill")
			}
			time.Sleep(100 * time.Millisecond)
		}
	}

	// The survivor: the deleted snapshots' blocks all swept, the kept ones
	// all there.
	cl := alive()
	want := float64(len(kept) * gcBlocksEach)
	deadline := time.Now().Add(15 * time.Second)
	var got float64
	for {
		got = scrapeMetrics(t, cl[0].endpoint)["ebsd_s3_stored_blocks"]
		if got == want || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if got != want {
		t.Errorf("the bucket indexes %v blocks, want the kept snapshots' %v: garbage left after the kills", got, want)
	}
	// verifyKept reads each block from a node other than its writer's
	// index: with the survivor listed twice, every read goes to it.
	for i := range kept {
		for j := range kept[i].writers {
			kept[i].writers[j] = 0
		}
	}
	if lost := verifyKept(ctx, t, []nodeClients{cl[0], cl[0]}, kept); len(lost) > 0 {
		t.Fatalf("%d kept blocks lost: %v", len(lost), lost)
	}
	for _, n := range nodes {
		if n != nil {
			if lg := parseNodeLog(t, n); len(lg.failed) > 0 {
				t.Errorf("%s: failed collections: %v", n.name, lg.failed)
			}
		}
	}
}

// waitCompleted waits until snapshot id is completed, as a deleter would.
func waitCompleted(t *testing.T, cl []nodeClients, id string) {
	t.Helper()
	in := &ebs.CompleteSnapshotInput{SnapshotId: &id, ChangedBlocksCount: aws.Int32(gcBlocksEach)}
	for range 100 {
		out, err := cl[0].ebs.CompleteSnapshot(context.Background(), in)
		if err == nil && out.Status == types.StatusCompleted {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("snapshot %s did not complete", id)
}

// collectedSince reports whether a live node logged a collection that
// began after at.
func collectedSince(t *testing.T, nodes []*node, at time.Time) bool {
	t.Helper()
	for _, n := range nodes {
		if n == nil {
			continue
		}
		for _, r := range parseNodeLog(t, n).runs {
			if r.start.After(at) {
				return true
			}
		}
	}
	return false
}
