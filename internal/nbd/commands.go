package nbd

import (
	"context"
	"encoding/binary"
	"fmt"
)

// serve runs one request and sends its reply; an error means the reply
// could not be sent.
func (ss *session) serve(ctx context.Context, req request, payload []byte) error {
	if errno, msg := ss.check(req); errno != 0 {
		return ss.fail(req, errno, msg)
	}
	be := ss.srv.Export.Backend
	off, n := int64(req.offset), int64(req.length)
	var err error
	switch req.typ {
	case cmdRead:
		return ss.read(ctx, req)
	case cmdBlockStatus:
		return ss.blockStatus(ctx, req)
	case cmdWrite:
		err = be.WriteAt(ctx, payload, off)
	case cmdWriteZeroes, cmdTrim:
		if n > 0 {
			err = be.Zero(ctx, off, n)
		}
	case cmdFlush:
		err = be.Flush(ctx)
	case cmdCache:
		// A hint, which this server does not act on; success is allowed
		// (§Request types: NBD_CMD_CACHE).
	}
	if err == nil && req.flags&cmdFlagFUA != 0 && req.typ != cmdFlush && ss.srv.Export.Writable {
		err = be.Flush(ctx) // §Ordering of messages and writes: FUA
	}
	if err != nil {
		return ss.failed(req, err)
	}
	return ss.w.simple(req.cookie, 0, nil)
}

// allowedFlags are the command flags each request type takes (§Command
// flags). FUA is accepted on every command: "existing clients are known
// to set this bit on other commands".
var allowedFlags = map[uint16]uint16{
	cmdRead:        cmdFlagFUA | cmdFlagDF,
	cmdWrite:       cmdFlagFUA,
	cmdFlush:       cmdFlagFUA,
	cmdTrim:        cmdFlagFUA,
	cmdCache:       cmdFlagFUA,
	cmdWriteZeroes: cmdFlagFUA | cmdFlagNoHole,
	cmdBlockStatus: cmdFlagFUA | cmdFlagReqOne,
}

// check validates a request before it touches the backend, and returns
// the error to answer with the reason (§Error values).
func (ss *session) check(req request) (Errno, string) {
	ex := &ss.srv.Export
	allowed, known := allowedFlags[req.typ]
	if !known {
		return EINVAL, fmt.Sprintf("unknown command %d", req.typ)
	}
	if req.typ == cmdRead && !ss.structured {
		allowed &^= cmdFlagDF // NBD_FLAG_SEND_DF is only set with structured replies
	}
	if bad := req.flags &^ allowed; bad != 0 {
		return EINVAL, fmt.Sprintf("command flags %#x not valid for command %d", bad, req.typ)
	}
	writes := req.typ == cmdWrite || req.typ == cmdWriteZeroes || req.typ == cmdTrim
	if writes && !ex.Writable {
		return EPERM, "the export is read-only"
	}
	size := uint64(ex.Backend.Size())
	beyond := req.offset > size || uint64(req.length) > size-req.offset
	switch req.typ {
	case cmdRead:
		if req.length > MaxPayload {
			if ss.structured {
				return EOVERFLOW, fmt.Sprintf("read of %d bytes: at most %d", req.length, MaxPayload)
			}
			return EINVAL, fmt.Sprintf("read of %d bytes: at most %d", req.length, MaxPayload)
		}
		if beyond {
			return EINVAL, "read beyond the end of the export"
		}
	case cmdWrite, cmdWriteZeroes:
		if beyond {
			return ENOSPC, "write beyond the end of the export"
		}
	case cmdTrim, cmdCache:
		if beyond {
			return EINVAL, "request beyond the end of the export"
		}
	case cmdBlockStatus:
		switch {
		case !ss.structured || !ss.meta:
			return EINVAL, "NBD_CMD_BLOCK_STATUS without a metadata context selected"
		case beyond:
			return EINVAL, "block status beyond the end of the export"
		case req.length == 0:
			return EINVAL, "block status of 0 bytes"
		}
	}
	return 0, ""
}

// read answers NBD_CMD_READ: the whole range in a simple reply, or, with
// structured replies, data chunks for data and hole chunks for what the
// backend reports reading as zeros (§Request types: NBD_CMD_READ). The
// data is read before anything is sent, so that an error is always a
// clean error reply and never a hard disconnect.
func (ss *session) read(ctx context.Context, req request) error {
	be := ss.srv.Export.Backend
	data, release, err := readData(ctx, be, int64(req.offset), int64(req.length))
	if err != nil {
		return ss.failed(req, err)
	}
	defer release()
	if !ss.structured {
		return ss.w.simple(req.cookie, 0, data)
	}
	if req.length == 0 {
		return ss.w.structured(req.cookie)
	}
	if req.flags&cmdFlagDF != 0 {
		return ss.w.structured(req.cookie, dataChunk(req.offset, data))
	}
	exts, err := be.BlockStatus(ctx, int64(req.offset), int64(req.length))
	if err != nil {
		exts = nil // the data is at hand: send it all as data
	}
	return ss.w.structured(req.cookie, readChunks(req.offset, data, exts)...)
}

