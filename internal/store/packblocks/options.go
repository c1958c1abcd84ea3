package packblocks

import (
	"errors"
	"fmt"
	"log/slog"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/ebsd/ebsd/internal/pack"
)

// Defaults for the zero values of Options.
const (
	DefaultPackSize     = 128 << 20
	DefaultMaxOpenFiles = 256
)

// Options configure a Store.
type Options struct {
	// Dir holds the store: pack files in Dir/packs, the index in
	// Dir/index. It is created if needed.
	Dir string

	// FS is the file system every file and directory of the store lives
	// on, the index's included; nil means vfs.Default, the operating
	// system's. Tests pass vfs.NewCrashableMem() to simulate power loss.
	FS vfs.FS

	// Logger receives what an operator must act on, such as damaged bytes
	// moved to quarantine; nil means slog.Default().
	Logger *slog.Logger

	// PackSize is the size at which the active pack is sealed and a new one
	// started; default DefaultPackSize. A pack can exceed it by one entry
	// when that entry alone is larger.
	PackSize int64

	// MaxOpenFiles bounds the read handles of packs kept open for Get;
	// default DefaultMaxOpenFiles. More may be open briefly while reads are
	// in flight.
	MaxOpenFiles int

	// Compression says how blocks are stored: CompressionOff (the zero
	// value) stores every block as it is, CompressionZstdOnWrite has Put
	// compress each block that zstd shrinks by at least 1/16, and
	// CompressionZstd has compaction do it (Put stores blocks as they
	// are). Get reads every kind, so it can change between two Opens.
	Compression Compression

	// MinFreeBytes is the free space, on the file system holding Dir,
	// below which (plus the size of the index's write-ahead log) Open
	// opens the store read-only rather than let Pebble retry a flush
	// forever (see SpaceError). DefaultMinFreeBytes when 0; a negative
	// value turns the check off. A file system that cannot tell its free
	// space, like vfs.MemFS by default, is never too full.
	MinFreeBytes int64
}

// withDefaults returns o with zero values replaced by defaults, or an error
// for values that make no sense.
func (o Options) withDefaults() (Options, error) {
	if o.Dir == "" {
		return o, errors.New("packblocks: Options.Dir is empty")
	}
	if o.FS == nil {
		o.FS = vfs.Default
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.PackSize == 0 {
		o.PackSize = DefaultPackSize
	}
	if o.PackSize < pack.FileHeaderSize+pack.EntryHeaderSize {
		return o, fmt.Errorf("packblocks: Options.PackSize %d is too small", o.PackSize)
	}
	if o.MaxOpenFiles == 0 {
		o.MaxOpenFiles = DefaultMaxOpenFiles
	}
	if o.MinFreeBytes == 0 {
		o.MinFreeBytes = DefaultMinFreeBytes
	}
	if o.MaxOpenFiles < 0 {
		return o, fmt.Errorf("packblocks: Options.MaxOpenFiles %d is negative", o.MaxOpenFiles)
	}
	return o, nil
}

// Compression is how blocks are stored; see Options.Compression.
type Compression uint8

const (
	// CompressionOff stores every block as it is, and compaction copies
	// entries as they are.
	CompressionOff Compression = iota
	// CompressionZstdOnWrite has Put store a block as a zstd frame
	// (pack.CodecZstd) when that saves at least 1/16 of it, and as it is
	// otherwise. Blocks that look incompressible from a few samples
	// (random data, and the sealed blocks of encrypted snapshots) are not
	// tried. Compaction compresses raw entries as CompressionZstd does.
	CompressionZstdOnWrite
	// CompressionZstd has Put store blocks as they are and compaction
	// compress them (compact_compress.go): a complete pack whose entries
	// look compressible is rewritten, each entry that zstd shrinks by
	// 1/16 compressed, even when the pack holds no garbage. Writes cost
	// no more CPU than with CompressionOff; the space comes back at the
	// next collection.
	CompressionZstd
)

// ParseCompression returns the Compression a flag value names: "zstd",
// "zstd-on-write" or "off".
func ParseCompression(s string) (Compression, error) {
	switch s {
	case "zstd":
		return CompressionZstd, nil
	case "zstd-on-write":
		return CompressionZstdOnWrite, nil
	case "off":
		return CompressionOff, nil
	}
	return 0, fmt.Errorf("packblocks: compression %q: want zstd, zstd-on-write or off", s)
}

// String returns the flag value of c.
func (c Compression) String() string {
	switch c {
	case CompressionOff:
		return "off"
	case CompressionZstdOnWrite:
		return "zstd-on-write"
	}
	return "zstd"
}
