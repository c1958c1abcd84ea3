package snapshot_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/ebsd/ebsd/internal/ebs"
	"github.com/ebsd/ebsd/internal/keyring"
	"github.com/ebsd/ebsd/internal/snapshot"
	"github.com/ebsd/ebsd/internal/store/memstore"
)

// quotaFixture is a fixture whose service has the storage quota quota
// (bytes, for account only) and whose MetaStore the test can purge.
func quotaFixture(t *testing.T, quota *atomic.Int64) (*fixture, *memstore.Meta) {
	t.Helper()
	meta := memstore.NewMeta()
	keys, err := keyring.Open(t.TempDir()+"/kms-keys.json", "us-east-1")
	if err != nil {
		t.Fatal(err)
	}
	svc, err := snapshot.New(context.Background(), snapshot.Options{
		Meta: meta, Blocks: memstore.NewBlocks(), Keys: keys,
		StorageQuota: func(acct string) int64 {
			if acct != account {
				return 0
			}
			return quota.Load()
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{svc: svc}, meta
}

func wantUsage(t *testing.T, f *fixture, step string, blocks int64) {
	t.Helper()
	got, err := f.svc.Usage(context.Background(), account)
	if err != nil {
		t.Fatalf("%s: Usage: %v", step, err)
	}
	if got != blocks*ebs.BlockSize {
		t.Errorf("%s: Usage = %d bytes (%d blocks), want %d blocks", step, got, got/ebs.BlockSize, blocks)
	}
}

// TestUsage walks what changes an account's usage: new non-zero blocks
// add one each, overwrites and zero blocks add nothing, a zero block over
// a block takes it away, completion and deletion change nothing, and the
// purge of a deleted snapshot takes its blocks away.
func TestUsage(t *testing.T) {
	var quota atomic.Int64
	f, meta := quotaFixture(t, &quota)
	ctx := context.Background()
	id := f.start(t, snapshot.StartInput{})
	steps := []struct {
		name   string
		index  int
		data   []byte
		blocks int64
	}{
		{"a block", 0, payload("a"), 1},
		{"another", 1, payload("b"), 2},
		{"an overwrite", 1, payload("c"), 2},
		{"a zero block", 2, zero(), 2},
		{"a zero block over a block", 0, zero(), 1},
		{"a block over a zero block", 2, payload("d"), 2},
	}
	for _, s := range steps {
		if err := f.put(id, s.index, s.data); err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		wantUsage(t, f, s.name, s.blocks)
	}
	if st := f.complete(t, id, 3, ""); st != ebs.StatusCompleted {
		t.Fatalf("complete: %s", st)
	}
	wantUsage(t, f, "completed", 2)
	child := f.start(t, snapshot.StartInput{ParentSnapshotID: &id})
	f.mustPut(t, child, map[int][]byte{1: payload("e")})
	f.complete(t, child, 1, "")
	wantUsage(t, f, "a child's own block", 3)
	if err := f.svc.DeleteSnapshot(ctx, snapshot.DeleteInput{AccountID: account, SnapshotID: &child}); err != nil {
		t.Fatal(err)
	}
	wantUsage(t, f, "deleted, not purged", 3)
	if err := meta.PurgeSnapshot(ctx, child); err != nil {
		t.Fatal(err)
	}
	wantUsage(t, f, "purged", 2)
	if n, err := f.svc.Usage(ctx, "999988887777"); err != nil || n != 0 {
		t.Errorf("another account's usage = %d, %v; want 0", n, err)
	}
}

// untouchable is a body that fails the test when read.
type untouchable struct{ t *testing.T }

func (u untouchable) Read([]byte) (int, error) {
	u.t.Error("the body of a refused PutSnapshotBlock was read")
	return 0, fmt.Errorf("read")
}

// TestStorageQuota fills an account to its quota: the write that would
// pass it is refused with ServiceQuotaExceededException before its body
// is read, zero blocks are still accepted, StartSnapshot is refused at
// the quota, other accounts are not limited, and deleting and purging a
// snapshot lets writes in again.
func TestStorageQuota(t *testing.T) {
	var quota atomic.Int64
	quota.Store(3 * ebs.BlockSize)
	f, meta := quotaFixture(t, &quota)
	ctx := context.Background()
	first := f.start(t, snapshot.StartInput{})
	f.mustPut(t, first, map[int][]byte{0: payload("a"), 1: payload("b")})
	f.complete(t, first, 2, "")
	id := f.start(t, snapshot.StartInput{})
	if err := f.put(id, 0, payload("c")); err != nil {
		t.Fatalf("the block that reaches the quota: %v", err)
	}
	wantUsage(t, f, "at the quota", 3)

	data := payload("d")
	_, err := f.svc.PutSnapshotBlock(ctx, snapshot.PutBlockInput{
		AccountID: account, SnapshotID: id, BlockIndex: "1",
		DataLength: p(fmt.Sprint(ebs.BlockSize)), Checksum: p(ebs.Sum(data).String()),
		ChecksumAlgorithm: p("SHA256"), Body: untouchable{t},
	})
	wantKind(t, err, ebs.KindQuotaExceeded, "", "storage quota")
	for _, want := range []string{"1572864 bytes (1.50 MiB) of the 1572864 bytes", "Delete snapshots", "next garbage collection"} {
		wantKind(t, err, ebs.KindQuotaExceeded, "", want)
	}
	if err := f.put(id, 1, zero()); err != nil {
		t.Errorf("a zero block at the quota: %v", err)
	}
	_, err = f.svc.StartSnapshot(ctx, snapshot.StartInput{AccountID: account, VolumeSize: p(int64(1))})
	wantKind(t, err, ebs.KindQuotaExceeded, "", "storage quota")
	if _, err := f.svc.StartSnapshot(ctx, snapshot.StartInput{AccountID: "999988887777", VolumeSize: p(int64(1))}); err != nil {
		t.Errorf("another account at no quota: %v", err)
	}
	wantUsage(t, f, "after the refusals", 3)

	// A raised quota applies at once.
	quota.Store(4 * ebs.BlockSize)
	if err := f.put(id, 2, payload("e")); err != nil {
		t.Fatalf("after raising the quota: %v", err)
	}
	err = f.put(id, 3, payload("f"))
	wantKind(t, err, ebs.KindQuotaExceeded, "", "storage quota")

	// Space comes back once the deleted snapshot's mappings are purged.
	if err := f.svc.DeleteSnapshot(ctx, snapshot.DeleteInput{AccountID: account, SnapshotID: &first}); err != nil {
		t.Fatal(err)
	}
	err = f.put(id, 3, payload("f"))
	wantKind(t, err, ebs.KindQuotaExceeded, "", "storage quota")
	if err := meta.PurgeSnapshot(ctx, first); err != nil {
		t.Fatal(err)
	}
	if err := f.put(id, 3, payload("f")); err != nil {
		t.Errorf("after the purge: %v", err)
	}
}

// TestStorageQuotaConcurrent runs 64 writers that each write blocks until
// refused, starting just under the quota: the quota is soft by at most
// the writes in flight, so the usage ends at most 64 blocks over it, and
// every writer is refused in the end.
func TestStorageQuotaConcurrent(t *testing.T) {
	const writers, perWriter = 64, 8
	var quota atomic.Int64
	quota.Store(10 * ebs.BlockSize)
	f, _ := quotaFixture(t, &quota)
	id := f.start(t, snapshot.StartInput{VolumeSize: p(int64(1))})
	for i := range 9 {
		if err := f.put(id, i, payload(fmt.Sprint("pre", i))); err != nil {
			t.Fatal(err)
		}
	}
	var (
		wg      sync.WaitGroup
		refused atomic.Int64
	)
	for w := range writers {
		wg.Go(func() {
			for i := range perWriter {
				index := 16 + w*perWriter + i
				data := bytes.Clone(payload(fmt.Sprint(w, "/", i)))
				err := f.put(id, index, data)
				if err == nil {
					continue
				}
				var e *ebs.Error
				if !errors.As(err, &e) || e.Kind != ebs.KindQuotaExceeded {
					t.Errorf("writer %d: %v", w, err)
				}
				refused.Add(1)
				return
			}
			t.Errorf("writer %d wrote %d blocks and was never refused", w, perWriter)
		})
	}
	wg.Wait()
	used, err := f.svc.Usage(context.Background(), account)
	if err != nil {
		t.Fatal(err)
	}
	over := (used - quota.Load()) / ebs.BlockSize
	t.Logf("%d writers refused; usage %d blocks, %d over the quota", refused.Load(), used/ebs.BlockSize, over)
	if over > writers {
		t.Errorf("usage is %d blocks over the quota, want at most %d (the writes in flight)", over, writers)
	}
}

// TestCopyQuota: a copy that re-seals every block (plain source, encrypted
// copy) is refused when its blocks would take the account past its quota,
// and allowed when they fit; a lineage copy, which stores nothing, is not
// refused at the quota.
func TestCopyQuota(t *testing.T) {
	var quota atomic.Int64
	quota.Store(5 * ebs.BlockSize)
	f, _ := quotaFixture(t, &quota)
	ctx := context.Background()
	src := f.start(t, snapshot.StartInput{})
	f.mustPut(t, src, map[int][]byte{0: payload("a"), 1: payload("b"), 2: payload("c")})
	f.complete(t, src, 3, "")
	copyOf := func(encrypted bool) error {
		in := snapshot.CopyInput{AccountID: account, Region: "us-east-1", SourceRegion: p("us-east-1"), SourceSnapshotID: &src}
		if encrypted {
			in.Encrypted = p(true)
		}
		_, err := f.svc.CopySnapshot(ctx, in)
		return err
	}
	// 3 used + 3 to re-seal > 5.
	wantKind(t, copyOf(true), ebs.KindQuotaExceeded, "", "storage quota")
	if err := copyOf(false); err != nil {
		t.Errorf("a lineage copy at 3 of 5 blocks: %v", err)
	}
	quota.Store(6 * ebs.BlockSize)
	if err := copyOf(true); err != nil {
		t.Errorf("a re-seal copy that fits the quota: %v", err)
	}
}
