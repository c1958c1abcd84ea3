package pack

import (
	"fmt"
	"runtime"
	"slices"
	"sync"

	"github.com/klauspost/compress/zstd"

	"github.com/ebsd/ebsd/internal/ebs"
)

// Level is how hard an Encoder compresses.
type Level = zstd.EncoderLevel

// The levels an Encoder offers: SpeedFastest is what ebsd uses (on a
// 2-core machine the CPU, not the disk, bounds PutSnapshotBlock, and the
// default level costs about 1.5 times its CPU for about 6% fewer bytes;
// see docs/gc.md §8.1).
const (
	SpeedFastest = zstd.SpeedFastest
	SpeedDefault = zstd.SpeedDefault
)

// Thresholds of Encoder.Compress.
const (
	// minSavedShift: a block is stored compressed only when that saves at
	// least 1/16 of it (1 << 4). Below that the saving is under 32 KiB a
	// block, and every read of it would pay a decode (about 0.2 ms a
	// block) for a few percent of disk.
	minSavedShift = 4

	// Compress first looks at sampleCount samples of sampleSize bytes
	// spread over the data, and gives up without compressing when none of
	// them looks compressible: random or already compressed data, and
	// every encrypted block, cost about ten microseconds instead of a
	// whole compression attempt (BenchmarkIncompressible).
	sampleCount = 8
	sampleSize  = 4 << 10
)

// Encoder compresses blocks into zstd frames. It is safe for concurrent
// use: it holds one zstd encoder per CPU (GOMAXPROCS), and a call waits
// for a free one, which bounds both the CPU and the memory that
// compression takes however many Puts run at once.
type Encoder struct {
	z *zstd.Encoder
}

// NewEncoder returns an Encoder at level.
func NewEncoder(level Level) (*Encoder, error) {
	return newEncoder(level, false)
}

// NewReadFastEncoder returns an Encoder for data compressed once, off the
// request path, and read many times: zstd's default level, literals left
// without Huffman coding. On the debootstrapped image of ebsd-bench it
// stores 0.316 of the bytes where NewEncoder(SpeedFastest) stores 0.303
// (ebsd-bench -compression, zstd against zstd-on-write in one run), and
// its frames of a text block decode at 1.3-1.4 times the throughput
// (BenchmarkDecompress, both in one run).
func NewReadFastEncoder() (*Encoder, error) {
	return newEncoder(SpeedDefault, true)
}

func newEncoder(level Level, rawLiterals bool) (*Encoder, error) {
	z, err := zstd.NewWriter(nil,
		zstd.WithEncoderLevel(level),
		zstd.WithNoEntropyCompression(rawLiterals),
		zstd.WithEncoderConcurrency(runtime.GOMAXPROCS(0)),
		// The frame's own checksum of the content: a decoding bug or
		// damage that the entry's CRC of the stored bytes cannot see
		// (it covers the frame, not what the frame decodes to) is
		// ErrCorrupt, never wrong data.
		zstd.WithEncoderCRC(true))
	if err != nil {
		return nil, fmt.Errorf("pack: zstd encoder: %w", err)
	}
	return &Encoder{z: z}, nil
}

// Compress appends a zstd frame of raw to dst and reports true, when that
// saves at least 1/16 of raw; otherwise it returns dst unchanged and
// false, and raw is best stored as it is. Data that looks incompressible
// in a few samples is not compressed at all (see sampleCount).
func (e *Encoder) Compress(dst, raw []byte) ([]byte, bool) {
	if len(raw) == 0 || Incompressible(raw) {
		return dst, false
	}
	n := len(dst)
	out := e.z.EncodeAll(raw, dst)
	if len(out)-n > len(raw)-len(raw)>>minSavedShift {
		return out[:n], false
	}
	return out, true
}

// Incompressible reports whether raw looks incompressible from a few
// samples spread over it: the bytes of every one are close to uniformly
// distributed. It costs about ten microseconds for a 512 KiB block.
func Incompressible(raw []byte) bool {
	if len(raw) < sampleCount*sampleSize {
		return !skewed(raw)
	}
	step := (len(raw) - sampleSize) / (sampleCount - 1)
	for i := range sampleCount {
		if skewed(raw[i*step : i*step+sampleSize]) {
			return false
		}
	}
	return true
}

