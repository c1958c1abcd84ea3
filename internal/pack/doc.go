// Package pack is the on-disk format of ebsd's pack files: append-only files
// that hold many block contents back to back, each behind a small
// self-describing, checksummed header. It knows nothing about where packs
// are stored or how they are indexed: Writer appends to an io.Writer,
// ReadEntry and Scanner read from an io.ReaderAt. The block store in
// internal/store/packblocks builds on it.
//
// # Format
//
// All integers are little-endian. Checksums are CRC-32C (Castagnoli).
//
// A pack file starts with a 16-byte file header:
//
//	offset size field
//	     0    8 magic "EBSDPACK"
//	     8    4 format version: 2 (Version); version 1 packs stay readable
//	    12    4 CRC-32C of bytes 0-11
//
// followed by zero or more entries, back to back, up to the end of the file.
// A pack holds entries of its own version only: writers write version 2
// packs, and never append to a version 1 pack (compaction in packblocks
// rewrites those as version 2). Each entry is an entry header followed by
// its stored data. Version 2, 56 bytes:
//
//	offset size field
//	     0    4 magic "EBSE"
//	     4    1 format version, 2
//	     5    1 codec: 0 = stored as is; 1 = one zstd frame (CodecZstd)
//	     6    1 flags: all reserved, 0
//	     7    1 reserved, 0
//	     8   32 key (ebs.Digest)
//	    40    4 stored length: data bytes after this header, at most MaxDataLen
//	    44    4 raw length: bytes a reader returns, at most MaxRawLen; equal
//	          to the stored length for codec 0
//	    48    4 CRC-32C of the stored data
//	    52    4 CRC-32C of bytes 0-51 of this header
//	    56    n stored data
//
// Version 1, 52 bytes:
//
//	offset size field
//	     0    4 magic "EBSE"
//	     4    1 format version, 1
//	     5    3 reserved, zero
//	     8   32 key (ebs.Digest)
//	    40    4 data length in bytes, at most MaxDataLen
//	    44    4 CRC-32C of the data
//	    48    4 CRC-32C of bytes 0-47 of this header
//	    52    n data
//
// Readers read the 52 bytes both versions share, dispatch on byte 4, and
// read the last 4 bytes of a version 2 header. A header whose checksum
// verifies but whose codec, flags or reserved byte this package does not
// know is ErrUnsupported, not ErrCorrupt: a newer writer's entry, which
// owners must neither decode, skip nor discard. The data checksum covers
// the stored bytes, so that an entry can be verified (and copied) without
// being decoded.
//
// A CodecZstd entry's stored bytes are one zstd frame, with its content
// checksum, that decodes to exactly the raw length: ReadEntry checks the
// data checksum, then decodes into the caller's buffer, and any frame
// that does not decode to exactly that is ErrCorrupt. Encoder makes them,
// and only when compression saves at least 1/16 of the raw bytes.
//
// The header checksum makes a torn or random header detectable before its
// length is trusted; the data checksum makes a torn or rotted body
// detectable on every read. An entry is valid only when both match, so a
// reader never hands out bytes that differ from what was appended.
//
// # No trailer
//
// A pack has no trailer or footer: the end of the last valid entry is the
// end of the pack. Writers only ever append, so a crash can leave at most a
// torn tail: a prefix of the entries is intact and the rest is garbage that
// Scanner reports as ErrCorrupt at a known offset. Damage anywhere else (a
// bad sector, a flipped bit) costs only the entries it hits: Scanner.Skip
// resynchronises at the next entry, trusting the length of a damaged
// entry whose header checks out and otherwise searching forward for the
// first offset where a complete entry verifies, header and data. (Stored
// content that itself holds a well-formed entry can then be taken for one,
// if damage hit the header in front of it: owners let an entry found that
// way add a key, never replace one.) Every entry header names its key and
// length, so the index of a pack can be rebuilt by scanning it (verifying
// every data checksum on the way, which doubles as a scrub). A trailer
// listing the entries would make that rebuild read a few KiB per pack
// instead of the whole pack, at the price of a sealing step with its own
// torn-write cases; the block store only rebuilds from scratch when its
// index is lost, so we keep the format without one. A later format version
// can add it behind a new magic.
package pack
