package migrate_test

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"testing"
	"time"

	"github.com/ebsd/ebsd/internal/ebs"
	"github.com/ebsd/ebsd/internal/store"
	"github.com/ebsd/ebsd/internal/store/memstore"
)

const (
	owner1 = "111122223333"
	owner2 = "444455556666"
)

// fixture is a source holding a snapshot in every state: a lineage whose
// root is a tombstone, pending, completing, copying and failed snapshots
// (one of them purged), an encrypted lineage, idempotency records and
// secrets, over two owners.
type fixture struct {
	meta   *memstore.Meta
	blocks *memstore.Blocks
	ids    map[string]string // name in this file -> snapshot ID
}

var epoch = time.Date(2026, 12, 1, 10, 0, 0, 123456789, time.UTC)

func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := context.Background()
	f := &fixture{meta: memstore.NewMeta(), blocks: memstore.NewBlocks(), ids: map[string]string{}}
	n := 0
	create := func(name, owner string, s store.Snapshot, token string) store.Snapshot {
		t.Helper()
		n++
		// IDs descend, so that ID order is not the parent-first order.
		s.ID = fmt.Sprintf("snap-%017x", 0xff-n)
		s.OwnerID = owner
		if s.State == 0 {
			s.State = store.StatePending
		}
		s.VolumeSize = 1
		s.StartTime = epoch.Add(time.Duration(n) * time.Minute)
		s.Timeout = 60 * time.Minute
		if s.RootID == "" {
			s.RootID = s.ID
		}
		var idem *store.Idempotency
		if token != "" {
			s.ClientToken = token
			idem = &store.Idempotency{OwnerID: owner, ClientToken: token, RequestHash: sha256.Sum256([]byte(token)),
				SnapshotID: s.ID, Response: []byte(`{"SnapshotId":"` + s.ID + `"}`)}
		}
		if err := f.meta.CreateSnapshot(ctx, s, idem, 0); err != nil {
			t.Fatalf("create %s: %v", name, err)
		}
		f.ids[name] = s.ID
		return s
	}
	// put writes data at index of snapshot s; plaintext blocks are keyed
	// by their hash, sealed ones by a random key, as the service does.
	put := func(s store.Snapshot, index int32, data []byte, at time.Duration) {
		t.Helper()
		ref := store.BlockRef{Digest: sha256.Sum256(data)}
		ref.Key = ref.Digest
		if data == nil {
			ref.Digest, ref.Key = ebs.ZeroBlockDigest, ebs.ZeroBlockDigest
		} else {
			if s.Encrypted {
				sealed := append([]byte("sealed:"), data...)
				_, _ = rand.Read(ref.Key[:])
				data = sealed
			}
			if err := f.blocks.Put(ctx, ref.Key, data); err != nil {
				t.Fatal(err)
			}
		}
		if err := f.meta.PutBlock(ctx, s.ID, index, ref, epoch.Add(at)); err != nil {
			t.Fatalf("put %s %d: %v", s.ID, index, err)
		}
	}
	update := func(s store.Snapshot, fn func(*store.Snapshot)) store.Snapshot {
		t.Helper()
		out, err := f.meta.UpdateSnapshot(ctx, s.ID, func(x *store.Snapshot) error { fn(x); return nil })
		if err != nil {
			t.Fatalf("update %s: %v", s.ID, err)
		}
		return out
	}
	complete := func(s store.Snapshot, full int64) store.Snapshot {
		return update(s, func(x *store.Snapshot) {
			x.State, x.CompleteTime, x.FullBlocks, x.ExpectedBlocks = store.StateCompleted, epoch.Add(time.Hour), full, full
		})
	}
	block := func(tag string) []byte { return []byte("block " + tag) }

	// A lineage root (deleted at the end: a tombstone its children read
	// through), a child and a grandchild still pending.
	root := create("root", owner1, store.Snapshot{Description: "root", Tags: []ebs.Tag{{Key: "env", Value: "prod"}}}, "token-root")
	put(root, 0, block("r0"), 1*time.Second)
	put(root, 1, block("r1"), 2*time.Second)
	put(root, 2, nil, 3*time.Second) // a zero block: mapped, not counted, not stored
	put(root, 3, block("shared"), 4*time.Second)
	root = complete(root, 3)
	child := create("child", owner1, store.Snapshot{ParentID: root.ID, RootID: root.ID, Depth: 1}, "")
	put(child, 1, block("c1"), 5*time.Second)
	put(child, 5, block("c5"), 6*time.Second)
	child = complete(child, 5)
	grand := create("grandchild", owner1, store.Snapshot{ParentID: child.ID, RootID: root.ID, Depth: 2}, "token-grand")
	put(grand, 0, block("g0"), 7*time.Second)
	update(root, func(x *store.Snapshot) { x.State, x.DeleteTime = store.StateDeleted, epoch.Add(2*time.Hour) })

	completing := create("completing", owner1, store.Snapshot{}, "")
	put(completing, 0, block("shared"), 8*time.Second) // deduplicated with root's block 3
	update(completing, func(x *store.Snapshot) {
		x.State, x.ExpectedBlocks, x.ExpectedChecksum = store.StateCompleting, 1, "bG9uZw=="
	})
	failed := create("failed", owner1, store.Snapshot{}, "")
	put(failed, 0, block("f0"), 9*time.Second)
	update(failed, func(x *store.Snapshot) {
		x.State, x.StateMessage, x.CompleteTime = store.StateError, "timed out", epoch.Add(3*time.Hour)
	})
	purged := create("purged", owner1, store.Snapshot{}, "token-purged")
	put(purged, 0, block("p0"), 10*time.Second)
	update(purged, func(x *store.Snapshot) { x.State = store.StateError })
	if err := f.meta.PurgeSnapshot(ctx, purged.ID); err != nil {
		t.Fatal(err)
	}
	lone := create("tombstone", owner1, store.Snapshot{}, "")
	put(lone, 0, block("t0"), 11*time.Second)
	lone = complete(lone, 1)
	update(lone, func(x *store.Snapshot) { x.State, x.DeleteTime = store.StateDeleted, epoch.Add(4*time.Hour) })

	// An encrypted lineage of another owner, and a re-sealing copy of it
	// in progress.
	enc := store.Snapshot{Encrypted: true, KMSKeyARN: "arn:aws:kms:us-east-1:" + owner2 + ":key/k1", WrappedKey: []byte("wrapped-data-key")}
	encRoot := create("encrypted", owner2, enc, "token-enc")
	put(encRoot, 0, block("e0"), 12*time.Second)
	put(encRoot, 7, block("e7"), 13*time.Second)
	encRoot = complete(encRoot, 2)
	enc.ParentID, enc.RootID, enc.Depth = encRoot.ID, encRoot.ID, 1
	encChild := create("encrypted-child", owner2, enc, "")
	put(encChild, 7, block("e7'"), 14*time.Second)
	complete(encChild, 2)
	cp := create("copying", owner2, store.Snapshot{State: store.StateCopying, CopySourceID: encRoot.ID, Encrypted: true,
		KMSKeyARN: "arn:aws:kms:us-east-1:" + owner2 + ":key/k2", WrappedKey: []byte("other-key")}, "")
	put(cp, 0, block("e0"), 15*time.Second)

	for name, value := range map[string]string{"token-hmac-v1": "hmac", "kms/key/arn:aws:kms:us-east-1:" + owner2 + ":key/k1": "material"} {
		if _, err := f.meta.Secret(ctx, name, func() ([]byte, error) { return []byte(value), nil }); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

// all returns every record of m, by ID.
func all(t *testing.T, m store.MetaStore) map[string]store.Snapshot {
	t.Helper()
	out := map[string]store.Snapshot{}
	if err := m.ScanSnapshots(context.Background(), func(s store.Snapshot) (bool, error) {
		out[s.ID] = s
		return true, nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}
