package gc

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/ebsd/ebsd/internal/store"
)

// sharedStores are fakeStores shared by several processes: an epoch, a
// fence and a lease.
type sharedStores struct {
	*fakeStores
	epoch  uint64
	fenced uint64
	held   bool // another process holds the lease
	lease  *fakeLease
}

func (s *sharedStores) Arm() func() { s.epoch++; return s.fakeStores.Arm() }
func (s *sharedStores) Epoch(context.Context) (uint64, error) {
	s.note("epoch")
	return s.epoch, nil
}
func (s *sharedStores) PutBlockAt(context.Context, string, int32, store.BlockRef, time.Time, uint64) error {
	return nil
}
func (s *sharedStores) Fence(_ context.Context, e uint64) error {
	s.note("fence")
	s.fenced = e
	return nil
}
func (s *sharedStores) TryLease(_ context.Context, name string) (store.Lease, error) {
	s.note("lease " + name)
	if s.held {
		return nil, store.ErrLeaseHeld
	}
	s.lease = &fakeLease{lost: make(chan struct{}), f: s.fakeStores}
	return s.lease, nil
}

type fakeLease struct {
	lost chan struct{}
	f    *fakeStores
}

func (l *fakeLease) Lost() <-chan struct{} { return l.lost }
func (l *fakeLease) Release()              { l.f.note("release") }

// With stores that other processes write, the collection takes the lease,
// and fences at the epoch its Arm advanced to after its own drain and
// before its view.
func TestCollectFencesSharedStores(t *testing.T) {
	s := &sharedStores{fakeStores: &fakeStores{}, epoch: 6}
	c, err := New(Options{Meta: s, Blocks: s, Drain: func(context.Context) error { s.note("drain"); return nil }})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := c.Collect(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := "lease gc,arm,drain,epoch,fence,view,close,sweep,compact,disarm,release"
	if got := strings.Join(s.calls, ","); got != want {
		t.Fatalf("calls = %s\nwant    %s", got, want)
	}
	if s.fenced != 7 || rep.Fence != 7 {
		t.Errorf("fenced at %d (report %d), want the armed epoch 7", s.fenced, rep.Fence)
	}

	// Another process holds the lease: nothing is collected.
	s.calls, s.held = nil, true
	if _, err := c.Collect(context.Background()); !errors.Is(err, ErrRunning) {
		t.Fatalf("Collect while another process holds the lease = %v, want ErrRunning", err)
	}
	if got := strings.Join(s.calls, ","); got != "lease gc" {
		t.Errorf("calls = %s, want only the lease attempt", got)
	}
}

// A lost lease stops the collection.
func TestCollectStopsWhenLeaseLost(t *testing.T) {
	s := &sharedStores{fakeStores: &fakeStores{}}
	c, err := New(Options{Meta: s, Blocks: s, Drain: func(ctx context.Context) error {
		close(s.lease.lost)
		<-ctx.Done()
		return context.Cause(ctx)
	}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Collect(context.Background()); !errors.Is(err, store.ErrLeaseLost) {
		t.Fatalf("Collect after its lease was lost = %v, want ErrLeaseLost", err)
	}
	if strings.Contains(strings.Join(s.calls, ","), "sweep") {
		t.Errorf("swept after the lease was lost: %v", s.calls)
	}
}