// readData reads the n bytes at off: lent by a SliceReader, else into a
// buffer of their own.
func readData(ctx context.Context, be Backend, off, n int64) (data [][]byte, release func(), err error) {
	if n == 0 {
		return nil, func() {}, nil
	}
	if sr, ok := be.(SliceReader); ok {
		data, release, err := sr.ReadSlices(ctx, off, n)
		if err != nil {
			return nil, nil, err
		}
		if got := buffersLen(data); got != n {
			release()
			return nil, nil, fmt.Errorf("nbd: the backend lent %d bytes for a read of %d", got, n)
		}
		return data, release, nil
	}
	buf := make([]byte, n)
	if err := be.ReadAt(ctx, buf, off); err != nil {
		return nil, nil, err
	}
	return [][]byte{buf}, func() {}, nil
}

// buffersLen is the length of the bytes of bufs.
func buffersLen(bufs [][]byte) int64 {
	var n int64
	for _, b := range bufs {
		n += int64(len(b))
	}
	return n
}

// cut returns the bytes [from, to) of the consecutive slices bufs, as
// slices of them.
func cut(bufs [][]byte, from, to uint64) [][]byte {
	var out [][]byte
	pos := uint64(0)
	for _, b := range bufs {
		lo, hi := max(from, pos), min(to, pos+uint64(len(b)))
		if lo < hi {
			out = append(out, b[lo-pos:hi-pos])
		}
		if pos += uint64(len(b)); pos >= to {
			break
		}
	}
	return out
}

// readChunks splits a read of data (consecutive slices) at off into data
// and hole chunks along exts; what exts do not cover is data.
func readChunks(off uint64, data [][]byte, exts []Extent) []chunk {
	var chunks []chunk
	pos := uint64(0)
	end := uint64(buffersLen(data))
	add := func(n uint64, zero bool) {
		if zero {
			if k := len(chunks) - 1; k >= 0 && chunks[k].typ == replyTypeOffsetHole {
				prev := binary.BigEndian.Uint32(chunks[k].head[8:])
				binary.BigEndian.PutUint32(chunks[k].head[8:], prev+uint32(n))
			} else {
				chunks = append(chunks, holeChunk(off+pos, uint32(n)))
			}
		} else {
			if k := len(chunks) - 1; k >= 0 && chunks[k].typ == replyTypeOffsetData {
				start := binary.BigEndian.Uint64(chunks[k].head) - off
				chunks[k].data = cut(data, start, pos+n)
			} else {
				chunks = append(chunks, dataChunk(off+pos, cut(data, pos, pos+n)))
			}
		}
		pos += n
	}
	for _, e := range exts {
		if pos >= end || e.Length <= 0 {
			break
		}
		add(min(uint64(e.Length), end-pos), e.Flags&StateZero != 0)
	}
	if pos < end {
		add(end-pos, false)
	}
	return chunks
}

// blockStatus answers NBD_CMD_BLOCK_STATUS with one chunk for
// base:allocation, its extents cut to the request (with REQ_ONE, one
// extent), merged where consecutive ones agree (§Request types:
// NBD_CMD_BLOCK_STATUS).
func (ss *session) blockStatus(ctx context.Context, req request) error {
	exts, err := ss.srv.Export.Backend.BlockStatus(ctx, int64(req.offset), int64(req.length))
	if err != nil {
		return ss.failed(req, err)
	}
	type desc struct{ length, flags uint32 }
	var ds []desc
	left := uint64(req.length)
	for _, e := range exts {
		if left == 0 || e.Length <= 0 {
			break
		}
		n := uint32(min(uint64(e.Length), left))
		f := e.Flags & (StateHole | StateZero)
		if k := len(ds) - 1; k >= 0 && ds[k].flags == f {
			ds[k].length += n
		} else {
			ds = append(ds, desc{n, f})
		}
		left -= uint64(n)
	}
	if len(ds) == 0 {
		// "a server MAY always safely report a status of 0"
		ds = []desc{{req.length, 0}}
	}
	if req.flags&cmdFlagReqOne != 0 {
		ds = ds[:1]
	}
	head := binary.BigEndian.AppendUint32(make([]byte, 0, 4+8*len(ds)), contextAllocation)
	for _, d := range ds {
		head = binary.BigEndian.AppendUint32(head, d.length)
		head = binary.BigEndian.AppendUint32(head, d.flags)
	}
	return ss.w.structured(req.cookie, chunk{typ: replyTypeBlockStatus, head: head})
}

// failed answers a request whose backend call failed.
func (ss *session) failed(req request, err error) error {
	errno := errnoOf(err)
	ss.log.Warn("nbd request failed", "command", req.typ, "offset", req.offset, "length", req.length, "errno", errno.String(), "err", err)
	return ss.fail(req, errno, err.Error())
}

// fail sends an error reply: a structured error chunk with the message
// when structured replies are on (which READ then requires), a simple
// reply otherwise.
func (ss *session) fail(req request, errno Errno, msg string) error {
	if ss.structured {
		return ss.w.structured(req.cookie, errorChunk(errno, msg))
	}
	return ss.w.simple(req.cookie, errno, nil)
}
