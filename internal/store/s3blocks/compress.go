package s3blocks

import (
	"sync"
	"sync/atomic"

	"github.com/ebsd/ebsd/internal/ebs"
	"github.com/ebsd/ebsd/internal/pack"
)

// compressLevel is Put's zstd level: the fastest. A group's Puts wait for
// its upload anyway, but the node's CPU is shared with the API, the
// group uploads and (on small deployments) the object store itself, and
// the default level costs about 1.5 times the CPU for about 6% fewer
// bytes (docs/gc.md §8.1).
const compressLevel = pack.SpeedFastest

// compressor encodes the blocks Put adds to groups (Options.Compression):
// zstd entries when that pays (pack.Encoder.EncodeEntry), their frames in
// pooled buffers. It also lends Get the buffers it reads compressed
// entries into.
type compressor struct {
	enc    *pack.Encoder // nil unless Options.Compression
	frames sync.Pool     // *[]byte: compressed frames, and Get's stored bytes
	// encoded counts the blocks given to enc: a dedup hit must not be
	// (TestCompressOnWrite).
	encoded atomic.Int64
}

func newCompressor(enc *pack.Encoder) *compressor {
	return &compressor{enc: enc, frames: sync.Pool{New: func() any { return new([]byte) }}}
}

// encode returns the entry of data under key and a function that releases
// its buffer once the entry is copied into a group. The stored bytes are
// data itself when it is not compressed (no encoder, or it does not pay).
func (c *compressor) encode(key ebs.Digest, data []byte) (pack.EntryHeader, []byte, func()) {
	if c.enc == nil {
		return pack.NewEntryHeader(key, data), data, func() {}
	}
	c.encoded.Add(1)
	bp := c.frames.Get().(*[]byte)
	h, stored := c.enc.EncodeEntry(key, data, (*bp)[:0])
	if h.Codec != pack.CodecNone {
		*bp = stored[:0] // keep the buffer EncodeAll may have grown
	}
	return h, stored, func() { c.frames.Put(bp) }
}

// buffer returns a pooled buffer, empty, and puts it back with its
// capacity once release is called with what it grew into.
func (c *compressor) buffer() (*[]byte, func([]byte)) {
	bp := c.frames.Get().(*[]byte)
	return bp, func(b []byte) {
		*bp = b[:0]
		c.frames.Put(bp)
	}
}
