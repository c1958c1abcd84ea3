package s3blocks

import (
	"bytes"
	"context"
	"errors"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/ebsd/ebsd/internal/ebs"
	"github.com/ebsd/ebsd/internal/pack"
	"github.com/ebsd/ebsd/internal/s3test"
	"github.com/ebsd/ebsd/internal/store"
)

// forIndexes runs fn as a parallel subtest per setup (harness_test.go):
// each index on the default server, and versitygw.
func forIndexes(t *testing.T, fn func(t *testing.T, h *harness)) {
	for _, su := range setups {
		t.Run(su.name, func(t *testing.T) {
			t.Parallel()
			fn(t, newHarnessOn(t, su.server(t), su.index(t)))
		})
	}
}

// forEngines runs fn, in parallel, on a harness over each S3 engine (the
// default server and versitygw) with the in-memory index: for what the
// store asks of the object store itself.
func forEngines(t *testing.T, fn func(t *testing.T, h *harness)) {
	for _, srv := range []struct {
		name  string
		start func(testing.TB) *s3test.Server
	}{{"default", s3test.Start}, {"versitygw", startVersityGW}} {
		t.Run(srv.name, func(t *testing.T) {
			t.Parallel()
			fn(t, newHarnessOn(t, srv.start(t), newMemIndex()))
		})
	}
}

func randomBlock(rng *rand.Rand, n int) (ebs.Digest, []byte) {
	data := make([]byte, n)
	for i := range data {
		data[i] = byte(rng.Uint32())
	}
	return ebs.Sum(data), data
}

func newRand() *rand.Rand { return rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64())) }

// mustGet fails t unless key reads back as want.
func mustGet(t *testing.T, s *Store, key ebs.Digest, want []byte) {
	t.Helper()
	got, err := s.Get(t.Context(), key, nil)
	if err != nil {
		t.Errorf("Get(%v): %v", key, err)
	} else if !bytes.Equal(got, want) {
		t.Errorf("Get(%v) returned %d other bytes", key, len(got))
	}
}

// TestGroupCarriesConcurrentWriters checks that concurrent writers share
// uploads: 64 writers of 4 blocks each need far fewer PUTs than the 256
// blocks, and Stats counts PUTs per GiB.
func TestGroupCarriesConcurrentWriters(t *testing.T) {
	forIndexes(t, func(t *testing.T, h *harness) {
		h.opts.MaxUploads = 2
		s := h.open(t)
		before := s.Stats()
		const writers, each, size = 64, 4, 16 << 10
		rng := newRand()
		keys := make([]ebs.Digest, writers*each)
		blocks := make([][]byte, writers*each)
		for i := range blocks {
			keys[i], blocks[i] = randomBlock(rng, size)
		}
		var wg sync.WaitGroup
		for w := range writers {
			wg.Go(func() {
				for i := w * each; i < (w+1)*each; i++ {
					if err := s.Put(t.Context(), keys[i], blocks[i]); err != nil {
						t.Errorf("Put: %v", err)
					}
				}
			})
		}
		wg.Wait()
		st := s.Stats()
		puts := st.Puts - before.Puts
		t.Logf("%d blocks in %d PUTs (%d groups): %.0f PUTs per GiB", st.Blocks, puts, st.Groups, st.PutsPerGiB())
		if st.Blocks != writers*each {
			t.Errorf("Stats.Blocks = %d, want %d", st.Blocks, writers*each)
		}
		if puts > writers*each/4 {
			t.Errorf("%d PUTs for %d blocks from %d concurrent writers: blocks are not sharing uploads", puts, writers*each, writers)
		}
		// One object per block would be a PUT per block.
		if perGiB := st.PutsPerGiB(); perGiB <= 0 || perGiB > (1<<30)/size/4 {
			t.Errorf("PutsPerGiB = %.0f with %d PUTs for %d blocks", perGiB, st.Puts, st.Blocks)
		}
		for i := range keys {
			mustGet(t, s, keys[i], blocks[i])
		}
	})
}

// TestPutFailedUpload checks that a Put whose group upload fails returns
// the error and indexes nothing.
func TestPutFailedUpload(t *testing.T) {
	forIndexes(t, func(t *testing.T, h *harness) {
		s := h.open(t)
		f := injectFaults(s)
		boom := errors.New("injected upload failure")
		f.failCreate = boom
		key, data := randomBlock(newRand(), 4096)
		if err := s.Put(t.Context(), key, data); !errors.Is(err, boom) {
			t.Fatalf("Put with a failing upload = %v, want the upload's error", err)
		}
		if _, err := h.index.Lookup(t.Context(), key); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("index lookup after a failed upload = %v, want ErrNotFound", err)
		}
		f.failCreate = nil
		if err := s.Put(t.Context(), key, data); err != nil {
			t.Fatalf("Put once uploads work: %v", err)
		}
		mustGet(t, s, key, data)
	})
}

