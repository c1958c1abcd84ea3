package snapshot_test

import (
	"bytes"
	"context"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/ebsd/ebsd/internal/blockcipher"
	"github.com/ebsd/ebsd/internal/ebs"
	"github.com/ebsd/ebsd/internal/keyring"
	"github.com/ebsd/ebsd/internal/snapshot"
	"github.com/ebsd/ebsd/internal/store"
	"github.com/ebsd/ebsd/internal/store/memstore"
)

// sharedStores are the stores and keys that several services, with and
// without compression, open in turn: a data directory across restarts
// with -compression zstd and -compression off, or an older ebsd.
type sharedStores struct {
	meta   store.MetaStore
	blocks store.BlockStore
	keys   *keyring.Keyring
	clock  *clock
}

func newSharedStores(t *testing.T) *sharedStores {
	keys, err := keyring.Open(t.TempDir()+"/kms-keys.json", "us-east-1")
	if err != nil {
		t.Fatal(err)
	}
	return &sharedStores{meta: memstore.NewMeta(), blocks: memstore.NewBlocks(), keys: keys,
		clock: &clock{t: time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)}}
}

func (s *sharedStores) service(t *testing.T, noCompression bool) *fixture {
	svc, err := snapshot.New(context.Background(), snapshot.Options{
		Meta: s.meta, Blocks: s.blocks, Keys: s.keys, Now: s.clock.Now, Compression: !noCompression,
	})
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{svc: svc, clock: s.clock, keys: s.keys}
}

// stored returns what the block store holds for block data of the
// encrypted snapshot id: its sealed form.
func (s *sharedStores) stored(t *testing.T, id string, data []byte) []byte {
	t.Helper()
	snap, err := s.meta.GetSnapshot(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	plain, err := s.keys.Unwrap(snap.KMSKeyARN, snap.WrappedKey)
	if err != nil {
		t.Fatal(err)
	}
	c, err := blockcipher.New(plain)
	if err != nil {
		t.Fatal(err)
	}
	b, err := s.blocks.Get(context.Background(), c.StorageKey(ebs.Sum(data)), nil)
	if err != nil {
		t.Fatalf("the block store lacks the block: %v", err)
	}
	if want := c.Seal(nil, ebs.Sum(data), data); !blockcipher.IsCompressed(b) && !bytes.Equal(b, want) {
		t.Fatal("a raw form that is not what blockcipher.Seal makes")
	}
	return b
}

// randomData returns a block of pseudo-random bytes.
func randomData(seed uint64) []byte {
	rng := rand.New(rand.NewPCG(seed, seed))
	b := make([]byte, ebs.BlockSize)
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	return b
}

// TestCompressThenSeal writes the blocks of an encrypted snapshot with
// compression on and off, and reads them with it on and off: a block that
// compresses is stored in the compressed form, smaller, only when it was
// written with compression on; any other is stored in the raw form, as
// every block was before compression (and as blockcipher.Seal makes it).
// Every service reads every block back, whichever wrote it.
func TestCompressThenSeal(t *testing.T) {
	nearlyZero := make([]byte, ebs.BlockSize)
	nearlyZero[12345] = 1
	blocks := map[int][]byte{
		0: payload("text"),
		1: randomData(1),
		2: nearlyZero,
		3: slices.Concat(randomData(2)[:ebs.BlockSize/2], payload("half")[:ebs.BlockSize/2]),
	}
	compressible := map[int]bool{0: true, 2: true, 3: true}
	for _, writerOff := range []bool{false, true} {
		name := map[bool]string{false: "written with compression", true: "written without"}[writerOff]
		t.Run(name, func(t *testing.T) {
			st := newSharedStores(t)
			w := st.service(t, writerOff)
			id := w.start(t, snapshot.StartInput{Encrypted: p(true)})
			w.mustPut(t, id, blocks)
			if got := w.complete(t, id, len(blocks), ""); got != ebs.StatusCompleted {
				t.Fatalf("CompleteSnapshot: %s", got)
			}
			for i, data := range blocks {
				b := st.stored(t, id, data)
				wantCompressed := compressible[i] && !writerOff
				if blockcipher.IsCompressed(b) != wantCompressed {
					t.Errorf("block %d: compressed form %v, want %v (%d bytes stored)", i, blockcipher.IsCompressed(b), wantCompressed, len(b))
				}
				if wantCompressed && len(b) > ebs.BlockSize*9/16 {
					t.Errorf("block %d: %d bytes stored compressed, want at most about half a block", i, len(b))
				}
				if !wantCompressed && len(b) != ebs.BlockSize+blockcipher.Overhead() {
					t.Errorf("block %d: %d bytes stored raw", i, len(b))
				}
			}
			for _, readerOff := range []bool{false, true} {
				r := st.service(t, readerOff)
				tokens := r.list(t, id)
				for i, data := range blocks {
					if got := r.get(t, id, int32(i), tokens[int32(i)]); !bytes.Equal(got, data) {
						t.Errorf("reader without compression %v: block %d differs", readerOff, i)
					}
				}
			}
		})
	}
}

// TestCompressedFormDeduplicates checks that a block stored in either form
// deduplicates with a later write of the same content under the same data
// key: the storage key does not depend on the form.
func TestCompressedFormDeduplicates(t *testing.T) {
	st := newSharedStores(t)
	data := payload("dedup")
	raw := st.service(t, true)
	parent := raw.start(t, snapshot.StartInput{Encrypted: p(true)})
	raw.mustPut(t, parent, map[int][]byte{0: data})
	raw.complete(t, parent, 1, "")
	before := st.stored(t, parent, data)

	// The child shares the parent's data key; compression on now.
	z := st.service(t, false)
	child := z.start(t, snapshot.StartInput{ParentSnapshotID: &parent})
	z.mustPut(t, child, map[int][]byte{1: data})
	z.complete(t, child, 1, "")
	if after := st.stored(t, child, data); !bytes.Equal(after, before) {
		t.Error("the block was stored again in another form under the same key")
	}
	tokens := z.list(t, child)
	for _, i := range []int32{0, 1} {
		if got := z.get(t, child, i, tokens[i]); !bytes.Equal(got, data) {
			t.Errorf("block %d differs", i)
		}
	}
}
