package s3blocks

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/ebsd/ebsd/internal/ebs"
)

// touchHook runs after each Touch of the index.
type touchHook struct {
	Index
	after func()
}

func (x touchHook) Touch(ctx context.Context, key ebs.Digest) (bool, error) {
	found, err := x.Index.Touch(ctx, key)
	x.after()
	return found, err
}

// TestFollowerTouchesAtItsEpoch: a Put that waits for another Put of the
// same key in flight must not be satisfied by that Put's touch when the
// touch predates an Arm: the follower's caller read the new epoch and maps
// the key past the collection's fence, so the key must be touched at that
// epoch or the sweep takes it.
func TestFollowerTouchesAtItsEpoch(t *testing.T) {
	idx := newMemIndex()
	s := newHarness(t, idx).open(t)
	ctx := t.Context()
	key, data := randomBlock(newRand(), 4096)
	if err := s.Put(ctx, key, data); err != nil {
		t.Fatal(err)
	}
	// From now on the first touch (the leader's, at the old epoch)
	// returns, and then the leader stalls before it settles.
	touched, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	s.index = touchHook{Index: idx, after: func() {
		once.Do(func() {
			close(touched)
			<-release
		})
	}}

	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		if err := s.Put(ctx, key, data); err != nil {
			t.Errorf("leader Put: %v", err)
		}
	}()
	<-touched
	disarm := s.Arm()
	defer disarm()
	epoch, err := s.Epoch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		defer wg.Done()
		if err := s.Put(ctx, key, data); err != nil {
			t.Errorf("follower Put: %v", err)
		}
	}()
	time.Sleep(100 * time.Millisecond) // the follower waits on the leader's claim
	close(release)
	wg.Wait()

	var got uint64
	err = idx.Scan(ctx, func(r IndexRow) error {
		if r.Key == key {
			got = r.Touched
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if got < epoch {
		t.Fatalf("after a Put that began at epoch %d the key is touched at %d: a sweep fenced at %d deletes it", epoch, got, epoch)
	}
}
