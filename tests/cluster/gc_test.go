package cluster_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ebs"
	"github.com/aws/aws-sdk-go-v2/service/ebs/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"

	"github.com/ebsd/ebsd/internal/ebstest"
)

// TestOfflineGC: 'ebsd gc' with the deployment's -meta and -blocks, run
// by hand with the nodes stopped (as after a restore, or with
// -gc-interval 0), sweeps a deleted snapshot's blocks, and a node started
// afterwards reads the snapshot that was kept, bit for bit.
func TestOfflineGC(t *testing.T) {
	d := newDeployment(t)
	n := d.start(t, "n0")
	c := ebstest.NewClient(n.Endpoint, ebstest.Alice, &http.Client{Timeout: 30 * time.Second})
	ctx := context.Background()
	upload := func(seed uint64) string {
		out, err := c.StartSnapshot(ctx, &ebs.StartSnapshotInput{VolumeSize: aws.Int64(1)})
		if err != nil {
			t.Fatal(err)
		}
		for i := range int32(4) {
			data := ebstest.Random(seed + uint64(i))
			if _, err := c.PutSnapshotBlock(ctx, &ebs.PutSnapshotBlockInput{SnapshotId: out.SnapshotId, BlockIndex: aws.Int32(i),
				BlockData: bytes.NewReader(data), DataLength: aws.Int32(int32(len(data))), Checksum: aws.String(ebstest.Checksum(data)),
				ChecksumAlgorithm: types.ChecksumAlgorithmChecksumAlgorithmSha256}); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := c.CompleteSnapshot(ctx, &ebs.CompleteSnapshotInput{SnapshotId: out.SnapshotId, ChangedBlocksCount: aws.Int32(4)}); err != nil {
			t.Fatal(err)
		}
		return *out.SnapshotId
	}
	keep, gone := upload(100), upload(200)
	e2 := ec2.New(ec2.Options{Region: "us-east-1", BaseEndpoint: aws.String(n.Endpoint),
		Credentials: credentials.NewStaticCredentialsProvider(ebstest.Alice.AccessKeyID, ebstest.Alice.SecretAccessKey, "")})
	if _, err := e2.DeleteSnapshot(ctx, &ec2.DeleteSnapshotInput{SnapshotId: &gone}); err != nil {
		t.Fatal(err)
	}
	n.kill()

	out, err := d.command(t, "gc").CombinedOutput()
	if err != nil {
		t.Fatalf("ebsd gc: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "4 swept") || !strings.Contains(string(out), "1 purged") {
		t.Fatalf("ebsd gc printed:\n%s\nwant the deleted snapshot purged and its 4 blocks swept", out)
	}

	// The other maintenance commands work on the shared stores too.
	out, err = d.command(t, "check", "-read-data").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "no problems") {
		t.Fatalf("ebsd check -read-data: %v\n%s", err, out)
	}
	out, err = d.command(t, "usage").CombinedOutput()
	if err != nil || !strings.Contains(string(out), ebstest.Alice.AccountID) {
		t.Fatalf("ebsd usage: %v\n%s", err, out)
	}

	n = d.start(t, "n1")
	c = ebstest.NewClient(n.Endpoint, ebstest.Alice, &http.Client{Timeout: 30 * time.Second})
	page, err := c.ListSnapshotBlocks(ctx, &ebs.ListSnapshotBlocksInput{SnapshotId: &keep})
	if err != nil || len(page.Blocks) != 4 {
		t.Fatalf("kept snapshot lists %d blocks, %v", len(page.Blocks), err)
	}
	for _, b := range page.Blocks {
		got, err := c.GetSnapshotBlock(ctx, &ebs.GetSnapshotBlockInput{SnapshotId: &keep, BlockIndex: b.BlockIndex, BlockToken: b.BlockToken})
		if err != nil {
			t.Fatal(err)
		}
		data, _ := io.ReadAll(got.BlockData)
		got.BlockData.Close()
		if !bytes.Equal(data, ebstest.Random(100+uint64(*b.BlockIndex))) {
			t.Fatalf("block %d of the kept snapshot differs after the collection", *b.BlockIndex)
		}
	}
}
