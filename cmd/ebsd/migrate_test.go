package main_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ebs"
	"github.com/aws/aws-sdk-go-v2/service/ebs/types"

	ebscreds "github.com/ebsd/ebsd/internal/credentials"
	"github.com/ebsd/ebsd/internal/ebstest"
	"github.com/ebsd/ebsd/internal/pgdb/pgtest"
	"github.com/ebsd/ebsd/internal/s3test"
)

// TestMain stops the PostgreSQL cluster and MinIO that the migration test
// starts, once every test has run.
func TestMain(m *testing.M) { os.Exit(pgtest.Finish(s3test.Run(m))) }

// TestMigrateEmbeddedToDistributedAndBack uploads a lineage and an
// encrypted snapshot through the Go SDK to an ebsd, migrates its data
// directory to PostgreSQL + MinIO, and from there to a new data directory,
// and reads every block back bit-exact from an ebsd serving that one.
func TestMigrateEmbeddedToDistributedAndBack(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes, PostgreSQL and MinIO")
	}
	dsn := pgtest.Start(t)
	s3srv := s3test.Start(t)
	bucket := s3srv.NewBucket(t)
	home := t.TempDir()
	first, last := filepath.Join(t.TempDir(), "first"), filepath.Join(t.TempDir(), "last")
	ctx := withTimeout(t, 2*time.Minute)

	p := startProcess(t, home, "-data-dir", first)
	cred := ebscreds.Credential{AccessKeyID: p.KeyID, SecretAccessKey: p.Secret}
	c := ebstest.NewClient(p.Endpoint, cred, &http.Client{Timeout: 30 * time.Second})
	want := map[string]map[int32][]byte{} // snapshot -> index -> content, as read through its lineage
	upload := func(parent string, encrypted bool, blocks map[int32][]byte) string {
		t.Helper()
		in := &ebs.StartSnapshotInput{VolumeSize: aws.Int64(1)}
		if parent != "" {
			in.ParentSnapshotId = aws.String(parent)
		}
		if encrypted {
			in.Encrypted = aws.Bool(true)
		}
		out, err := c.StartSnapshot(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		id := *out.SnapshotId
		view := map[int32][]byte{}
		for i, b := range want[parent] {
			view[i] = b
		}
		for i, b := range blocks {
			if _, err := c.PutSnapshotBlock(ctx, &ebs.PutSnapshotBlockInput{
				SnapshotId: out.SnapshotId, BlockIndex: aws.Int32(i), BlockData: bytes.NewReader(b),
				DataLength: aws.Int32(ebstest.BlockSize), Checksum: aws.String(ebstest.Checksum(b)),
				ChecksumAlgorithm: types.ChecksumAlgorithmChecksumAlgorithmSha256,
			}); err != nil {
				t.Fatal(err)
			}
			view[i] = b
		}
		if _, err := c.CompleteSnapshot(ctx, &ebs.CompleteSnapshotInput{
			SnapshotId: out.SnapshotId, ChangedBlocksCount: aws.Int32(int32(len(blocks))),
		}); err != nil {
			t.Fatal(err)
		}
		want[id] = view
		return id
	}
	root := upload("", false, map[int32][]byte{0: ebstest.Random(1), 1: ebstest.Random(2), 5: ebstest.Random(3)})
	upload(root, false, map[int32][]byte{1: ebstest.Random(4), 2: ebstest.Random(1)})
	upload("", true, map[int32][]byte{0: ebstest.Random(5), 3: ebstest.Random(6)})
	// Every snapshot must be completed before the migration's copy of it
	// is read: CompleteSnapshot answers "pending" once, then "completed".
	for id := range want {
		waitCompleted(ctx, t, c, id)
	}
	p.stop(t)

	s3flags := []string{"-s3-endpoint", s3srv.Endpoint, "-s3-path-style"}
	out, code := runMigrate(t, home, s3srv, append([]string{"migrate", "-data-dir", first,
		"-to-meta", dsn, "-to-blocks", "s3://" + bucket + "/ebsd"}, s3flags...)...)
	if code != 0 || !strings.Contains(out, "the destination equals the source") || !strings.Contains(out, "6 blocks read back and verified") {
		t.Fatalf("migrate to PostgreSQL + MinIO: exit %d, output:\n%s", code, out)
	}
	out, code = runMigrate(t, home, s3srv, append([]string{"migrate", "-from-meta", dsn,
		"-from-blocks", "s3://" + bucket + "/ebsd", "-to-data-dir", last}, s3flags...)...)
	if code != 0 || !strings.Contains(out, "the destination equals the source") || !strings.Contains(out, "KMS keys: 1 ") {
		t.Fatalf("migrate back to a data directory: exit %d, output:\n%s", code, out)
	}

	q := startProcess(t, home, "-data-dir", last, "-credentials", filepath.Join(first, "credentials.json"))
	defer q.stop(t)
	c = ebstest.NewClient(q.Endpoint, cred, &http.Client{Timeout: 30 * time.Second})
	for id, view := range want {
		got := readSnapshot(ctx, t, c, id)
		if len(got) != len(view) {
			t.Errorf("%s: %d blocks after the round trip, want %d", id, len(got), len(view))
		}
		for i, b := range view {
			if !bytes.Equal(got[i], b) {
				t.Errorf("%s: block %d differs after the round trip", id, i)
			}
		}
	}
}

// runMigrate runs the ebsd binary with MinIO's credentials in its
// environment, and returns its output and exit code.
func runMigrate(t *testing.T, home string, s3srv *s3test.Server, args ...string) (string, int) {
	t.Helper()
	bin, err := ebsdBinary()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = []string{"HOME=" + home, "PATH=" + os.Getenv("PATH"),
		"AWS_ACCESS_KEY_ID=" + s3srv.AccessKey, "AWS_SECRET_ACCESS_KEY=" + s3srv.SecretKey, "AWS_REGION=" + s3srv.Region}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err = cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		return out.String(), ee.ExitCode()
	}
	if err != nil {
		t.Fatal(err)
	}
	return out.String(), 0
}

// waitCompleted calls CompleteSnapshot until the snapshot is completed.
func waitCompleted(ctx context.Context, t *testing.T, c *ebs.Client, id string) {
	t.Helper()
	for {
		out, err := c.CompleteSnapshot(ctx, &ebs.CompleteSnapshotInput{SnapshotId: aws.String(id), ChangedBlocksCount: aws.Int32(0)})
		if err == nil && out.Status == types.StatusCompleted {
			return
		}
		if ctx.Err() != nil {
			t.Fatalf("%s never completed: %v", id, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// readSnapshot returns every block of snapshot id, through its lineage.
func readSnapshot(ctx context.Context, t *testing.T, c *ebs.Client, id string) map[int32][]byte {
	t.Helper()
	list, err := c.ListSnapshotBlocks(ctx, &ebs.ListSnapshotBlocksInput{SnapshotId: aws.String(id)})
	if err != nil {
		t.Fatalf("%s: %v", id, err)
	}
	got := map[int32][]byte{}
	for _, b := range list.Blocks {
		out, err := c.GetSnapshotBlock(ctx, &ebs.GetSnapshotBlockInput{SnapshotId: aws.String(id),
			BlockIndex: b.BlockIndex, BlockToken: b.BlockToken})
		if err != nil {
			t.Fatalf("%s block %d: %v", id, *b.BlockIndex, err)
		}
		data, err := io.ReadAll(out.BlockData)
		out.BlockData.Close()
		if err != nil {
			t.Fatal(err)
		}
		got[*b.BlockIndex] = data
	}
	return got
}
