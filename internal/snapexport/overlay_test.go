package snapexport

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ebs"

	"github.com/ebsd/ebsd/internal/ebstest"
	"github.com/ebsd/ebsd/internal/nbd"
)

// TestWritableCommit: writes of every shape land in the overlay, read
// back, and the commit makes a child holding exactly the blocks that
// differ from the parent.
func TestWritableCommit(t *testing.T) {
	e := newEnv(t)
	blocks := map[int32][]byte{2: ebstest.Random(1), 3: ebstest.Random(2), 4: ebstest.Random(3), 9: ebstest.Random(4)}
	id := e.snapshot(t, 1, "", blocks)
	ctx := context.Background()
	overlay := filepath.Join(t.TempDir(), "o")
	ex, err := Open(ctx, Options{Client: e.client(nil, nil), SnapshotID: id, Overlay: overlay})
	if err != nil {
		t.Fatal(err)
	}
	want := volume(blocks)
	write := func(off int64, p []byte) {
		t.Helper()
		if err := ex.WriteAt(ctx, p, off); err != nil {
			t.Fatal(err)
		}
		copy(want[off:], p)
	}
	write(2*blockSize+100, []byte("partial write into a snapshot block")) // read-modify-write of block 2
	write(3*blockSize, bytes.Clone(blocks[3]))                            // block 3 rewritten unchanged: not in the child
	write(5*blockSize-10, bytes.Repeat([]byte{7}, 20))                    // across 4 and 5 (5 was a hole)
	write(100*blockSize, ebstest.Random(9))                               // a whole new block
	if err := ex.Zero(ctx, 9*blockSize, blockSize); err != nil {          // a whole block zeroed: changed
		t.Fatal(err)
	}
	clear(want[9*blockSize : 10*blockSize])
	if err := ex.Zero(ctx, 200*blockSize, blockSize); err != nil { // zeros over a hole: unchanged
		t.Fatal(err)
	}
	got := make([]byte, 12*blockSize)
	if err := ex.ReadAt(ctx, got, 0); err != nil || !bytes.Equal(got, want[:len(got)]) {
		t.Fatalf("read back: %v, equal %v", err, bytes.Equal(got, want[:len(got)]))
	}
	exts, _ := ex.BlockStatus(ctx, 100*blockSize, blockSize)
	if len(exts) != 1 || exts[0].Flags != 0 {
		t.Fatalf("a written hole is reported %v", exts)
	}
	res, err := ex.Commit(ctx, CommitOptions{Description: "test", Wait: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := ex.Discard(); err != nil {
		t.Fatal(err)
	}
	if res.ChangedBlocks != 5 || res.Status != "completed" {
		t.Fatalf("child %+v, want 5 changed blocks, completed", res)
	}
	// The child is the parent with the writes, and differs from it in
	// the written blocks only.
	var changed []int32
	out, err := e.api.ListChangedBlocks(ctx, &ebs.ListChangedBlocksInput{FirstSnapshotId: aws.String(id), SecondSnapshotId: aws.String(res.SnapshotID)})
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range out.ChangedBlocks {
		changed = append(changed, *b.BlockIndex)
	}
	if !slices.Equal(changed, []int32{2, 4, 5, 9, 100}) {
		t.Fatalf("changed blocks %v, want [2 4 5 9 100]", changed)
	}
	child, err := Open(ctx, Options{Client: e.client(nil, nil), SnapshotID: res.SnapshotID})
	if err != nil {
		t.Fatal(err)
	}
	defer child.Close()
	if err := child.ReadAt(ctx, got, 0); err != nil || !bytes.Equal(got, want[:len(got)]) {
		t.Fatalf("child: %v, equal %v", err, bytes.Equal(got, want[:len(got)]))
	}
	if exts, _ := child.BlockStatus(ctx, 100*blockSize, blockSize); len(exts) != 1 || exts[0].Flags != 0 {
		t.Fatalf("child's block 100: %v", exts)
	}
}

// TestOverlayDurability: a flush makes writes survive the process (the
// overlay is reopened without being closed, as after a crash), writes
// after the last flush are not promised, and an overlay is only reused
// for its own snapshot.
func TestOverlayDurability(t *testing.T) {
	e := newEnv(t)
	id := e.snapshot(t, 1, "", map[int32][]byte{1: ebstest.Random(1)})
	other := e.snapshot(t, 1, "", nil)
	ctx := context.Background()
	overlay := filepath.Join(t.TempDir(), "o")
	open := func(snap string) (*Export, error) {
		return Open(ctx, Options{Client: e.client(nil, nil), SnapshotID: snap, Overlay: overlay})
	}
	ex, err := open(id)
	if err != nil {
		t.Fatal(err)
	}
	ex.WriteAt(ctx, []byte("flushed"), 10)
	if err := ex.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	ex.WriteAt(ctx, []byte("not flushed"), 7*blockSize)
	// "Crash": ex is abandoned without Close.
	again, err := open(id)
	if err != nil {
		t.Fatal(err)
	}
	if again.Written() != 1 {
		t.Fatalf("%d blocks in the reopened overlay, want the flushed one", again.Written())
	}
	got := make([]byte, 7)
	again.ReadAt(ctx, got, 10)
	if string(got) != "flushed" {
		t.Fatalf("after the crash: %q", got)
	}
	if exts, _ := again.BlockStatus(ctx, 7*blockSize, blockSize); exts[0].Flags != nbd.StateHole|nbd.StateZero {
		t.Fatalf("an unflushed write survived as %v", exts)
	}
	again.Close()
	if _, err := open(other); err == nil || !strings.Contains(err.Error(), "is of snapshot") {
		t.Fatalf("overlay of %s opened for %s: %v", id, other, err)
	}
	if _, err := Open(ctx, Options{Client: e.client(nil, nil), SnapshotID: id, Overlay: filepath.Join(t.TempDir())}); err == nil {
		t.Fatal("a directory was taken as an overlay")
	}
	ro, err := Open(ctx, Options{Client: e.client(nil, nil), SnapshotID: id})
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	if err := ro.WriteAt(ctx, []byte("x"), 0); !errors.Is(err, nbd.ErrReadOnly) {
		t.Fatalf("write to a read-only export: %v", err)
	}
}