// TestPutFailedCommit checks that a Put whose seal transaction fails, after
// its object was uploaded, returns the error and indexes nothing; and that
// Compact then retires the orphan group and deletes its object.
func TestPutFailedCommit(t *testing.T) {
	forIndexes(t, func(t *testing.T, h *harness) {
		real := h.opts.Index
		h.opts.Index = sealFails{real}
		h.opts.WritingTTL = time.Nanosecond
		h.opts.ObjectGrace = -1
		s := h.open(t)
		key, data := randomBlock(newRand(), 4096)
		if err := s.Put(t.Context(), key, data); err == nil {
			t.Fatal("Put whose seal failed returned nil")
		}
		if ok, err := s.Has(t.Context(), key); err != nil || ok {
			t.Errorf("Has after a failed seal = %v, %v; want false", ok, err)
		}
		if n := len(h.objectNames(t)); n != 1 {
			t.Fatalf("%d group objects after the failed seal, want the 1 uploaded", n)
		}
		rep, err := s.Compact(t.Context(), store.CompactOptions{})
		if err != nil {
			t.Fatalf("Compact: %v", err)
		}
		if names := h.objectNames(t); len(names) != 0 || rep.PacksRemoved != 1 {
			t.Errorf("after Compact: objects %v, report %+v; want the orphan removed", names, rep)
		}
	})
}

// TestGetFollowsMovedEntry checks that a Get that looked a block up
// before a compaction moved it and deleted its object reads it from its
// new group.
func TestGetFollowsMovedEntry(t *testing.T) {
	forIndexes(t, func(t *testing.T, h *harness) {
		h.opts.ObjectGrace = -1
		s := h.open(t)
		rng := newRand()
		key, data := randomBlock(rng, 100_000)
		dead, other := randomBlock(rng, 100_000)
		for _, b := range []struct {
			k ebs.Digest
			d []byte
		}{{key, data}, {dead, other}} {
			if err := s.Put(t.Context(), b.k, b.d); err != nil {
				t.Fatal(err)
			}
		}
		f := injectFaults(s)
		ranCompact := false
		f.beforeRead = func(string) {
			// Between Get's lookup and its read: a whole collection that
			// moves key and deletes the object Get looked up.
			disarm := s.Arm()
			defer disarm()
			if _, err := s.Sweep(t.Context(), liveSet{key: true}); err != nil {
				t.Errorf("Sweep: %v", err)
			}
			rep, err := s.Compact(t.Context(), store.CompactOptions{MinLive: 1})
			if err != nil {
				t.Errorf("Compact: %v", err)
			}
			ranCompact = rep.PacksCompacted > 0 && rep.PacksRemoved > 0
		}
		mustGet(t, s, key, data)
		if !ranCompact {
			t.Fatal("the compaction did not move the block")
		}
	})
}

// TestMissingObjectIsCorrupt checks that a block whose object is gone
// (not moved) is ErrCorrupt and stops counting as stored.
func TestMissingObjectIsCorrupt(t *testing.T) {
	forIndexes(t, func(t *testing.T, h *harness) {
		s := h.open(t)
		key, data := randomBlock(newRand(), 4096)
		if err := s.Put(t.Context(), key, data); err != nil {
			t.Fatal(err)
		}
		loc, _ := h.index.Lookup(t.Context(), key)
		if err := s.objs.remove(t.Context(), s.groupName(loc.Group)); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Get(t.Context(), key, nil); !errors.Is(err, store.ErrCorrupt) {
			t.Fatalf("Get of a block whose object is gone = %v, want ErrCorrupt", err)
		}
		if ok, _ := s.Has(t.Context(), key); ok {
			t.Error("Has = true for a block whose object is gone")
		}
		if err := s.Put(t.Context(), key, data); err != nil {
			t.Fatal(err)
		}
		mustGet(t, s, key, data)
	})
}

