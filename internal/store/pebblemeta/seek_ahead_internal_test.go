package pebblemeta

import (
	"bytes"
	"encoding/binary"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
)

// TestSeekAheadIsSeekGE checks that seekAhead lands where SeekGE would,
// for ascending targets at random distances (within a few steps, and far
// beyond nextsBeforeSeek), on keys present and absent, up to and past the
// last key.
func TestSeekAheadIsSeekGE(t *testing.T) {
	db, err := pebble.Open("", &pebble.Options{FS: vfs.NewMem()})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	key := func(n uint32) []byte { return binary.BigEndian.AppendUint32([]byte("k"), n) }
	r := rand.New(rand.NewPCG(1, 2))
	var keys []uint32
	b := db.NewBatch()
	for n := uint32(0); n < 5000; n += 1 + uint32(r.IntN(6)) {
		keys = append(keys, n)
		if err := b.Set(key(n), nil, nil); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.Commit(nil); err != nil {
		t.Fatal(err)
	}
	for _, gap := range []int{1, 3, 10, 40, 400} {
		it, err := db.NewIter(nil)
		if err != nil {
			t.Fatal(err)
		}
		valid := false
		for target, first := uint32(r.IntN(gap)), true; target < 5100; target += 1 + uint32(r.IntN(gap)) {
			if first {
				valid, first = it.SeekGE(key(target)), false
			} else {
				valid = seekAhead(it, key(target), valid)
			}
			i, _ := slices.BinarySearch(keys, target)
			switch {
			case i == len(keys) && valid:
				t.Fatalf("gap %d: seekAhead(%d) = %x, want the end", gap, target, it.Key())
			case i < len(keys) && (!valid || !bytes.Equal(it.Key(), key(keys[i]))):
				t.Fatalf("gap %d: seekAhead(%d) = %v, want %d", gap, target, valid, keys[i])
			}
		}
		if err := it.Close(); err != nil {
			t.Fatal(err)
		}
	}
}
