package s3blocks

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"testing"

	"github.com/ebsd/ebsd/internal/ebs"
	"github.com/ebsd/ebsd/internal/pack"
	"github.com/ebsd/ebsd/internal/store"
	"github.com/ebsd/ebsd/internal/store/storetest"
)

// TestBlockStoreCompression runs the storetest block suite, whose blocks
// are half random and half compressible, with Options.Compression on, on
// each S3 engine with the in-memory index (TestBlockStore runs it with
// compression off and the PostgreSQL index too).
func TestBlockStoreCompression(t *testing.T) {
	for _, su := range setups[1:] {
		t.Run(su.name, func(t *testing.T) {
			storetest.RunBlockStoreTests(t, func(tb testing.TB) storetest.BlockHarness {
				h := newHarnessOn(tb, su.server(tb), su.index(tb))
				h.opts.Compression = true
				return h
			})
		})
	}
}

// compressibleBlock returns a 512 KiB block that zstd shrinks to about
// half: random bytes, then one run of them repeated.
func compressibleBlock(rng *rand.Rand) (ebs.Digest, []byte) {
	_, b := randomBlock(rng, ebs.BlockSize)
	for i := ebs.BlockSize / 2; i < ebs.BlockSize; i += 64 {
		copy(b[i:], b[:64])
	}
	return ebs.Sum(b), b
}

// entryAt reads the entry header that the index names for key from its
// group object, and the object.
func entryAt(t *testing.T, h *harness, key ebs.Digest) (pack.EntryHeader, Location, []byte) {
	t.Helper()
	loc, err := h.index.Lookup(t.Context(), key)
	if err != nil {
		t.Fatalf("Lookup(%v): %v", key, err)
	}
	obj, err := h.last.objs.readRange(t.Context(), h.last.groupName(loc.Group), 0, -1, nil)
	if err != nil {
		t.Fatalf("read group %d: %v", loc.Group, err)
	}
	eh, err := pack.ParseEntryHeader(obj[loc.Off:])
	if err != nil {
		t.Fatalf("entry of %v: %v", key, err)
	}
	return eh, loc, obj
}

// TestCompressOnWrite checks that with Options.Compression a compressible
// block is stored as a zstd entry shorter than the block and a random one
// as it is, that both read back exactly, from this store and from one
// opened without compression, and that a dedup hit is not compressed.
func TestCompressOnWrite(t *testing.T) {
	forEngines(t, func(t *testing.T, h *harness) {
		h.opts.Compression = true
		s := h.open(t)
		ctx := t.Context()
		rng := newRand()
		ck, cdata := compressibleBlock(rng)
		rk, rdata := randomBlock(rng, ebs.BlockSize)
		for _, b := range []struct {
			k ebs.Digest
			d []byte
		}{{ck, cdata}, {rk, rdata}} {
			if err := s.Put(ctx, b.k, b.d); err != nil {
				t.Fatal(err)
			}
		}
		eh, loc, _ := entryAt(t, h, ck)
		if eh.Codec != pack.CodecZstd || eh.Len >= eh.RawLen || loc.StoredLen != eh.Len || loc.RawLen != ebs.BlockSize {
			t.Errorf("compressible block: codec %d, %d stored of %d raw bytes, index %+v: want a zstd entry shorter than the block",
				eh.Codec, eh.Len, eh.RawLen, loc)
		}
		t.Logf("compressible block: %d stored bytes of %d", eh.Len, eh.RawLen)
		if eh, loc, _ := entryAt(t, h, rk); eh.Codec != pack.CodecNone || eh.Len != ebs.BlockSize || loc.StoredLen != ebs.BlockSize {
			t.Errorf("random block: codec %d, %d stored bytes, index %+v: want it as it is", eh.Codec, eh.Len, loc)
		}
		st := s.Stats()
		if st.BlockBytes != 2*ebs.BlockSize || st.BytesUploaded >= st.BlockBytes {
			t.Errorf("Stats %+v: want %d raw block bytes, fewer uploaded", st, 2*ebs.BlockSize)
		}
		// Reads: into nil, into a block-sized buffer (pooled scratch), and
		// into one with room for the entry past the raw bytes.
		for _, dst := range [][]byte{nil, make([]byte, 3, 3+ebs.BlockSize+64), make([]byte, 5, 2*ebs.BlockSize+4096)} {
			for _, b := range []struct {
				k ebs.Digest
				d []byte
			}{{ck, cdata}, {rk, rdata}} {
				prefix := bytes.Clone(dst)
				got, err := s.Get(ctx, b.k, dst)
				if err != nil {
					t.Fatalf("Get into %d/%d: %v", len(dst), cap(dst), err)
				}
				if !bytes.Equal(got[:len(prefix)], prefix) || !bytes.Equal(got[len(prefix):], b.d) {
					t.Errorf("Get into %d/%d returned other bytes", len(dst), cap(dst))
				}
			}
		}

		// A dedup hit of the compressible block compresses nothing.
		encoded := s.compress.encoded.Load()
		if err := s.Put(ctx, ck, cdata); err != nil {
			t.Fatal(err)
		}
		if n := s.compress.encoded.Load() - encoded; n != 0 {
			t.Errorf("a dedup hit compressed %d blocks", n)
		}

		// A store opened without compression reads both.
		s.Close()
		h.opts.Compression = false
		plain := h.open(t)
		mustGet(t, plain, ck, cdata)
		mustGet(t, plain, rk, rdata)
	})
}

