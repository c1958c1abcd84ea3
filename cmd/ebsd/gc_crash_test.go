package main_test

import (
	"bytes"
	"context"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ebs"
	"github.com/aws/aws-sdk-go-v2/service/ebs/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"

	ebscreds "github.com/ebsd/ebsd/internal/credentials"
	"github.com/ebsd/ebsd/internal/ebstest"
)

// TestKill9DuringCollections runs ebsd with a collector every 100 ms and
// 2 MiB packs (three blocks each), so that collections and compactions run all the
// time, while snapshots are made from shared content and deleted; it
// kills the process with SIGKILL at random instants, restarts it, and
// checks that every live snapshot reads back bit for bit. At the end,
// ebsd check -read-data must find nothing wrong. EBSD_GC_KILLS sets the
// number of kills (default 4).
func TestKill9DuringCollections(t *testing.T) {
	if testing.Short() {
		t.Skip("starts and kills processes")
	}
	kills := 4
	if v, err := strconv.Atoi(os.Getenv("EBSD_GC_KILLS")); err == nil && v > 0 {
		kills = v
	}
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, seed))
	home := t.TempDir()
	args := []string{"-gc-interval", "100ms", "-gc-min-live", "0.9", "-pack-size", "2MiB"}
	p := startProcess(t, home, args...)
	keyID, secret := p.KeyID, p.Secret

	// live: what each live snapshot must read, by block index.
	live := map[string]map[int32]int{}
	content := func(k int) []byte { return ebstest.Random(uint64(7000 + k)) }
	var completed []string
	collections, compactions := 0, 0

	for round := 0; round <= kills; round++ {
		cred := ebscreds.Credential{AccessKeyID: keyID, SecretAccessKey: secret}
		c := ebstest.NewClient(p.Endpoint, cred, &http.Client{Timeout: 30 * time.Second})
		e := ec2.NewFromConfig(aws.Config{Region: p.Region,
			Credentials: credentials.NewStaticCredentialsProvider(keyID, secret, "")},
			func(o *ec2.Options) { o.BaseEndpoint = aws.String(p.Endpoint) })
		ctx := context.Background()

		// Everything acknowledged so far reads back.
		for id, want := range live {
			verifySnapshot(ctx, t, c, id, want, content)
		}
		if round == kills {
			break
		}

		// Work until the kill: children of live snapshots over a small
		// alphabet of contents (so blocks dedup), and deletes.
		deadline := time.Now().Add(time.Duration(300+rng.IntN(1200)) * time.Millisecond)
		for time.Now().Before(deadline) {
			var parent string
			if len(completed) > 0 && rng.IntN(3) > 0 {
				parent = completed[rng.IntN(len(completed))]
			}
			in := &ebs.StartSnapshotInput{VolumeSize: aws.Int64(1)}
			if parent != "" {
				in.ParentSnapshotId = &parent
			}
			start, err := c.StartSnapshot(ctx, in)
			if err != nil {
				if parent != "" && strings.Contains(err.Error(), "SNAPSHOT_NOT_FOUND") {
					continue
				}
				t.Fatalf("StartSnapshot: %v", err)
			}
			id := *start.SnapshotId
			view := map[int32]int{}
			for i, k := range live[parent] {
				view[i] = k
			}
			written := map[int32]bool{}
			for range 1 + rng.IntN(6) {
				i, k := int32(rng.IntN(16)), 32*round+rng.IntN(64) // fresh content each round, so deletes make garbage
				if err := putContent(ctx, c, id, i, content(k)); err != nil {
					t.Fatalf("PutSnapshotBlock: %v", err)
				}
				view[i], written[i] = k, true
			}
			own := int32(len(written))
			if _, err := c.CompleteSnapshot(ctx, &ebs.CompleteSnapshotInput{SnapshotId: &id, ChangedBlocksCount: &own}); err != nil {
				t.Fatalf("CompleteSnapshot: %v", err)
			}
			live[id] = view
			completed = append(completed, id)
			if len(completed) > 3 && rng.IntN(2) == 0 {
				k := rng.IntN(len(completed))
				victim := completed[k]
				if _, err := e.DeleteSnapshot(ctx, &ec2.DeleteSnapshotInput{SnapshotId: &victim}); err != nil {
					t.Fatalf("DeleteSnapshot: %v", err)
				}
				delete(live, victim)
				completed = append(completed[:k], completed[k+1:]...)
			}
		}
		p.kill()
		log := p.stderr.String()
		collections += strings.Count(log, "garbage collection done")
		for _, line := range strings.Split(log, "\n") {
			if strings.Contains(line, `msg="packblocks: compaction"`) && !strings.Contains(line, "packs_compacted=0 packs_removed=0") {
				compactions++
			}
		}
		p = startProcess(t, home, args...)
	}
	p.stop(t)
	out, code := runCommand(t, home, "check", "-read-data")
	if code != 0 || !strings.Contains(out, "no problems found") {
		t.Fatalf("ebsd check after %d kills: exit %d\n%s", kills, code, out)
	}
	t.Logf("%d kills, %d collections and %d compactions that changed packs before them, %d live snapshots; check: %s",
		kills, collections, compactions, len(live), strings.TrimSpace(out))
	if collections == 0 {
		t.Error("no collection finished between the kills: the test proves nothing")
	}
}

func putContent(ctx context.Context, c *ebs.Client, id string, i int32, data []byte) error {
	_, err := c.PutSnapshotBlock(ctx, &ebs.PutSnapshotBlockInput{
		SnapshotId: &id, BlockIndex: &i, BlockData: bytes.NewReader(data), DataLength: aws.Int32(int32(len(data))),
		Checksum: aws.String(ebstest.Checksum(data)), ChecksumAlgorithm: types.ChecksumAlgorithmChecksumAlgorithmSha256,
	})
	return err
}

// verifySnapshot checks that snapshot id lists exactly want's indexes and
// each reads back as content(want[i]).
func verifySnapshot(ctx context.Context, t *testing.T, c *ebs.Client, id string, want map[int32]int, content func(int) []byte) {
	t.Helper()
	got := 0
	p := ebs.NewListSnapshotBlocksPaginator(c, &ebs.ListSnapshotBlocksInput{SnapshotId: &id})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatalf("ListSnapshotBlocks(%s): %v", id, err)
		}
		for _, b := range page.Blocks {
			k, ok := want[*b.BlockIndex]
			if !ok {
				t.Fatalf("%s lists block %d, which it never had", id, *b.BlockIndex)
			}
			out, err := c.GetSnapshotBlock(ctx, &ebs.GetSnapshotBlockInput{SnapshotId: &id, BlockIndex: b.BlockIndex, BlockToken: b.BlockToken})
			if err != nil {
				t.Fatalf("GetSnapshotBlock(%s, %d): %v", id, *b.BlockIndex, err)
			}
			data, err := io.ReadAll(out.BlockData)
			out.BlockData.Close()
			if err != nil || !bytes.Equal(data, content(k)) {
				t.Fatalf("%s block %d differs after kills and collections (%v)", id, *b.BlockIndex, err)
			}
			got++
		}
	}
	if got != len(want) {
		t.Fatalf("%s lists %d blocks, want %d", id, got, len(want))
	}
}
