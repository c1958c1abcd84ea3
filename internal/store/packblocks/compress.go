package packblocks

import (
	"fmt"
	"sync"
	"time"

	"github.com/ebsd/ebsd/internal/ebs"
	"github.com/ebsd/ebsd/internal/pack"
)

// compressLevel is the zstd level of Put: the fastest. On the 2-core
// machines ebsd is measured on, the CPU bounds PutSnapshotBlock, and the
// default level costs about 1.5 times as much CPU for about 6% fewer
// bytes (docs/gc.md §8.1).
const compressLevel = pack.SpeedFastest

// compressor encodes the blocks Put appends, and those compaction copies:
// pack entries compressed with zstd when that pays (pack.Encoder.EncodeEntry),
// into pooled buffers.
type compressor struct {
	enc     *pack.Encoder // Put's; nil unless CompressionZstdOnWrite
	compact *pack.Encoder // compaction's (read-fast frames); nil with CompressionOff
	bufs    sync.Pool     // *[]byte holding compressed frames
}

func newCompressor(c Compression) (*compressor, error) {
	if c == CompressionOff {
		return &compressor{}, nil
	}
	// Compaction compresses off the request path, once, blocks that may
	// be read many times: frames that decode faster are worth a little
	// more CPU and space there (pack.NewReadFastEncoder).
	compact, err := pack.NewReadFastEncoder()
	if err != nil {
		return nil, fmt.Errorf("packblocks: %w", err)
	}
	comp := &compressor{compact: compact, bufs: sync.Pool{New: func() any { return new([]byte) }}}
	if c == CompressionZstdOnWrite {
		if comp.enc, err = pack.NewEncoder(compressLevel); err != nil {
			return nil, fmt.Errorf("packblocks: %w", err)
		}
	}
	return comp, nil
}

// encode returns the entry of data under key and a function that releases
// its buffer once the entry is written. The stored bytes are data itself
// when it is not compressed.
func (c *compressor) encode(key ebs.Digest, data []byte) (pack.EntryHeader, []byte, func()) {
	return c.encodeWith(c.enc, key, data)
}

// encodeWith is encode with enc (nil: store data as it is).
func (c *compressor) encodeWith(enc *pack.Encoder, key ebs.Digest, data []byte) (pack.EntryHeader, []byte, func()) {
	if enc == nil {
		return pack.NewEntryHeader(key, data), data, func() {}
	}
	bp := c.bufs.Get().(*[]byte)
	h, stored := enc.EncodeEntry(key, data, (*bp)[:0])
	if h.Codec != pack.CodecNone {
		*bp = stored[:0] // keep the buffer EncodeAll may have grown
	}
	return h, stored, func() { c.bufs.Put(bp) }
}

// appendBlock encodes data and appends it as key's entry (appendEntry).
// It runs after the Put decided to append, at since: compressing is part
// of a write's latency, which dedup hits are padded to (doc.go, Timing),
// and a block already stored is never compressed for nothing.
func (s *Store) appendBlock(key ebs.Digest, data []byte, call *putCall, since time.Time) error {
	h, stored, release := s.compress.encode(key, data)
	defer release() // the write system calls are done once appendEntry returns
	return s.appendEntry(h, stored, call, since)
}
