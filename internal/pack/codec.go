package pack

// Codec says how an entry's stored bytes encode the block's raw bytes (the
// bytes a reader returns). Version 2 entries carry it; every version 1
// entry is CodecNone.
type Codec uint8

const (
	// CodecNone stores the raw bytes as they are.
	CodecNone Codec = 0
	// CodecZstd stores one zstd frame, with its content checksum, that
	// decodes to exactly the raw length (Encoder, Decompress).
	CodecZstd Codec = 1
)

// supported reports whether this package can decode entries of codec c.
// Adding a codec is adding it here, and its decoding to ReadEntry.
func (c Codec) supported() bool { return c == CodecNone || c == CodecZstd }