// TestSweepCompactKeep checks one collection: a live key, a dead key, a
// dead key a Put touched after Arm, and a key stored after Arm. The sweep
// deletes only the dead one; a compaction of every group keeps the other
// three readable and deletes the old objects.
func TestSweepCompactKeep(t *testing.T) {
	forIndexes(t, func(t *testing.T, h *harness) {
		h.opts.ObjectGrace = -1
		s := h.open(t)
		ctx := t.Context()
		rng := newRand()
		type blk struct {
			k ebs.Digest
			d []byte
		}
		mk := func() blk { k, d := randomBlock(rng, 50_000); return blk{k, d} }
		live, dead, touched, fresh := mk(), mk(), mk(), mk()
		for _, b := range []blk{live, dead, touched} {
			if err := s.Put(ctx, b.k, b.d); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := s.Sweep(ctx, liveSet{}); err == nil {
			t.Error("Sweep before Arm returned nil")
		}
		disarm := s.Arm()
		// Writers after Arm, as a collection's drain lets in: a dedup
		// hit and a new block. Neither is in the mark's live set.
		for _, b := range []blk{touched, fresh} {
			if err := s.Put(ctx, b.k, b.d); err != nil {
				t.Fatal(err)
			}
		}
		rep, err := s.Sweep(ctx, liveSet{live.k: true})
		if err != nil {
			t.Fatalf("Sweep: %v", err)
		}
		if rep.Scanned != 4 || rep.Swept != 1 || rep.Kept != 2 {
			t.Errorf("Sweep report %+v, want 4 scanned, 1 swept, 2 kept", rep)
		}
		crep, err := s.Compact(ctx, store.CompactOptions{MinLive: 1})
		disarm()
		if err != nil {
			t.Fatalf("Compact: %v", err)
		}
		t.Logf("sweep %+v; compact %+v", rep, crep)
		if crep.PacksRemoved == 0 || crep.BytesReclaimed <= 0 {
			t.Errorf("Compact report %+v: nothing reclaimed", crep)
		}
		for _, b := range []blk{live, touched, fresh} {
			mustGet(t, s, b.k, b.d)
		}
		if ok, _ := s.Has(ctx, dead.k); ok {
			t.Error("the dead key is still stored after the sweep")
		}
		// Only the compacted group's object is left.
		if names := h.objectNames(t); len(names) != 1 {
			t.Errorf("objects after compaction: %v, want 1", names)
		}
	})
}

// TestSweepConcurrentPuts runs a sweep with an empty live set while
// writers re-put stored keys and put new ones: every key a Put
// acknowledged after Arm must survive the sweep and a compaction.
func TestSweepConcurrentPuts(t *testing.T) {
	forIndexes(t, func(t *testing.T, h *harness) {
		h.opts.ObjectGrace = -1
		s := h.open(t)
		ctx := t.Context()
		rng := newRand()
		const n = 64
		keys := make([]ebs.Digest, 2*n)
		blocks := make([][]byte, 2*n)
		for i := range keys {
			keys[i], blocks[i] = randomBlock(rng, 4<<10)
		}
		for i := range n {
			if err := s.Put(ctx, keys[i], blocks[i]); err != nil {
				t.Fatal(err)
			}
		}
		disarm := s.Arm()
		defer disarm()
		var wg sync.WaitGroup
		acked := make([]bool, 2*n)
		for w := range 8 {
			wg.Go(func() {
				for i := w; i < 2*n; i += 8 {
					if i%3 == 0 {
						continue // left untouched: swept
					}
					if err := s.Put(ctx, keys[i], blocks[i]); err != nil {
						t.Errorf("Put: %v", err)
						continue
					}
					acked[i] = true
				}
			})
		}
		wg.Go(func() {
			if _, err := s.Sweep(ctx, liveSet{}); err != nil {
				t.Errorf("Sweep: %v", err)
			}
		})
		wg.Wait()
		if _, err := s.Compact(ctx, store.CompactOptions{MinLive: 1}); err != nil {
			t.Fatalf("Compact: %v", err)
		}
		for i := range keys {
			if acked[i] {
				mustGet(t, s, keys[i], blocks[i])
			}
		}
	})
}

// TestConditionalProbe checks that MinIO and versitygw are found to
// honour If-None-Match, and that an upload over an existing group object
// fails and leaves the first one in place.
func TestConditionalProbe(t *testing.T) {
	forEngines(t, func(t *testing.T, h *harness) {
		s := h.open(t)
		if !s.exclusive {
			t.Fatalf("the probe found that %s ignores If-None-Match: *", h.srv.Engine)
		}
		ctx := context.Background()
		name := s.groupName(1)
		if err := s.objs.create(ctx, name, []byte("a"), true); err != nil {
			t.Fatal(err)
		}
		if err := s.objs.create(ctx, name, []byte("b"), true); !errors.Is(err, errObjectExists) {
			t.Errorf("second exclusive create = %v, want errObjectExists", err)
		}
		if got, err := s.objs.readRange(ctx, name, 0, -1, nil); err != nil || string(got) != "a" {
			t.Errorf("after the refused create the object holds %q, %v; want the first upload's \"a\"", got, err)
		}
		// Racing exclusive uploads of one name: one wins, the others
		// are refused, and the object is the winner's, whole. The
		// server must check and publish atomically, not check first.
		const racers = 8
		name = s.groupName(2)
		bodies := make([][]byte, racers)
		errs := make([]error, racers)
		var wg sync.WaitGroup
		for i := range racers {
			bodies[i] = bytes.Repeat([]byte{byte('a' + i)}, 256<<10)
			wg.Go(func() { errs[i] = s.objs.create(ctx, name, bodies[i], true) })
		}
		wg.Wait()
		winner := -1
		for i, err := range errs {
			switch {
			case err == nil && winner >= 0:
				t.Errorf("racing exclusive creates: both %d and %d succeeded", winner, i)
			case err == nil:
				winner = i
			case !errors.Is(err, errObjectExists):
				t.Errorf("racing exclusive create %d = %v, want nil or errObjectExists", i, err)
			}
		}
		if winner < 0 {
			t.Fatal("racing exclusive creates: none succeeded")
		}
		if got, err := s.objs.readRange(ctx, name, 0, -1, nil); err != nil || !bytes.Equal(got, bodies[winner]) {
			t.Errorf("after racing creates the object holds %d bytes (%v), not the winner's", len(got), err)
		}
	})
}

// TestSweepRacesTouch puts a dedup hit between the sweep's scan, which
// saw the key untouched and not live, and its delete: the delete must see
// the touch and keep the key (I8).
func TestSweepRacesTouch(t *testing.T) {
	forIndexes(t, func(t *testing.T, h *harness) {
		var s *Store
		key, data := randomBlock(newRand(), 4096)
		h.opts.Index = deleteHook{h.index, func() {
			if err := s.Put(t.Context(), key, data); err != nil {
				t.Errorf("Put during the sweep: %v", err)
			}
		}}
		s = h.open(t)
		if err := s.Put(t.Context(), key, data); err != nil {
			t.Fatal(err)
		}
		disarm := s.Arm()
		defer disarm()
		rep, err := s.Sweep(t.Context(), liveSet{})
		if err != nil {
			t.Fatalf("Sweep: %v", err)
		}
		if rep.Swept != 0 || rep.Kept != 1 {
			t.Errorf("Sweep report %+v, want the touched key kept", rep)
		}
		mustGet(t, s, key, data)
	})
}

// TestTruncatedObjectIsCorrupt checks that a block whose group object
// was cut short is ErrCorrupt and stops counting as stored, wherever the
// cut is: inside the entry (the ranged GET returns fewer bytes), or at or
// before its first byte, where S3 servers answer the range with 416
// InvalidRange rather than with bytes.
func TestTruncatedObjectIsCorrupt(t *testing.T) {
	for _, cut := range []struct {
		name string
		at   func(loc Location) int64 // the object's new length
	}{
		{"inside the entry", func(loc Location) int64 { return loc.Off + pack.EntryHeaderSize + int64(loc.StoredLen)/2 }},
		{"at the entry", func(loc Location) int64 { return loc.Off }},
		{"before the entry", func(loc Location) int64 { return loc.Off - 1 }},
	} {
		t.Run(cut.name, func(t *testing.T) {
			forIndexes(t, func(t *testing.T, h *harness) {
				s := h.open(t)
				ctx := t.Context()
				key, data := randomBlock(newRand(), 4096)
				if err := s.Put(ctx, key, data); err != nil {
					t.Fatal(err)
				}
				loc, err := h.index.Lookup(ctx, key)
				if err != nil {
					t.Fatal(err)
				}
				name := s.groupName(loc.Group)
				obj, err := s.objs.readRange(ctx, name, 0, -1, nil)
				if err != nil {
					t.Fatal(err)
				}
				if err := s.objs.create(ctx, name, obj[:cut.at(loc)], false); err != nil {
					t.Fatal(err)
				}
				if _, err := s.Get(ctx, key, nil); !errors.Is(err, store.ErrCorrupt) {
					t.Fatalf("Get of a block whose object was cut to %d bytes (entry at %d) = %v, want ErrCorrupt", cut.at(loc), loc.Off, err)
				}
				if ok, _ := s.Has(ctx, key); ok {
					t.Error("Has = true for a block whose object was cut short")
				}
			})
		})
	}
}
