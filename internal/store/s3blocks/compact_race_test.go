package s3blocks

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/ebsd/ebsd/internal/store"
)

// repointHook is an Index that runs a hook once, before the first
// Repoint: between a compaction's copy and its commit.
type repointHook struct {
	Index
	once   *sync.Once
	before func()
}

func (x repointHook) Repoint(ctx context.Context, to, size int64, moves []Move, from []int64) (int, error) {
	x.once.Do(x.before)
	return x.Index.Repoint(ctx, to, size, moves, from)
}

// TestRepointRacesSweep races a compaction's repoint (compare-and-set on
// the key's old location) with a sweep's conditional delete of the same
// key, on two nodes (MinIO, PostgreSQL index) as when a collection lease
// is lost unnoticed: dead and live share a group; the sweep finds dead
// dead, the compaction copies both. Whichever commits first, dead is
// either gone, and the sweep says it swept it, or readable at its new
// place, and the sweep says it kept it; live is always readable; no row
// ever names a group that is retired or deleted; and once the old group's
// object is deleted every indexed key reads back bit-exact.
func TestRepointRacesSweep(t *testing.T) {
	for _, tc := range []struct {
		name string
		// repointFirst: the compaction commits between the sweep's scan
		// and its delete; otherwise the sweep deletes between the
		// compaction's copy and its repoint.
		repointFirst bool
		// restore: after the sweep and before the repoint, a Put stores
		// dead again (a new group): the repoint must leave it there.
		restore bool
	}{
		{name: "repoint first", repointFirst: true},
		{name: "delete first"},
		{name: "delete first, then stored again", restore: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := onPostgres(t)
			ctx := t.Context()
			live, dead := newTestBlock(t, 30_000), newTestBlock(t, 30_000)
			old := putTogether(t, h, live, dead)
			// A first collection measures the group: all live, but for
			// its file header, so MinLive 1 compacts it.
			prep := h.open(t)
			disarm := prep.Arm()
			if _, err := prep.Sweep(ctx, liveSet{live.key: true, dead.key: true}); err != nil {
				t.Fatal(err)
			}
			disarm()

			// Node a sweeps, node b compacts; hooks order them.
			var a, b *Store
			var rep store.SweepReport
			var sweepErr, compactErr error
			sweep := func() {
				disarm := a.Arm()
				defer disarm()
				rep, sweepErr = a.Sweep(ctx, liveSet{live.key: true})
			}
			compact := func() {
				_, compactErr = b.Compact(ctx, store.CompactOptions{MinLive: 1})
			}
			aOpts, bOpts := h.opts, h.opts
			bOpts.ObjectGrace = time.Hour // the old object stays for the checks below
			if tc.repointFirst {
				var once sync.Once
				aOpts.Index = deleteHook{h.index, func() { once.Do(compact) }}
			} else {
				bOpts.Index = repointHook{h.index, new(sync.Once), func() {
					sweep()
					if tc.restore {
						if err := a.Put(ctx, dead.key, dead.data); err != nil {
							t.Errorf("Put after the sweep: %v", err)
						}
					}
				}}
			}
			var err error
			if a, err = Open(ctx, aOpts); err != nil {
				t.Fatal(err)
			}
			defer a.Close()
			if b, err = Open(ctx, bOpts); err != nil {
				t.Fatal(err)
			}
			defer b.Close()
			if tc.repointFirst {
				sweep()
			} else {
				compact()
			}
			if sweepErr != nil || compactErr != nil {
				t.Fatalf("Sweep: %v; Compact: %v", sweepErr, compactErr)
			}

			liveAt := mustLookup(t, h, live.key).Group
			if liveAt == old {
				t.Fatalf("live is still in group %d: the compaction did not run", old)
			}
			deadAt, err := h.index.Lookup(ctx, dead.key)
			gone := err != nil
			t.Logf("sweep %+v; live moved from group %d to %d; dead: %v, %v", rep, old, liveAt, deadAt, err)
			switch {
			case tc.restore && rep.Swept != 1:
				t.Errorf("the sweep says it swept %d, want dead swept before it was stored again", rep.Swept)
			case !tc.restore && (gone && rep.Swept != 1 || !gone && rep.Swept != 0):
				t.Errorf("dead is gone: %v, and the sweep says it swept %d", gone, rep.Swept)
			case tc.repointFirst && (gone || deadAt.Group != liveAt):
				// The delete named the old location: a moved row is not it.
				t.Errorf("dead is at %v (%v) after a delete of its old location, want it kept in group %d", deadAt, err, liveAt)
			case !tc.repointFirst && !tc.restore && !gone:
				t.Errorf("dead is at %v after the sweep deleted it before the repoint, want it gone", deadAt)
			case tc.restore && (gone || deadAt.Group == liveAt || deadAt.Group == old):
				// The repoint's compare-and-set missed: its old location
				// was deleted; the row now names the new copy's group.
				t.Errorf("dead is at %v (%v) after it was stored again, want the group of that Put", deadAt, err)
			}
			want := []testBlock{live}
			if !gone {
				want = append(want, dead)
			}
			checkStored(t, h, b, want...)
			if g := groupsByID(t, h)[old]; g.State != GroupRetiring {
				t.Errorf("the old group %d is %s after the compaction, want retiring", old, g.State)
			}

			// The old object goes: every key the index names still reads.
			h.opts.ObjectGrace = -1
			c := h.open(t)
			if _, err := c.Compact(ctx, store.CompactOptions{}); err != nil {
				t.Fatal(err)
			}
			if hasObject(t, h, c, old) {
				t.Errorf("the old group's object is still there")
			}
			checkStored(t, h, c, want...)
		})
	}
}
