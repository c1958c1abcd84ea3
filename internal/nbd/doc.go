// Package nbd is the server side of the Network Block Device protocol
// (https://github.com/NetworkBlockDevice/nbd/blob/master/doc/proto.md,
// cited below as "proto.md §Section"), written from the specification:
// no Go NBD library is available here, and the part a server needs is
// small.
//
// It speaks the fixed newstyle handshake (no oldstyle, no TLS), the
// options EXPORT_NAME, GO, INFO, LIST, ABORT, STRUCTURED_REPLY and
// LIST/SET_META_CONTEXT with the base:allocation context, and the
// commands READ, WRITE, FLUSH, TRIM, WRITE_ZEROES, CACHE, DISC and
// BLOCK_STATUS, with simple or structured replies as negotiated. Requests
// of one connection are served in parallel (bounded) and answered in any
// order, as §Transmission allows.
//
// A Server serves one Export, whose data comes from a Backend: anything
// with a size, reads, writes, a flush and a map of holes. The package
// knows nothing of snapshots, so that it can be tested on its own.
package nbd
