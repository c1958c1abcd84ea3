package s3blocks

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ebsd/ebsd/internal/ebs"
	"github.com/ebsd/ebsd/internal/store"
)

// errCrash is what every step fails with from the crash on.
var errCrash = errors.New("injected crash")

// crashPoint kills a store at its n-th step: a write to the index or to
// object storage. That step and every later one fail with errCrash
// without being done, as if the process had died just before it; reads
// still work (they change nothing). n = 0 never crashes, and records the
// steps.
type crashPoint struct {
	mu    sync.Mutex
	at    int
	steps []string
}

func (c *crashPoint) step(format string, args ...any) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	name := fmt.Sprintf(format, args...)
	c.steps = append(c.steps, name)
	if c.at > 0 && len(c.steps) >= c.at {
		return fmt.Errorf("%w before %s", errCrash, name)
	}
	return nil
}

// crashIndex is an Index whose writes go through a crashPoint.
type crashIndex struct {
	Index
	c *crashPoint
}

func (x crashIndex) NewGroup(ctx context.Context, node string, size int64) (int64, error) {
	if err := x.c.step("NewGroup"); err != nil {
		return 0, err
	}
	return x.Index.NewGroup(ctx, node, size)
}

func (x crashIndex) Seal(ctx context.Context, group, size int64, entries []IndexEntry) error {
	if err := x.c.step("Seal(%d)", group); err != nil {
		return err
	}
	return x.Index.Seal(ctx, group, size, entries)
}

func (x crashIndex) Drop(ctx context.Context, key ebs.Digest, loc Location, reason string) error {
	if err := x.c.step("Drop"); err != nil {
		return err
	}
	return x.Index.Drop(ctx, key, loc, reason)
}

func (x crashIndex) Repoint(ctx context.Context, to, size int64, moves []Move, from []int64) (int, error) {
	if err := x.c.step("Repoint(%d)", to); err != nil {
		return 0, err
	}
	return x.Index.Repoint(ctx, to, size, moves, from)
}

func (x crashIndex) Retire(ctx context.Context, group int64, from GroupState) (bool, error) {
	if err := x.c.step("Retire(%d)", group); err != nil {
		return false, err
	}
	return x.Index.Retire(ctx, group, from)
}

func (x crashIndex) Forget(ctx context.Context, group int64) error {
	if err := x.c.step("Forget(%d)", group); err != nil {
		return err
	}
	return x.Index.Forget(ctx, group)
}

// crashObjects is objects whose uploads and deletes go through a
// crashPoint.
type crashObjects struct {
	objects
	c *crashPoint
}

func (o crashObjects) create(ctx context.Context, name string, body []byte, exclusive bool) error {
	if err := o.c.step("upload(%s)", name); err != nil {
		return err
	}
	return o.objects.create(ctx, name, body, exclusive)
}

func (o crashObjects) remove(ctx context.Context, name string) error {
	if err := o.c.step("delete(%s)", name); err != nil {
		return err
	}
	return o.objects.remove(ctx, name)
}

// TestCompactCrashAtEveryStep kills a compaction before each of its steps
// in turn (MinIO, PostgreSQL index) and goes on with new stores on the
// same bucket and index, as a restarted node would. The compaction
// retires an empty group, copies the live block of a sparse group into a
// new group, and deletes the objects of both. At every step, before and
// after the later compactions, every live block reads back bit-exact, no
// index row names a group that is not sealed or whose object is gone, and
// no object is left without a row; the steps of the protocol leave the
// states docs/gc.md §9 says, and a later compaction keeps an orphan until
// WritingTTL and a retired object until ObjectGrace, then removes both.
func TestCompactCrashAtEveryStep(t *testing.T) {
	steps := compactCrash(t, 0)
	if len(steps) < 8 {
		t.Fatalf("the compaction took %d steps (%v), want at least 8", len(steps), steps)
	}
	t.Logf("steps: %s", strings.Join(steps, ", "))
	for n := 1; n <= len(steps); n++ {
		kind, _, _ := strings.Cut(steps[n-1], "(")
		t.Run(fmt.Sprintf("%d_before_%s", n, kind), func(t *testing.T) {
			t.Parallel()
			compactCrash(t, n)
		})
	}
}

