package nbd

import (
	"bufio"
	"encoding/binary"
	"io"
	"net"
	"sync"
)

// replyWriter sends the replies of one connection. Requests are served in
// parallel, so each reply is written whole under the lock: its header and
// payload never interleave with another's (proto.md §Transmission allows
// replies in any order, and chunks of different replies to interleave,
// but never the bytes of two messages). A transmission reply goes out
// in one vectored write (writev on TCP and Unix sockets) of its header
// and its data where they are, without copying them into a buffer; the
// option haggling goes through a buffer.
type replyWriter struct {
	mu   sync.Mutex
	conn io.Writer
	w    *bufio.Writer // of conn, flushed after each message
	err  error         // the first write error: the connection is dead after it
}

func newReplyWriter(conn io.Writer) *replyWriter {
	return &replyWriter{conn: conn, w: bufio.NewWriterSize(conn, 4<<10)}
}

// simple sends a simple reply (§Simple reply message): data only for a
// successful READ.
func (rw *replyWriter) simple(cookie uint64, errno Errno, data [][]byte) error {
	h := make([]byte, 16)
	binary.BigEndian.PutUint32(h[0:], magicSimpleReply)
	binary.BigEndian.PutUint32(h[4:], uint32(errno))
	binary.BigEndian.PutUint64(h[8:], cookie)
	return rw.sendv(append(net.Buffers{h}, data...))
}

// chunk is one structured reply chunk (§Structured reply chunk message):
// a fixed part of the payload (head) and variable data after it.
type chunk struct {
	flags uint16
	typ   uint16
	head  []byte
	data  [][]byte
}

// structured sends the chunks of one structured reply; the last one gets
// NBD_REPLY_FLAG_DONE.
func (rw *replyWriter) structured(cookie uint64, chunks ...chunk) error {
	if len(chunks) == 0 {
		chunks = []chunk{{typ: replyTypeNone}}
	}
	chunks[len(chunks)-1].flags |= replyFlagDone
	var bufs net.Buffers
	for _, c := range chunks {
		n := len(c.head)
		for _, d := range c.data {
			n += len(d)
		}
		h := make([]byte, 20, 20+len(c.head))
		binary.BigEndian.PutUint32(h[0:], magicStructuredReply)
		binary.BigEndian.PutUint16(h[4:], c.flags)
		binary.BigEndian.PutUint16(h[6:], c.typ)
		binary.BigEndian.PutUint64(h[8:], cookie)
		binary.BigEndian.PutUint32(h[16:], uint32(n))
		bufs = append(bufs, append(h, c.head...))
		bufs = append(bufs, c.data...)
	}
	return rw.sendv(bufs)
}

// errorChunk is an NBD_REPLY_TYPE_ERROR chunk with a message for a human
// (§Structured reply types), cut to the protocol's string limit.
func errorChunk(errno Errno, msg string) chunk {
	if len(msg) > maxString {
		msg = msg[:maxString]
	}
	head := make([]byte, 6, 6+len(msg))
	binary.BigEndian.PutUint32(head[0:], uint32(errno))
	binary.BigEndian.PutUint16(head[4:], uint16(len(msg)))
	return chunk{typ: replyTypeError, head: append(head, msg...)}
}

// dataChunk is NBD_REPLY_TYPE_OFFSET_DATA for data at off.
func dataChunk(off uint64, data [][]byte) chunk {
	head := make([]byte, 8)
	binary.BigEndian.PutUint64(head, off)
	return chunk{typ: replyTypeOffsetData, head: head, data: data}
}

// holeChunk is NBD_REPLY_TYPE_OFFSET_HOLE: n bytes of zeros at off.
func holeChunk(off uint64, n uint32) chunk {
	head := make([]byte, 12)
	binary.BigEndian.PutUint64(head, off)
	binary.BigEndian.PutUint32(head[8:], n)
	return chunk{typ: replyTypeOffsetHole, head: head}
}

// sendv writes bufs as one message under the lock, remembering the first
// error.
func (rw *replyWriter) sendv(bufs net.Buffers) error {
	rw.mu.Lock()
	defer rw.mu.Unlock()
	if rw.err != nil {
		return rw.err
	}
	_, rw.err = bufs.WriteTo(rw.conn)
	return rw.err
}

// send runs write under the lock and flushes, remembering the first error.
func (rw *replyWriter) send(write func()) error {
	rw.mu.Lock()
	defer rw.mu.Unlock()
	if rw.err != nil {
		return rw.err
	}
	write()
	rw.err = rw.w.Flush()
	return rw.err
}

// option sends an option reply (§Fixed newstyle negotiation). Option
// haggling is sequential: no lock contention, but the same writer.
func (rw *replyWriter) option(opt, typ uint32, data []byte) error {
	var h [20]byte
	binary.BigEndian.PutUint64(h[0:], magicOptionReply)
	binary.BigEndian.PutUint32(h[8:], opt)
	binary.BigEndian.PutUint32(h[12:], typ)
	binary.BigEndian.PutUint32(h[16:], uint32(len(data)))
	return rw.send(func() {
		rw.w.Write(h[:])
		rw.w.Write(data)
	})
}

// raw sends bytes as they are (the greeting, the NBD_OPT_EXPORT_NAME
// answer).
func (rw *replyWriter) raw(b []byte) error {
	return rw.send(func() { rw.w.Write(b) })
}
