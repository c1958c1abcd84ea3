package pack

import "errors"

// These errors are returned when reading packs.
var (
	// ErrCorrupt means bytes in a pack are not a valid header or entry: a
	// wrong magic or version, a checksum mismatch, an impossible length, or
	// an entry cut short by the end of the file.
	ErrCorrupt = errors.New("pack: corrupt")

	// ErrVersion means a pack was written in a format version this package
	// does not know. Unlike ErrCorrupt it says nothing about the integrity
	// of the data, so owners must not truncate or discard such a pack.
	ErrVersion = errors.New("pack: unsupported format version")

	// ErrUnsupported means an entry whose header checks out uses an encoding
	// this package cannot decode: a codec or a flag that a newer writer
	// set. Like ErrVersion, and unlike ErrCorrupt, it says nothing about the
	// integrity of the data: owners must not seal, skip, truncate or discard
	// such an entry, since a newer ebsd can read it.
	ErrUnsupported = errors.New("pack: unsupported entry encoding")
)