// compactCrash runs one round of TestCompactCrashAtEveryStep, crashing at
// step n (0: never), and returns the steps the compaction took.
func compactCrash(t *testing.T, n int) []string {
	h := onPostgres(t)
	ctx := t.Context()
	live, dead := newTestBlock(t, 20_000), newTestBlock(t, 60_000)
	sparse := putTogether(t, h, live, dead) // a quarter live after the sweep
	bystander, gone := newTestBlock(t, 30_000), newTestBlock(t, 30_000)
	setup := h.open(t)
	for _, b := range []testBlock{bystander, gone} { // a group each
		if err := setup.Put(ctx, b.key, b.data); err != nil {
			t.Fatal(err)
		}
	}
	empty := mustLookup(t, h, gone.key).Group
	disarm := setup.Arm()
	if _, err := setup.Sweep(ctx, liveSet{live.key: true, bystander.key: true}); err != nil {
		t.Fatal(err)
	}
	disarm()
	keep := []testBlock{live, bystander}

	cp := &crashPoint{at: n}
	opts := h.opts
	opts.Index = crashIndex{h.index, cp}
	opts.ObjectGrace = -1 // the whole protocol in one call
	x, err := Open(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	x.objs = crashObjects{x.objs, cp}
	_, err = x.Compact(ctx, store.CompactOptions{})
	// x is abandoned here, without Close: the process died.
	if n == 0 {
		if err != nil {
			t.Fatalf("Compact: %v", err)
		}
		return cp.steps
	}
	if !errors.Is(err, errCrash) {
		t.Fatalf("Compact with a crash at step %d = %v, want the crash", n, err)
	}
	crashed := cp.steps[n-1]
	t.Logf("crashed before step %d, %s, of %v", n, crashed, cp.steps)

	// A node restarted with the defaults: an hour of writing TTL, two
	// minutes of object grace.
	r1 := h.open(t)
	checkStored(t, h, r1, keep...)
	groups := groupsByID(t, h)
	var writing []Group
	for _, g := range groups {
		if g.State == GroupWriting {
			writing = append(writing, g)
		}
	}
	newGroup := mustLookup(t, h, live.key).Group
	switch {
	case strings.HasPrefix(crashed, "upload"):
		// The new group's row is written, its object is not.
		if len(writing) != 1 || hasObject(t, h, r1, writing[0].ID) {
			t.Errorf("crash before the upload: writing groups %v, want 1 without an object", writing)
		}
	case strings.HasPrefix(crashed, "Repoint"):
		// Uploaded and not committed: an orphan; the keys are where they were.
		if len(writing) != 1 || !hasObject(t, h, r1, writing[0].ID) {
			t.Errorf("crash before the repoint: writing groups %v, want the new one, with its object", writing)
		}
		if newGroup != sparse {
			t.Errorf("crash before the repoint: the live block is in group %d, want its old group %d", newGroup, sparse)
		}
	case strings.HasPrefix(crashed, "delete"), strings.HasPrefix(crashed, "Forget"):
		// Committed: the keys moved; the old groups retire, with their
		// objects until deleted, and then without.
		if newGroup == sparse {
			t.Errorf("crash after the repoint: the live block is still in group %d", sparse)
		}
		for _, id := range []int64{sparse, empty} {
			g, ok := groups[id]
			if !ok {
				continue // deleted and forgotten before the crash
			}
			deleting := fmt.Sprintf("(%s)", r1.groupName(id))
			wantObject := !slices.ContainsFunc(cp.steps[:n-1], func(s string) bool { return strings.HasSuffix(s, deleting) })
			if g.State != GroupRetiring || hasObject(t, h, r1, id) != wantObject {
				t.Errorf("group %d after a crash before %s: %s, object %v; want retiring, object %v",
					id, crashed, g.State, hasObject(t, h, r1, id), wantObject)
			}
		}
	}

	// The next compaction, with the defaults, finishes the copy if the
	// crash came before its commit, and deletes nothing yet.
	var graced []int64 // retired groups whose objects are there
	for id, g := range groups {
		if g.State == GroupRetiring && hasObject(t, h, r1, id) {
			graced = append(graced, id)
		}
	}
	if _, err := r1.Compact(ctx, store.CompactOptions{}); err != nil {
		t.Fatalf("Compact after the crash: %v", err)
	}
	checkStored(t, h, r1, keep...)
	after := groupsByID(t, h)
	for _, g := range writing {
		if a, ok := after[g.ID]; !ok || a.State != GroupWriting {
			t.Errorf("the orphan group %d was retired or removed before WritingTTL", g.ID)
		}
	}
	for _, id := range graced {
		if _, ok := after[id]; !ok || !hasObject(t, h, r1, id) {
			t.Errorf("the object of group %d, retired just now, was deleted before ObjectGrace", id)
		}
	}

	// Once both have passed, the next one removes every orphan and every
	// retired group.
	h.opts.WritingTTL = time.Nanosecond
	h.opts.ObjectGrace = -1
	r2 := h.open(t)
	if _, err := r2.Compact(ctx, store.CompactOptions{}); err != nil {
		t.Fatalf("Compact after WritingTTL and ObjectGrace: %v", err)
	}
	checkStored(t, h, r2, keep...)
	final := groupsByID(t, h)
	for _, g := range final {
		if g.State != GroupSealed {
			t.Errorf("group %d is %s after the last compaction", g.ID, g.State)
		}
	}
	if len(final) != 2 || len(h.objectNames(t)) != 2 {
		t.Errorf("%d groups and objects %v in the end, want 2: the bystander's and the compacted one", len(final), h.objectNames(t))
	}
	return cp.steps
}

// mustLookup returns key's location in h's index.
func mustLookup(t *testing.T, h *harness, key ebs.Digest) Location {
	t.Helper()
	loc, err := h.index.Lookup(t.Context(), key)
	if err != nil {
		t.Fatalf("Lookup(%v): %v", key, err)
	}
	return loc
}
