package packblocks

import (
	"bytes"
	"cmp"
	"fmt"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/cockroachdb/pebble/v2"

	"github.com/ebsd/ebsd/internal/pack"
)

// Compression by compaction (CompressionZstd, and CompressionZstdOnWrite
// for entries stored raw): a complete pack that no "z" key marks is
// sampled once; if any sampled entry is stored raw and looks compressible
// (pack.Incompressible), the pack becomes a compaction source even with no
// garbage, and compaction stores each raw entry that zstd shrinks by 1/16
// compressed, its output marked "z". A pack whose samples give nothing to
// gain (random data, sealed blocks, entries compressed on write) is marked
// at once and never read again for this. Sampling, not a flag kept by
// Put, decides: it costs a few reads per pack once, and it covers packs
// written before compression was turned on.

// prefixCompressed marks a pack whose entries are as compressed as they
// will be (see index.go).
const prefixCompressed = 'z'

func compressedKey(pack uint32) []byte { return packKey(prefixCompressed, pack) }

// compressed counts what one Compact compressed, for its log line: the raw
// bytes of the entries it stored compressed, and their compressed bytes.
type compressed struct{ raw, stored int64 }

// compressSamples is how many indexed entries of a pack are read to judge
// whether compacting it would compress anything: 8 of the 256 blocks of a
// full 128 MiB pack, 4 MiB of reads.
const compressSamples = 8

// compressIdle is how long after the last append the pack being written
// counts as idle: with compression on, compaction then ends it, so that
// the data of a store at rest does not stay raw in it
// (retireIdleActive).
const compressIdle = time.Minute

// retireIdleActive ends appends to the pack being written when compression
// is on, nothing was appended to it for compressIdle, and it holds at
// least a quarter of Options.PackSize: it becomes a complete pack that
// this Compact can compress. The quarter keeps a trickle of writes from
// cutting a small pack at every collection.
func (s *Store) retireIdleActive(res *sweepResult) {
	if s.compress.compact == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.active
	if p == nil {
		return
	}
	size, ok := res.packs[p.id]
	if !ok || size < s.opts.PackSize/4 {
		return
	}
	if last := s.lastAppend.Load(); last != 0 && time.Since(time.Unix(0, last)) < compressIdle {
		return
	}
	s.log.Info("packblocks: ending the idle pack being written, to compress it", "pack", p.id, "size", size)
	s.retireLocked(p)
}

// compressedPacks returns the packs marked "z".
func compressedPacks(db *pebble.DB) (map[uint32]bool, error) {
	it, err := db.NewIter(&pebble.IterOptions{LowerBound: []byte{prefixCompressed}, UpperBound: []byte{prefixCompressed + 1}})
	if err != nil {
		return nil, err
	}
	m := make(map[uint32]bool)
	for it.First(); it.Valid(); it.Next() {
		if k := it.Key(); len(k) == 5 {
			m[uint32(k[1])<<24|uint32(k[2])<<16|uint32(k[3])<<8|uint32(k[4])] = true
		}
	}
	return m, it.Close()
}

// compressionSources returns, oldest first, the candidates (complete packs
// that no other rule chose and no "z" key marks) that sampling finds
// worth compressing, as long as their live bytes fit in budget (<= 0: no
// bound); the others it samples it marks "z". Packs beyond the budget are
// left for a later collection, unsampled.
func (s *Store) compressionSources(cands []compactSource, budget int64) ([]compactSource, error) {
	if s.compress.compact == nil || len(cands) == 0 {
		return nil, nil
	}
	marked, err := compressedPacks(s.db)
	if err != nil {
		return nil, fmt.Errorf("packblocks: compact: %w", err)
	}
	cands = slices.DeleteFunc(slices.Clone(cands), func(c compactSource) bool { return marked[c.id] })
	if len(cands) == 0 {
		return nil, nil
	}
	slices.SortFunc(cands, func(a, b compactSource) int { return cmp.Compare(a.id, b.id) })
	samples, err := s.sampleEntries(cands)
	if err != nil {
		return nil, err
	}
	var out []compactSource
	var judged []uint32 // sampled, nothing to gain
	var taken int64
	for _, c := range cands {
		if budget > 0 && taken+c.live > budget {
			break
		}
		worth, err := s.worthCompressing(c.id, samples[c.id])
		if err != nil {
			return nil, err
		}
		if !worth {
			judged = append(judged, c.id)
			continue
		}
		out = append(out, c)
		taken += c.live
	}
	if len(judged) > 0 {
		err := s.runJob(func() error {
			b := s.db.NewBatch()
			defer b.Close()
			for _, id := range judged {
				if err := b.Set(compressedKey(id), nil, nil); err != nil {
					return err
				}
			}
			// Not synced: a lost mark costs one more sampling.
			return b.Commit(pebble.NoSync)
		})
		if err != nil {
			return nil, fmt.Errorf("packblocks: compact: %w", err)
		}
	}
	return out, nil
}

