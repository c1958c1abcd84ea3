package gc

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/ebsd/ebsd/internal/ebs"
	"github.com/ebsd/ebsd/internal/store"
)

// fakeStores records the order of the collector's calls and serves a
// fixed metadata view.
type fakeStores struct {
	mu     sync.Mutex
	calls  []string
	recs   []store.Snapshot
	blocks map[string][]store.IndexedRef
	live   store.LiveSet
	armed  bool
	purged []string
}

func (f *fakeStores) note(c string) { f.mu.Lock(); f.calls = append(f.calls, c); f.mu.Unlock() }

func (f *fakeStores) Arm() func() {
	f.note("arm")
	f.armed = true
	return func() { f.note("disarm"); f.armed = false }
}
func (f *fakeStores) Sweep(_ context.Context, live store.LiveSet) (store.SweepReport, error) {
	f.note("sweep")
	if !f.armed {
		return store.SweepReport{}, errors.New("sweep while disarmed")
	}
	f.live = live
	return store.SweepReport{}, nil
}
func (f *fakeStores) Compact(context.Context, store.CompactOptions) (store.CompactReport, error) {
	f.note("compact")
	return store.CompactReport{}, nil
}
func (f *fakeStores) MarkView(context.Context) (store.MarkView, error) {
	f.note("view")
	return f, nil
}
func (f *fakeStores) PurgeSnapshot(_ context.Context, id string) error {
	f.note("purge")
	f.purged = append(f.purged, id)
	return nil
}
func (f *fakeStores) Snapshots(_ context.Context, fn func(store.Snapshot) (bool, error)) error {
	for _, r := range f.recs {
		if ok, err := fn(r); !ok || err != nil {
			return err
		}
	}
	return nil
}
func (f *fakeStores) OwnBlocks(_ context.Context, id string, _ int32, fn func(store.IndexedRef) (bool, error)) error {
	for _, b := range f.blocks[id] {
		if ok, err := fn(b); !ok || err != nil {
			return err
		}
	}
	return nil
}
func (f *fakeStores) Close() error { f.note("close"); return nil }

func key(b byte) ebs.Digest { var d ebs.Digest; d[0] = b; return d }

func ref(i int32, k byte) store.IndexedRef {
	return store.IndexedRef{Index: i, Ref: store.BlockRef{Digest: key(k), Key: key(k)}}
}

func TestCollectOrderAndMark(t *testing.T) {
	f := &fakeStores{
		recs: []store.Snapshot{
			{ID: "parent", State: store.StateDeleted},
			{ID: "child", State: store.StateCompleted, ParentID: "parent", Depth: 1},
			{ID: "gone", State: store.StateDeleted},
		},
		blocks: map[string][]store.IndexedRef{
			"parent": {ref(0, 1), ref(1, 2)},
			"child":  {ref(1, 3), {Index: 2, Ref: store.BlockRef{Digest: ebs.ZeroBlockDigest, Key: key(9)}}},
			"gone":   {ref(0, 4)},
		},
	}
	c, err := New(Options{Meta: f, Blocks: f, Drain: func(context.Context) error { f.note("drain"); return nil }})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := c.Collect(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	// Arm, then drain, then the view: a write entering after the drain
	// began must find the block store armed.
	if got := strings.Join(f.calls, ","); got != "arm,drain,view,close,purge,sweep,compact,disarm" {
		t.Fatalf("calls = %s", got)
	}
	for k, want := range map[byte]bool{1: true, 2: true, 3: true, 4: false, 9: false} {
		if f.live.Has(key(k)) != want {
			t.Errorf("live(%d) = %v, want %v", k, !want, want)
		}
	}
	if !slices.Equal(f.purged, []string{"gone"}) || rep.Roots != 2 || rep.LiveKeys != 3 {
		t.Errorf("purged %v, report %+v", f.purged, rep)
	}
}

func TestCollectOneAtATime(t *testing.T) {
	f := &fakeStores{}
	block := make(chan struct{})
	entered := make(chan struct{})
	c, _ := New(Options{Meta: f, Blocks: f, Drain: func(context.Context) error { close(entered); <-block; return nil }})
	done := make(chan error)
	go func() { _, err := c.Collect(context.Background()); done <- err }()
	<-entered
	if _, err := c.Collect(context.Background()); !errors.Is(err, ErrRunning) {
		t.Errorf("second Collect: %v, want ErrRunning", err)
	}
	close(block)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
