package nbd

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"testing"
	"time"
)

// testClient is a hand-written NBD client: it sends exactly the bytes a
// test asks for, malformed ones included, and decodes what comes back.
type testClient struct {
	t    *testing.T
	conn net.Conn
	r    *bufio.Reader
}

// startServer serves ex on a loopback port for the test's duration.
func startServer(t *testing.T, ex Export) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	srv := &Server{Export: ex, HandshakeTimeout: 5 * time.Second}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return ln.Addr().String()
}

// dial connects and reads the greeting, checking it.
func dial(t *testing.T, addr string) *testClient {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	t.Cleanup(func() { conn.Close() })
	c := &testClient{t: t, conn: conn, r: bufio.NewReader(conn)}
	var g [18]byte
	c.readFull(g[:])
	if binary.BigEndian.Uint64(g[0:]) != magicNBD || binary.BigEndian.Uint64(g[8:]) != magicOption {
		t.Fatalf("greeting % x", g)
	}
	if f := binary.BigEndian.Uint16(g[16:]); f != flagFixedNewstyle|flagNoZeroes {
		t.Fatalf("handshake flags %#x", f)
	}
	return c
}

// open dials, sends client flags and, if structured, negotiates
// structured replies and base:allocation, then enters transmission with
// NBD_OPT_GO.
func open(t *testing.T, addr string, structured bool) (*testClient, uint64, uint16) {
	t.Helper()
	c := dial(t, addr)
	c.flags(clientFlagFixedNewstyle | clientFlagNoZeroes)
	if structured {
		c.option(optStructuredReply, nil)
		c.wantReply(optStructuredReply, repAck)
		c.option(optSetMetaContext, metaData("", metaAllocation))
		c.wantReply(optSetMetaContext, repMetaContext)
		c.wantReply(optSetMetaContext, repAck)
	}
	c.option(optGo, infoData("", infoBlockSize))
	var size uint64
	var flags uint16
	for {
		typ, data := c.reply(optGo)
		if typ == repAck {
			break
		}
		if typ != repInfo {
			t.Fatalf("GO: reply %#x %q", typ, data)
		}
		if binary.BigEndian.Uint16(data) == infoExport {
			size, flags = binary.BigEndian.Uint64(data[2:]), binary.BigEndian.Uint16(data[10:])
		}
	}
	return c, size, flags
}

func (c *testClient) write(b []byte) {
	c.t.Helper()
	if _, err := c.conn.Write(b); err != nil {
		c.t.Fatalf("write: %v", err)
	}
}

func (c *testClient) readFull(b []byte) {
	c.t.Helper()
	if _, err := io.ReadFull(c.r, b); err != nil {
		c.t.Fatalf("read: %v", err)
	}
}

func (c *testClient) flags(f uint32) { c.write(binary.BigEndian.AppendUint32(nil, f)) }

func (c *testClient) option(opt uint32, data []byte) {
	b := binary.BigEndian.AppendUint64(nil, magicOption)
	b = binary.BigEndian.AppendUint32(b, opt)
	b = binary.BigEndian.AppendUint32(b, uint32(len(data)))
	c.write(append(b, data...))
}

// reply reads one option reply to opt.
func (c *testClient) reply(opt uint32) (uint32, []byte) {
	c.t.Helper()
	var h [20]byte
	c.readFull(h[:])
	if m := binary.BigEndian.Uint64(h[0:]); m != magicOptionReply {
		c.t.Fatalf("option reply magic %#x", m)
	}
	if o := binary.BigEndian.Uint32(h[8:]); o != opt {
		c.t.Fatalf("reply to option %d, want %d", o, opt)
	}
	data := make([]byte, binary.BigEndian.Uint32(h[16:]))
	c.readFull(data)
	return binary.BigEndian.Uint32(h[12:]), data
}

func (c *testClient) wantReply(opt, typ uint32) []byte {
	c.t.Helper()
	got, data := c.reply(opt)
	if got != typ {
		c.t.Fatalf("option %d: reply %#x (%q), want %#x", opt, got, data, typ)
	}
	return data
}

// closed reports whether the server closed the connection (EOF on the
// next read) within a few seconds.
func (c *testClient) closed() bool {
	c.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, err := c.r.ReadByte()
	return errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) || isReset(err)
}

func isReset(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && !op.Timeout()
}

func (c *testClient) request(flags, typ uint16, cookie, off uint64, length uint32, payload []byte) {
	b := binary.BigEndian.AppendUint32(nil, magicRequest)
	b = binary.BigEndian.AppendUint16(b, flags)
	b = binary.BigEndian.AppendUint16(b, typ)
	b = binary.BigEndian.AppendUint64(b, cookie)
	b = binary.BigEndian.AppendUint64(b, off)
	b = binary.BigEndian.AppendUint32(b, length)
	c.write(append(b, payload...))
}