// sampleEntries returns up to compressSamples indexed entries of each of
// cands, chosen uniformly (reservoir sampling over one pass of the index).
func (s *Store) sampleEntries(cands []compactSource) (map[uint32][]indexedEntry, error) {
	want := make(map[uint32]int, len(cands)) // entries seen so far
	for _, c := range cands {
		want[c.id] = 0
	}
	out := make(map[uint32][]indexedEntry, len(cands))
	err := eachIndexed(s.db, func(e indexedEntry) error {
		seen, ok := want[e.loc.pack]
		if !ok || e.loc.corrupt {
			return nil
		}
		want[e.loc.pack] = seen + 1
		if seen < compressSamples {
			out[e.loc.pack] = append(out[e.loc.pack], e)
		} else if j := rand.IntN(seen + 1); j < compressSamples {
			out[e.loc.pack][j] = e
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// worthCompressing reads samples of pack id and reports whether any is
// stored raw and looks compressible. An entry that does not read back is
// no reason to rewrite the pack (compaction of a sparse pack, or the next
// Get, deals with damage).
func (s *Store) worthCompressing(id uint32, samples []indexedEntry) (bool, error) {
	if len(samples) == 0 {
		return false, nil
	}
	f, err := s.fs.Open(s.packPath(id))
	if err != nil {
		return false, fmt.Errorf("packblocks: compact: %w", err)
	}
	defer f.Close()
	bp := s.compress.bufs.Get().(*[]byte)
	defer s.compress.bufs.Put(bp)
	for _, e := range samples {
		data, h, err := pack.ReadEntryHeader(f, e.loc.off, e.key, (*bp)[:0])
		*bp = data[:0]
		if err != nil || h.Codec != pack.CodecNone {
			continue
		}
		if !pack.Incompressible(data) {
			return true, nil
		}
	}
	return false, nil
}

// compressEntry returns the entry compaction writes for the raw entry h
// (stored bytes raw, already verified) when compression pays, and a
// function that releases its buffer once it is written; otherwise h and
// raw themselves. Each frame is decoded again and compared with raw before
// it is used: the raw copy is deleted once the compaction commits, and an
// encoder fault must not turn an intact block into a corrupt one.
func (c *compactCopy) compressEntry(h pack.EntryHeader, raw []byte) (pack.EntryHeader, []byte, func()) {
	comp := c.s.compress
	nop := func() {}
	if comp.compact == nil || h.Codec != pack.CodecNone {
		return h, raw, nop
	}
	ch, stored, release := comp.encodeWith(comp.compact, h.Key, raw)
	if ch.Codec == pack.CodecNone {
		release()
		return h, raw, nop
	}
	bp := comp.bufs.Get().(*[]byte)
	back, err := pack.Decompress((*bp)[:0], stored, int(ch.RawLen))
	*bp = back[:0]
	same := err == nil && bytes.Equal(back, raw)
	comp.bufs.Put(bp)
	if !same {
		release()
		c.s.log.Error("packblocks: compaction: a compressed copy did not decode to the block; storing it as it is",
			"key", h.Key.String(), "err", err)
		return h, raw, nop
	}
	c.rawIn += int64(len(raw))
	c.compressedOut += int64(len(stored))
	return ch, stored, release
}
