package nbd

import (
	"bytes"
	"context"
	"encoding/binary"
	"io"
	"net"
	"testing"
	"time"
)

// FuzzParsers: the option and request parsers take any bytes without
// panicking, and what they accept re-encodes to the same bytes.
func FuzzParsers(f *testing.F) {
	f.Add(infoData("x", infoName, infoBlockSize))
	f.Add(metaData("", "base:allocation", "base:"))
	f.Add([]byte{0, 0, 0, 5, 'a'})
	f.Add([]byte{0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, data []byte) {
		if name, infos, err := parseInfoRequest(data); err == nil {
			if !bytes.Equal(infoData(name, infos...), data) {
				t.Fatalf("info request %q %v does not re-encode to % x", name, infos, data)
			}
		}
		if name, queries, err := parseMetaRequest(data); err == nil {
			if !bytes.Equal(metaData(name, queries...), data) {
				t.Fatalf("meta request %q %q does not re-encode to % x", name, queries, data)
			}
		}
		var h [28]byte
		copy(h[:], data)
		if r, err := parseRequest(h); err == nil && binary.BigEndian.Uint64(h[8:]) != r.cookie {
			t.Fatal("cookie")
		}
	})
}

// FuzzSession feeds any byte stream to a session, as a client would send
// it: the server must answer or hang up, never panic or hang.
func FuzzSession(f *testing.F) {
	hello := binary.BigEndian.AppendUint32(nil, clientFlagFixedNewstyle|clientFlagNoZeroes)
	opt := func(o uint32, data []byte) []byte {
		b := binary.BigEndian.AppendUint64(nil, magicOption)
		b = binary.BigEndian.AppendUint32(b, o)
		b = binary.BigEndian.AppendUint32(b, uint32(len(data)))
		return append(b, data...)
	}
	req := func(flags, typ uint16, off uint64, length uint32, payload []byte) []byte {
		b := binary.BigEndian.AppendUint32(nil, magicRequest)
		b = binary.BigEndian.AppendUint16(b, flags)
		b = binary.BigEndian.AppendUint16(b, typ)
		b = binary.BigEndian.AppendUint64(b, 1)
		b = binary.BigEndian.AppendUint64(b, off)
		b = binary.BigEndian.AppendUint32(b, length)
		return append(b, payload...)
	}
	join := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	negotiated := join(hello, opt(optStructuredReply, nil), opt(optSetMetaContext, metaData("", metaAllocation)), opt(optGo, infoData("")))
	f.Add(join(hello, opt(optList, nil), opt(optAbort, nil)))
	f.Add(join(hello, opt(optExportName, nil), req(0, cmdRead, 0, 512, nil)))
	f.Add(join(negotiated, req(0, cmdRead, 100, 5000, nil), req(cmdFlagReqOne, cmdBlockStatus, 0, 1<<16, nil)))
	f.Add(join(negotiated, req(0, cmdWrite, 10, 4, []byte("abcd")), req(0, cmdWriteZeroes, 0, 9, nil), req(0, cmdDisc, 0, 0, nil)))
	f.Add(join(negotiated, req(0xffff, 0xffff, 1<<63, 1<<31, nil)))
	f.Fuzz(func(t *testing.T, in []byte) {
		m := filled(1<<16, 4096, 8192)
		srv := &Server{Export: Export{Name: "x", Backend: m, Writable: len(in)%2 == 0}}
		done := make(chan struct{})
		go func() {
			defer close(done)
			srv.ServeConn(context.Background(), &streamConn{r: bytes.NewReader(in)})
		}()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatal("the session did not end when its input did")
		}
	})
}

// streamConn is a net.Conn that reads a fixed stream and discards what
// is written.
type streamConn struct{ r io.Reader }

func (c *streamConn) Read(b []byte) (int, error)       { return c.r.Read(b) }
func (c *streamConn) Write(b []byte) (int, error)      { return len(b), nil }
func (c *streamConn) Close() error                     { return nil }
func (c *streamConn) LocalAddr() net.Addr              { return &net.UnixAddr{Name: "fuzz"} }
func (c *streamConn) RemoteAddr() net.Addr             { return &net.UnixAddr{Name: "fuzz"} }
func (c *streamConn) SetDeadline(time.Time) error      { return nil }
func (c *streamConn) SetReadDeadline(time.Time) error  { return nil }
func (c *streamConn) SetWriteDeadline(time.Time) error { return nil }
