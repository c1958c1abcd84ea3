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