// skewed reports whether the byte values of b are far enough from
// uniform for entropy coding alone to save a few percent: the chi-square
// statistic of their histogram against the uniform distribution,
// X2 = 256/n * sum(c*c) - n, is over n/4. For bytes close to uniform, 8
// bits minus their entropy is about X2/(2n ln 2), so n/4 is an entropy of
// about 7.82 bits per byte (x86 code has about 6, text 5). Random bytes
// give X2 of 255 +- 23, far below it in a 4 KiB sample; the bound never
// goes below 510, twice that, for short b. Integer arithmetic only: a
// Shannon entropy, with a logarithm per byte value, costs several times
// as much.
func skewed(b []byte) bool {
	// Four histograms, summed at the end: consecutive equal bytes then
	// do not wait on each other's increment.
	var h [4][256]uint32
	i := 0
	for ; i+4 <= len(b); i += 4 {
		h[0][b[i]]++
		h[1][b[i+1]]++
		h[2][b[i+2]]++
		h[3][b[i+3]]++
	}
	for ; i < len(b); i++ {
		h[0][b[i]]++
	}
	var sq int
	for v := range 256 {
		c := int(h[0][v] + h[1][v] + h[2][v] + h[3][v])
		sq += c * c
	}
	n := len(b)
	return 256*sq-n*n > max(n/4, 510)*n
}

// EncodeEntry returns the header and stored bytes of an entry holding raw
// under key: a CodecZstd entry, its frame appended to dst, when
// compression pays (Compress), or else a CodecNone entry whose stored
// bytes are raw itself (dst is not used).
func (e *Encoder) EncodeEntry(key ebs.Digest, raw, dst []byte) (EntryHeader, []byte) {
	if e != nil {
		if out, ok := e.Compress(dst, raw); ok {
			stored := out[len(dst):]
			return NewCodedEntryHeader(key, CodecZstd, stored, len(raw)), stored
		}
	}
	return NewEntryHeader(key, raw), raw
}

// decoder returns the zstd decoder that ReadEntry and Decompress share.
// Like Encoder it holds one decoder per CPU and makes calls wait for a free
// one. It is built once, on first use, and never changes after: a pool,
// not state, so a package variable rather than a parameter of every read.
var decoder = sync.OnceValues(func() (*zstd.Decoder, error) {
	return zstd.NewReader(nil,
		zstd.WithDecoderConcurrency(runtime.GOMAXPROCS(0)),
		zstd.WithDecoderMaxMemory(MaxRawLen),
		// Decode into the caller's buffer and never beyond rawLen:
		// a frame that claims more is refused before any allocation.
		zstd.WithDecodeAllCapLimit(true))
})

// decodeSlack is room that Decompress gives the decoder past the raw
// bytes: with at least 16 bytes of it the decoder copies matches and
// literals 16 bytes at a time, which may write past the output's end;
// without it, it takes its "safe" loop, which cost about 1.4 times the
// CPU per block (BenchmarkDecompress). The service's buffers are
// block-sized plus 64 bytes (snapshot.blockBufSize); a buffer with room
// for the raw bytes but not the slack gets the safe loop rather than an
// allocation.
const decodeSlack = 32

// Decompress decodes frame, which must hold exactly rawLen bytes, and
// appends them to dst, growing it once if needed. It returns ErrCorrupt
// (and dst unchanged) when frame is not valid zstd, fails its content
// checksum, or decodes to any other length.
func Decompress(dst, frame []byte, rawLen int) ([]byte, error) {
	d, err := decoder()
	if err != nil {
		return dst, fmt.Errorf("pack: zstd decoder: %w", err)
	}
	if rawLen < 0 || rawLen > MaxRawLen {
		return dst, fmt.Errorf("%w: zstd: raw length %d", ErrCorrupt, rawLen)
	}
	n := len(dst)
	slack := decodeSlack
	if room := cap(dst) - n; room >= rawLen && room < rawLen+slack {
		slack = 0 // room for the bytes but not the slack: no allocation for it
	}
	buf := slices.Grow(dst, rawLen+slack)
	// The full slice expression caps what DecodeAll may write at rawLen
	// and the slack: it writes into buf's array and allocates nothing.
	out, err := d.DecodeAll(frame, buf[:n:n+rawLen+slack])
	if err != nil {
		return dst, fmt.Errorf("%w: zstd: %w", ErrCorrupt, err)
	}
	if len(out)-n != rawLen {
		return dst, fmt.Errorf("%w: zstd: %d bytes decoded, want %d", ErrCorrupt, len(out)-n, rawLen)
	}
	// out shares buf's array; give the caller back its full capacity.
	return buf[:n+rawLen], nil
}