// simpleReply reads a simple reply; with n > 0 and no error, n bytes of
// data follow.
func (c *testClient) simpleReply(n int) (cookie uint64, errno Errno, data []byte) {
	c.t.Helper()
	var h [16]byte
	c.readFull(h[:])
	if m := binary.BigEndian.Uint32(h[0:]); m != magicSimpleReply {
		c.t.Fatalf("simple reply magic %#x", m)
	}
	errno, cookie = Errno(binary.BigEndian.Uint32(h[4:])), binary.BigEndian.Uint64(h[8:])
	if errno == 0 && n > 0 {
		data = make([]byte, n)
		c.readFull(data)
	}
	return cookie, errno, data
}

// replyChunk is one structured reply chunk, or a simple reply (simple).
type replyChunk struct {
	simple  bool
	flags   uint16
	typ     uint16
	cookie  uint64
	errno   Errno // simple replies' error field
	payload []byte
}

// anyReply reads a simple reply (without data) or a structured chunk.
func (c *testClient) anyReply() replyChunk {
	c.t.Helper()
	var m [4]byte
	c.readFull(m[:])
	switch binary.BigEndian.Uint32(m[:]) {
	case magicSimpleReply:
		var h [12]byte
		c.readFull(h[:])
		return replyChunk{simple: true, errno: Errno(binary.BigEndian.Uint32(h[0:])), cookie: binary.BigEndian.Uint64(h[4:])}
	case magicStructuredReply:
		var h [16]byte
		c.readFull(h[:])
		rc := replyChunk{flags: binary.BigEndian.Uint16(h[0:]), typ: binary.BigEndian.Uint16(h[2:]), cookie: binary.BigEndian.Uint64(h[4:])}
		rc.payload = make([]byte, binary.BigEndian.Uint32(h[12:]))
		c.readFull(rc.payload)
		return rc
	}
	c.t.Fatalf("reply magic % x", m)
	return replyChunk{}
}

// chunks reads the structured reply chunks of one request up to the one
// flagged done (simple replies end at once).
func (c *testClient) chunks() []replyChunk {
	c.t.Helper()
	var out []replyChunk
	for {
		rc := c.anyReply()
		out = append(out, rc)
		if rc.simple || rc.flags&replyFlagDone != 0 {
			return out
		}
	}
}

// structuredErrno is the error of a reply: a simple reply's field or the
// first error chunk's value (0 if none).
func structuredErrno(cs []replyChunk) Errno {
	for _, rc := range cs {
		if rc.simple {
			return rc.errno
		}
		if rc.typ&(1<<15) != 0 {
			return Errno(binary.BigEndian.Uint32(rc.payload))
		}
	}
	return 0
}

// assemble rebuilds the bytes of a structured read of n bytes at off
// from its chunks, failing on overlaps or gaps.
func assemble(t *testing.T, cs []replyChunk, off uint64, n int) []byte {
	t.Helper()
	out := make([]byte, n)
	seen := make([]bool, n)
	mark := func(at uint64, l int) {
		if at < off || int(at-off)+l > n {
			t.Fatalf("chunk [%d,+%d) outside the read [%d,+%d)", at, l, off, n)
		}
		for i := int(at - off); i < int(at-off)+l; i++ {
			if seen[i] {
				t.Fatalf("chunks overlap at %d", off+uint64(i))
			}
			seen[i] = true
		}
	}
	for _, rc := range cs {
		switch rc.typ {
		case replyTypeOffsetData:
			at := binary.BigEndian.Uint64(rc.payload)
			mark(at, len(rc.payload)-8)
			copy(out[at-off:], rc.payload[8:])
		case replyTypeOffsetHole:
			at, l := binary.BigEndian.Uint64(rc.payload), binary.BigEndian.Uint32(rc.payload[8:])
			if l == 0 {
				t.Fatal("empty hole chunk")
			}
			mark(at, int(l))
		case replyTypeNone:
		default:
			t.Fatalf("chunk type %d in a read", rc.typ)
		}
	}
	for i, s := range seen {
		if !s {
			t.Fatalf("byte %d of the read not covered", i)
		}
	}
	return out
}

// infoData is the data of NBD_OPT_INFO/GO.
func infoData(name string, infos ...uint16) []byte {
	b := binary.BigEndian.AppendUint32(nil, uint32(len(name)))
	b = append(b, name...)
	b = binary.BigEndian.AppendUint16(b, uint16(len(infos)))
	for _, i := range infos {
		b = binary.BigEndian.AppendUint16(b, i)
	}
	return b
}

// metaData is the data of NBD_OPT_LIST/SET_META_CONTEXT.
func metaData(name string, queries ...string) []byte {
	b := binary.BigEndian.AppendUint32(nil, uint32(len(name)))
	b = append(b, name...)
	b = binary.BigEndian.AppendUint32(b, uint32(len(queries)))
	for _, q := range queries {
		b = binary.BigEndian.AppendUint32(b, uint32(len(q)))
		b = append(b, q...)
	}
	return b
}
