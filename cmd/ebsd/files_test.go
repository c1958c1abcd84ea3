package main_test

import (
	"bytes"
	"context"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ebs"
	"github.com/aws/aws-sdk-go-v2/service/ebs/types"

	ebscreds "github.com/ebsd/ebsd/internal/credentials"
	"github.com/ebsd/ebsd/internal/ebstest"
)

// TestFilesArePrivate starts ebsd in a data directory that an operator
// made with mode 0755 (as systemd's StateDirectory= or a plain mkdir do),
// writes a block, and checks that no file or directory under it is open
// to group or other: the pack holds plaintext blocks and Pebble holds the
// token secret. It walks the tree while ebsd runs and again after it stops.
func TestFilesArePrivate(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a process")
	}
	home := t.TempDir()
	dataDir := filepath.Join(t.TempDir(), "ebsd")
	if err := os.Mkdir(dataDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dataDir, 0o755); err != nil { // whatever the test's umask
		t.Fatal(err)
	}
	p := startProcess(t, home, "-data-dir", dataDir)
	c := ebstest.NewClient(p.Endpoint, ebscreds.Credential{AccessKeyID: p.KeyID, SecretAccessKey: p.Secret},
		&http.Client{Timeout: 30 * time.Second})
	ctx := withTimeout(t, time.Minute)
	putBlock(ctx, t, c)

	assertPrivateTree(t, dataDir)
	p.stop(t)
	assertPrivateTree(t, dataDir)
}

// putBlock writes one block into a new snapshot and completes it.
func putBlock(ctx context.Context, t *testing.T, c *ebs.Client) {
	t.Helper()
	start, err := c.StartSnapshot(ctx, &ebs.StartSnapshotInput{VolumeSize: aws.Int64(1)})
	if err != nil {
		t.Fatal(err)
	}
	block := ebstest.Random(1)
	if _, err := c.PutSnapshotBlock(ctx, &ebs.PutSnapshotBlockInput{
		SnapshotId: start.SnapshotId, BlockIndex: aws.Int32(0), BlockData: bytes.NewReader(block),
		DataLength: aws.Int32(ebstest.BlockSize), Checksum: aws.String(ebstest.Checksum(block)),
		ChecksumAlgorithm: types.ChecksumAlgorithmChecksumAlgorithmSha256,
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CompleteSnapshot(ctx, &ebs.CompleteSnapshotInput{
		SnapshotId: start.SnapshotId, ChangedBlocksCount: aws.Int32(1),
	}); err != nil {
		t.Fatal(err)
	}
}

// assertPrivateTree fails for every entry under root, root included, that
// group or other may access, and checks that the walk saw a pack file.
func assertPrivateTree(t *testing.T, root string) {
	t.Helper()
	packs := 0
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		if filepath.Ext(path) == ".pack" {
			packs++
		}
		if perm := fi.Mode().Perm(); perm&0o077 != 0 {
			t.Errorf("%s has mode %04o: group or other can access it", path, perm)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if packs == 0 {
		t.Errorf("no .pack file under %s: the walk did not see the block data", root)
	}
}
