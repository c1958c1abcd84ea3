package snapshot_test

import (
	"context"
	"testing"

	"github.com/ebsd/ebsd/internal/ebs"
	"github.com/ebsd/ebsd/internal/snapshot"
	"github.com/ebsd/ebsd/internal/store/memstore"
)

func TestPendingSnapshotQuota(t *testing.T) {
	svc, err := snapshot.New(context.Background(), snapshot.Options{
		Meta: memstore.NewMeta(), Blocks: memstore.NewBlocks(), MaxPendingSnapshots: 2,
	})
	if err != nil {
		t.Fatal(err)
	}
	start := func(acct string) (string, error) {
		out, err := svc.StartSnapshot(context.Background(), snapshot.StartInput{AccountID: acct, VolumeSize: p(int64(1))})
		if err != nil {
			return "", err
		}
		return out.SnapshotID, nil
	}
	first, err := start(account)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := start(account); err != nil {
		t.Fatal(err)
	}
	_, err = start(account)
	wantKind(t, err, ebs.KindConcurrentLimit, "", "limit of 2 pending snapshots")
	// Other accounts have their own quota.
	if _, err := start("999988887777"); err != nil {
		t.Fatalf("another account: %v", err)
	}
	// Completing one frees a slot.
	if _, err := svc.CompleteSnapshot(context.Background(), snapshot.CompleteInput{AccountID: account, SnapshotID: first, ChangedBlocksCount: p("0")}); err != nil {
		t.Fatal(err)
	}
	if _, err := start(account); err != nil {
		t.Fatalf("after completing one: %v", err)
	}
}
