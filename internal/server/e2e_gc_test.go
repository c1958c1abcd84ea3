package server_test

import (
	"io/fs"
	"maps"
	"path/filepath"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ebs"

	"github.com/ebsd/ebsd/internal/ebstest"
	"github.com/ebsd/ebsd/internal/snapshot"
)

// packBytes is the size of the pack files under a data directory.
func packBytes(t *testing.T, dataDir string) int64 {
	t.Helper()
	var n int64
	err := filepath.WalkDir(filepath.Join(dataDir, "blocks"), func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || filepath.Base(filepath.Dir(p)) != "packs" {
			return err
		}
		info, err := d.Info()
		if err == nil {
			n += info.Size()
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestGCEndToEnd is issue #12's GC scenario: a parent, child and grandchild
// of an image; delete the parent and the grandchild and collect: the child
// reads back bit-exact, with the block tokens it listed before. Delete the
// child too and collect: every pack is gone.
func TestGCEndToEnd(t *testing.T) {
	srv := ebstest.Start(t, ebstest.Options{})
	c := srv.Client(ebstest.Alice)
	del := func(id string) {
		t.Helper()
		svc := srv.Internal().Service() // the current server's, across restarts
		if err := svc.DeleteSnapshot(ctx, snapshot.DeleteInput{AccountID: ebstest.Alice.AccountID, SnapshotID: &id}); err != nil {
			t.Fatalf("DeleteSnapshot(%s): %v", id, err)
		}
	}
	collect := func() {
		t.Helper()
		rep, err := srv.Internal().Collect(ctx)
		if err != nil {
			t.Fatalf("Collect: %v", err)
		}
		t.Logf("collect: %+v", rep)
	}

	image := map[int32][]byte{}
	for i := range int32(48) {
		image[i] = ebstest.Random(uint64(1000 + i))
	}
	parent := startSnapshot(t, c, &ebs.StartSnapshotInput{})
	mustPut(t, c, parent, image)
	complete(t, c, parent, int32(len(image)), "")

	childWrites := map[int32][]byte{}
	for i := range int32(12) {
		childWrites[i*2] = ebstest.Random(uint64(2000 + i))
	}
	child := startSnapshot(t, c, &ebs.StartSnapshotInput{ParentSnapshotId: &parent})
	mustPut(t, c, child, childWrites)
	complete(t, c, child, int32(len(childWrites)), "")
	childView := maps.Clone(image)
	maps.Copy(childView, childWrites)

	grandWrites := map[int32][]byte{}
	for i := range int32(12) {
		grandWrites[i*2+1] = ebstest.Random(uint64(3000 + i))
	}
	grand := startSnapshot(t, c, &ebs.StartSnapshotInput{ParentSnapshotId: &child})
	mustPut(t, c, grand, grandWrites)
	complete(t, c, grand, int32(len(grandWrites)), "")

	toks := listAll(t, c, child, 100)
	before := packBytes(t, srv.DataDir)
	del(parent)
	del(grand)
	collect()

	// The child reads back bit-exact, by fresh listings and by old tokens.
	sameBlocks(t, readAll(t, c, child), childView)
	for i, tok := range toks {
		if got := getBlock(t, c, child, i, tok); string(got) != string(childView[i]) {
			t.Fatalf("block %d read by its old token differs", i)
		}
	}
	// Deleted snapshots are gone.
	_, err := c.ListSnapshotBlocks(ctx, &ebs.ListSnapshotBlocksInput{SnapshotId: &parent})
	checkError(t, err, 404, "ResourceNotFoundException", "SNAPSHOT_NOT_FOUND", "")
	_, err = c.ListChangedBlocks(ctx, &ebs.ListChangedBlocksInput{FirstSnapshotId: aws.String(child), SecondSnapshotId: &grand})
	checkError(t, err, 404, "ResourceNotFoundException", "SNAPSHOT_NOT_FOUND", "")

	// A restart, and a second collection, change nothing the child reads.
	srv.Restart()
	c = srv.Client(ebstest.Alice)
	collect()
	sameBlocks(t, readAll(t, c, child), childView)

	del(child)
	collect()
	after := packBytes(t, srv.DataDir)
	// Every pack goes, the one being written included: the space of 72
	// blocks (36 MiB) comes back.
	if after > 64<<10 {
		t.Fatalf("packs hold %d bytes after everything was deleted and collected (%d before)", after, before)
	}
	t.Logf("pack bytes: %d before, %d after deleting everything", before, after)
}
