package packblocks

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/ebsd/ebsd/internal/ebs"
	"github.com/ebsd/ebsd/internal/store"
)

// settle is how long a test lets a goroutine run into a lock it must wait
// for: long enough that, were the lock missing, it would be done.
const settle = 50 * time.Millisecond

// TestTouchVsSweepAtomic (docs/gc.md T2) checks that a Put's index check
// and its touch are one step with respect to a sweep job's check and
// delete, in both orders, and that a dedup hit after Arm is kept.
func TestTouchVsSweepAtomic(t *testing.T) {
	t.Run("dedup hit after Arm is kept", func(t *testing.T) {
		s := openGC(t, Options{Dir: t.TempDir()})
		key, data := gcBlock(1, 1000)
		other, otherData := gcBlock(2, 1000)
		putGC(t, s, key, data)
		putGC(t, s, other, otherData)
		disarm := s.Arm()
		defer disarm()
		putGC(t, s, key, data) // a dedup hit: a snapshot maps key from now on
		rep, err := s.Sweep(t.Context(), keySet{})
		if err != nil {
			t.Fatal(err)
		}
		if rep.Swept != 1 || rep.Kept != 1 {
			t.Errorf("Sweep swept %d and kept %d, want 1 and 1", rep.Swept, rep.Kept)
		}
		wantBlock(t, s, key, data)
		if ok, _ := s.Has(t.Context(), other); ok {
			t.Error("the key nobody touched was not swept")
		}
	})

	// The Put checks the index and finds key, then pauses before its
	// touch; the sweep's job must wait for the touch, and keep key.
	t.Run("touch first", func(t *testing.T) {
		s := openGC(t, Options{Dir: t.TempDir()})
		key, data := gcBlock(1, 1000)
		putGC(t, s, key, data)
		disarm := s.Arm()
		defer disarm()
		checked, release := make(chan struct{}), make(chan struct{})
		var once sync.Once
		s.hooks.leadAfterHas = func(k ebs.Digest, found bool) {
			once.Do(func() {
				close(checked)
				<-release
			})
		}
		jobs := make(chan struct{}, 1)
		s.hooks.sweepBeforeJob = func(int) { jobs <- struct{}{} }
		putErr := make(chan error, 1)
		go func() { putErr <- s.Put(context.Background(), key, data) }()
		<-checked
		type result struct {
			rep store.SweepReport
			err error
		}
		swept := make(chan result, 1)
		go func() {
			rep, err := s.Sweep(context.Background(), keySet{})
			swept <- result{rep, err}
		}()
		<-jobs
		time.Sleep(settle)
		select {
		case r := <-swept:
			t.Errorf("the sweep finished (%+v, %v) while a Put was between its index check and its touch", r.rep, r.err)
			close(release)
			<-putErr
			wantBlock(t, s, key, data)
			return
		default:
		}
		close(release)
		if err := <-putErr; err != nil {
			t.Fatalf("Put: %v", err)
		}
		r := <-swept
		if r.err != nil || r.rep.Swept != 0 || r.rep.Kept != 1 {
			t.Errorf("Sweep = %+v, %v; want nothing swept and the touched key kept", r.rep, r.err)
		}
		wantBlock(t, s, key, data)
	})

	// The sweep's job has decided to delete key and pauses before its
	// commit; a Put of key then must not find key stored (a dedup hit on a
	// copy about to go) but wait, find it gone and store it again.
	t.Run("sweep first", func(t *testing.T) {
		s := openGC(t, Options{Dir: t.TempDir()})
		key, data := gcBlock(1, 1000)
		putGC(t, s, key, data)
		disarm := s.Arm()
		defer disarm()
		deciding, release := make(chan struct{}), make(chan struct{})
		var once sync.Once
		s.hooks.sweepBeforeCommit = func() {
			once.Do(func() {
				close(deciding)
				<-release
			})
		}
		swept := make(chan error, 1)
		go func() {
			_, err := s.Sweep(context.Background(), keySet{})
			swept <- err
		}()
		<-deciding
		putErr := make(chan error, 1)
		go func() { putErr <- s.Put(context.Background(), key, data) }()
		time.Sleep(settle)
		close(release)
		if err := <-swept; err != nil {
			t.Fatalf("Sweep: %v", err)
		}
		if err := <-putErr; err != nil {
			t.Fatalf("Put: %v", err)
		}
		wantBlock(t, s, key, data)
	})
}

// TestSweepCASLocation (docs/gc.md T3): the sweep scans key at one
// location; before its job runs, key's copy is found corrupt and key is
// Put again, at another location. The job must not delete the fresh copy.
// The Put's touch is taken back, as for a Put the touched set did not
// record: the location check alone must keep the copy (in the SQL design
// the touch and the location are separate conditions of the delete).
func TestSweepCASLocation(t *testing.T) {
	dir := t.TempDir()
	s := openGC(t, Options{Dir: dir})
	key, data := gcBlock(1, 5000)
	putGC(t, s, key, data)
	disarm := s.Arm()
	defer disarm()
	s.hooks.sweepBeforeJob = func(int) {
		rot(t, dir, 0, key)
		if _, err := s.Get(context.Background(), key, nil); !errors.Is(err, store.ErrCorrupt) {
			t.Errorf("Get of the rotted copy: %v, want ErrCorrupt", err)
		}
		putGC(t, s, key, data)
		ts := s.touched.Load()
		sh := &ts.shards[key[0]%touchShards]
		sh.mu.Lock()
		delete(sh.m, key)
		sh.mu.Unlock()
	}
	rep, err := s.Sweep(t.Context(), keySet{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Swept != 0 {
		t.Errorf("Sweep swept %d entries, want 0", rep.Swept)
	}
	wantBlock(t, s, key, data)
}

// TestFreshAppendDuringSweep (docs/gc.md T3b): after the sweep started, a
// Put appends a key that no live set holds (its mapping commits after the
// mark) and that sorts after the sweep's cursor; when the sweep reaches it,
// it must keep it.
func TestFreshAppendDuringSweep(t *testing.T) {
	s := openGC(t, Options{Dir: t.TempDir()})
	s.sweepBatch = 1
	var fresh ebs.Digest
	var freshData []byte
	dead := 0
	for seed := uint64(1); fresh == (ebs.Digest{}) || dead < 2; seed++ {
		key, data := gcBlock(seed, 100)
		switch {
		case key[0] == 0xff && fresh == (ebs.Digest{}):
			fresh, freshData = key, data
		case key[0] < 0x80 && dead < 2:
			putGC(t, s, key, data)
			dead++
		}
	}
	disarm := s.Arm()
	defer disarm()
	s.hooks.sweepBeforeJob = func(batch int) {
		if batch == 0 {
			putGC(t, s, fresh, freshData)
		}
	}
	rep, err := s.Sweep(t.Context(), keySet{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Scanned != 3 || rep.Swept != 2 || rep.Kept != 1 {
		t.Errorf("Sweep = %+v; want 3 scanned, 2 swept, the fresh key kept", rep)
	}
	wantBlock(t, s, fresh, freshData)
}
