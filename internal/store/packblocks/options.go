package packblocks

import (
	"errors"
	"fmt"

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

	// PackSize is the size at which the active pack is sealed and a new one
	// started; default DefaultPackSize. A pack can exceed it by one entry
	// when that entry alone is larger.
	PackSize int64

	// MaxOpenFiles bounds the read handles of packs kept open for Get;
	// default DefaultMaxOpenFiles. More may be open briefly while reads are
	// in flight.
	MaxOpenFiles int
}

// withDefaults returns o with zero values replaced by defaults, or an error
// for values that make no sense.
func (o Options) withDefaults() (Options, error) {
	if o.Dir == "" {
		return o, errors.New("packblocks: Options.Dir is empty")
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
	if o.MaxOpenFiles < 0 {
		return o, fmt.Errorf("packblocks: Options.MaxOpenFiles %d is negative", o.MaxOpenFiles)
	}
	return o, nil
}