// TestCompactKeepsCompressed checks that compaction copies compressed
// entries as they are, and that they read back from the new group.
func TestCompactKeepsCompressed(t *testing.T) {
	forEngines(t, func(t *testing.T, h *harness) {
		h.opts.Compression = true
		h.opts.ObjectGrace = -1
		s := h.open(t)
		ctx := t.Context()
		rng := newRand()
		live, ldata := compressibleBlock(rng)
		dead, ddata := compressibleBlock(rng)
		for _, b := range []struct {
			k ebs.Digest
			d []byte
		}{{live, ldata}, {dead, ddata}} {
			if err := s.Put(ctx, b.k, b.d); err != nil {
				t.Fatal(err)
			}
		}
		before, from, _ := entryAt(t, h, live)
		disarm := s.Arm()
		if _, err := s.Sweep(ctx, liveSet{live: true}); err != nil {
			t.Fatalf("Sweep: %v", err)
		}
		rep, err := s.Compact(ctx, store.CompactOptions{MinLive: 1})
		disarm()
		if err != nil {
			t.Fatalf("Compact: %v", err)
		}
		after, to, _ := entryAt(t, h, live)
		if rep.PacksCompacted == 0 || to.Group == from.Group {
			t.Fatalf("Compact %+v did not move the block (group %d → %d)", rep, from.Group, to.Group)
		}
		if after != before || to.StoredLen != from.StoredLen || to.RawLen != from.RawLen {
			t.Errorf("entry before compaction %+v at %+v, after %+v at %+v: want it copied as it is", before, from, after, to)
		}
		if rep.BytesCopied != pack.EntryHeaderSize+int64(before.Len) {
			t.Errorf("Compact copied %d bytes, want the entry's %d stored bytes and header", rep.BytesCopied, pack.EntryHeaderSize+int64(before.Len))
		}
		mustGet(t, s, live, ldata)
	})
}

// rewriteEntry replaces the stored bytes of key's entry in its group
// object with what edit makes of them, under a header with their CRC
// (and codec, unless edit changes it): damage that no CRC sees.
func rewriteEntry(t *testing.T, h *harness, key ebs.Digest, edit func(*pack.EntryHeader, []byte)) {
	t.Helper()
	eh, loc, obj := entryAt(t, h, key)
	stored := obj[loc.Off+pack.EntryHeaderSize : loc.Off+pack.EntryHeaderSize+int64(eh.Len)]
	edit(&eh, stored)
	nh := pack.NewCodedEntryHeader(key, eh.Codec, stored, int(eh.RawLen))
	nh.Append(obj[loc.Off:loc.Off])
	if err := h.last.objs.create(t.Context(), h.last.groupName(loc.Group), obj, false); err != nil {
		t.Fatal(err)
	}
}

// TestCompressedDamageIsCorrupt flips a byte of a compressed frame's
// literals (the random half of the block, which zstd stores as it is) and
// fixes the entry's CRC: only the frame's content checksum sees it, and
// Get must return ErrCorrupt and drop the key, never other bytes.
func TestCompressedDamageIsCorrupt(t *testing.T) {
	forEngines(t, func(t *testing.T, h *harness) {
		h.opts.Compression = true
		s := h.open(t)
		key, data := compressibleBlock(newRand())
		if err := s.Put(t.Context(), key, data); err != nil {
			t.Fatal(err)
		}
		rewriteEntry(t, h, key, func(_ *pack.EntryHeader, stored []byte) {
			stored[len(stored)/4] ^= 0x01 // in the first block's literals
		})
		got, err := s.Get(t.Context(), key, nil)
		if !errors.Is(err, store.ErrCorrupt) {
			t.Fatalf("Get of a damaged frame = %d bytes, %v; want ErrCorrupt", len(got), err)
		}
		if ok, _ := s.Has(t.Context(), key); ok {
			t.Error("Has = true for a block whose frame is damaged")
		}
	})
}

// TestUnknownCodec checks that an entry of a codec this ebsd does not know
// (a newer one wrote it) is an error that is not ErrCorrupt, and that the
// key stays indexed: it is not damage.
func TestUnknownCodec(t *testing.T) {
	forEngines(t, func(t *testing.T, h *harness) {
		h.opts.Compression = true
		s := h.open(t)
		key, data := compressibleBlock(newRand())
		if err := s.Put(t.Context(), key, data); err != nil {
			t.Fatal(err)
		}
		rewriteEntry(t, h, key, func(eh *pack.EntryHeader, _ []byte) { eh.Codec = 9 })
		_, err := s.Get(t.Context(), key, nil)
		if !errors.Is(err, pack.ErrUnsupported) || errors.Is(err, store.ErrCorrupt) {
			t.Fatalf("Get of an entry of codec 9 = %v, want ErrUnsupported", err)
		}
		if ok, _ := s.Has(t.Context(), key); !ok {
			t.Error("an entry of an unknown codec was dropped from the index")
		}
	})
}
