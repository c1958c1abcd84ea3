package nbd

import (
	"bytes"
	"encoding/binary"
	"testing"
)

// step is one option sent and the replies expected, in order.
type step struct {
	opt     uint32
	data    []byte
	replies []uint32 // reply types; empty with closed
	check   func(t *testing.T, replies [][]byte)
	closed  bool // the server hangs up after it
}

func TestOptions(t *testing.T) {
	const name = "snap-0123"
	addr := startServer(t, Export{Name: name, Description: "a test export", Backend: newMem(1 << 20), MultiConn: true})
	exportInfo := func(wantFlags uint16) func(t *testing.T, r [][]byte) {
		return func(t *testing.T, r [][]byte) {
			if binary.BigEndian.Uint16(r[0]) != infoExport || binary.BigEndian.Uint64(r[0][2:]) != 1<<20 {
				t.Fatalf("INFO_EXPORT % x", r[0])
			}
			if f := binary.BigEndian.Uint16(r[0][10:]); f != wantFlags {
				t.Fatalf("transmission flags %#x, want %#x", f, wantFlags)
			}
		}
	}
	readOnly := uint16(flagHasFlags | flagReadOnly | flagSendFlush | flagCanMultiConn)
	for _, tc := range []struct {
		name  string
		steps []step
	}{
		{"list", []step{{opt: optList, replies: []uint32{repServer, repAck}, check: func(t *testing.T, r [][]byte) {
			if !bytes.Equal(r[0], append(binary.BigEndian.AppendUint32(nil, uint32(len(name))), name+"a test export"...)) {
				t.Fatalf("NBD_REP_SERVER %q", r[0])
			}
		}}}},
		{"list with data", []step{{opt: optList, data: []byte{1}, replies: []uint32{repErrInvalid}}}},
		{"info default export", []step{{opt: optInfo, data: infoData(""), replies: []uint32{repInfo, repAck}, check: exportInfo(readOnly)},
			{opt: optList, replies: []uint32{repServer, repAck}}}}, // still negotiating
		{"info by name, with name and block size", []step{{opt: optInfo, data: infoData(name, infoName, infoBlockSize, 77),
			replies: []uint32{repInfo, repInfo, repInfo, repAck}, check: func(t *testing.T, r [][]byte) {
				exportInfo(readOnly)(t, r)
				if string(r[1][2:]) != name {
					t.Fatalf("INFO_NAME %q", r[1])
				}
				if bs := r[2]; binary.BigEndian.Uint32(bs[2:]) != 1 || binary.BigEndian.Uint32(bs[6:]) != preferredBlock || binary.BigEndian.Uint32(bs[10:]) != MaxPayload {
					t.Fatalf("INFO_BLOCK_SIZE % x", bs)
				}
			}}}},
		{"info unknown export", []step{{opt: optInfo, data: infoData("nope"), replies: []uint32{repErrUnknown}}}},
		{"info cut short", []step{{opt: optInfo, data: []byte{0, 0, 0, 9, 'a'}, replies: []uint32{repErrInvalid}}}},
		{"info count disagrees", []step{{opt: optInfo, data: infoData("")[:4+2-1], replies: []uint32{repErrInvalid}},
			{opt: optInfo, data: append(infoData("", 1), 0), replies: []uint32{repErrInvalid}}}},
		{"go with structured replies", []step{{opt: optStructuredReply, replies: []uint32{repAck}},
			{opt: optGo, data: infoData(""), replies: []uint32{repInfo, repAck}, check: exportInfo(readOnly | flagSendDF)}}},
		{"unknown option, then a known one", []step{{opt: 99, replies: []uint32{repErrUnsup}}, {opt: optList, replies: []uint32{repServer, repAck}}}},
		{"starttls", []step{{opt: optStartTLS, replies: []uint32{repErrUnsup}}}},
		{"structured twice", []step{{opt: optStructuredReply, replies: []uint32{repAck}}, {opt: optStructuredReply, replies: []uint32{repErrInvalid}}}},
		{"structured with data", []step{{opt: optStructuredReply, data: []byte{0}, replies: []uint32{repErrInvalid}}}},
		{"set meta before structured", []step{{opt: optSetMetaContext, data: metaData("", metaAllocation), replies: []uint32{repErrInvalid}}}},
		{"list meta, no query", []step{{opt: optListMetaContext, data: metaData(""), replies: []uint32{repMetaContext, repAck}, check: func(t *testing.T, r [][]byte) {
			if binary.BigEndian.Uint32(r[0]) != 0 || string(r[0][4:]) != metaAllocation {
				t.Fatalf("META_CONTEXT % x", r[0])
			}
		}}}},
		{"list meta, base wildcard", []step{{opt: optListMetaContext, data: metaData(name, "base:"), replies: []uint32{repMetaContext, repAck}}}},
		{"list meta, other namespace", []step{{opt: optListMetaContext, data: metaData("", "qemu:dirty-bitmap:x"), replies: []uint32{repAck}}}},
		{"list meta, unknown export", []step{{opt: optListMetaContext, data: metaData("x"), replies: []uint32{repErrUnknown}}}},
		{"set meta", []step{{opt: optStructuredReply, replies: []uint32{repAck}},
			{opt: optSetMetaContext, data: metaData("", "base:", "base:nothing", metaAllocation), replies: []uint32{repMetaContext, repAck}, check: func(t *testing.T, r [][]byte) {
				if binary.BigEndian.Uint32(r[0]) != contextAllocation || string(r[0][4:]) != metaAllocation {
					t.Fatalf("META_CONTEXT % x", r[0])
				}
			}}}},
		{"set meta, no query selects nothing", []step{{opt: optStructuredReply, replies: []uint32{repAck}},
			{opt: optSetMetaContext, data: metaData(""), replies: []uint32{repAck}}}},
		{"set meta, wildcard selects nothing", []step{{opt: optStructuredReply, replies: []uint32{repAck}},
			{opt: optSetMetaContext, data: metaData("", "base:"), replies: []uint32{repAck}}}},
		{"meta, more queries than bytes", []step{{opt: optListMetaContext, data: append(metaData(""), 0)[:4], replies: []uint32{repErrInvalid}},
			{opt: optListMetaContext, data: binary.BigEndian.AppendUint32([]byte{0, 0, 0, 0}, 1000), replies: []uint32{repErrInvalid}}}},
		{"meta, query without namespace", []step{{opt: optListMetaContext, data: metaData("", "allocation"), replies: []uint32{repErrInvalid}}}},
		{"meta, trailing bytes", []step{{opt: optListMetaContext, data: append(metaData("", "base:"), 1), replies: []uint32{repErrInvalid}}}},
		{"meta, string too long", []step{{opt: optListMetaContext, data: metaData(string(make([]byte, 5000))), replies: []uint32{repErrInvalid}}}},
		{"meta, NUL in name", []step{{opt: optListMetaContext, data: metaData("a\x00"), replies: []uint32{repErrInvalid}}}},
		{"oversized option is answered", []step{{opt: 42, data: make([]byte, maxOptionData+1), replies: []uint32{repErrTooBig}},
			{opt: optList, replies: []uint32{repServer, repAck}}}},
		{"abort", []step{{opt: optAbort, replies: []uint32{repAck}}, {closed: true}}},
		{"export name unknown", []step{{opt: optExportName, data: []byte("nope"), closed: true}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := dial(t, addr)
			c.flags(clientFlagFixedNewstyle | clientFlagNoZeroes)
			for i, s := range tc.steps {
				if s.opt != 0 {
					c.option(s.opt, s.data)
				}
				var got [][]byte
				for _, want := range s.replies {
					got = append(got, c.wantReply(s.opt, want))
				}
				if s.check != nil {
					s.check(t, got)
				}
				if s.closed && !c.closed() {
					t.Fatalf("step %d: the connection is still open", i)
				}
			}
		})
	}
}

// TestHandshakeDisconnects: input no reply can answer ends the session.
func TestHandshakeDisconnects(t *testing.T) {
	addr := startServer(t, Export{Name: "x", Backend: newMem(4096)})
	for _, tc := range []struct {
		name string
		send func(c *testClient)
	}{
		{"unknown client flag", func(c *testClient) { c.flags(1 << 5) }},
		{"wrong option magic", func(c *testClient) {
			c.flags(clientFlagFixedNewstyle)
			c.write(make([]byte, 16))
		}},
		{"option length beyond any bound", func(c *testClient) {
			c.flags(clientFlagFixedNewstyle)
			c.write(binary.BigEndian.AppendUint32(binary.BigEndian.AppendUint32(binary.BigEndian.AppendUint64(nil, magicOption), optList), 1<<30))
		}},
		{"oversized export name", func(c *testClient) {
			c.flags(clientFlagFixedNewstyle)
			c.option(optExportName, make([]byte, maxOptionData+1))
		}},
		{"option cut short", func(c *testClient) {
			c.flags(clientFlagFixedNewstyle)
			c.write(binary.BigEndian.AppendUint64(nil, magicOption)[:5])
			c.conn.(interface{ CloseWrite() error }).CloseWrite()
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := dial(t, addr)
			tc.send(c)
			if !c.closed() {
				t.Fatal("the connection is still open")
			}
		})
	}
}

// TestExportName: the old way into transmission, with and without the
// 124 bytes of zeros.
func TestExportName(t *testing.T) {
	addr := startServer(t, Export{Name: "x", Backend: newMem(8192), Writable: true})
	for _, noZeroes := range []bool{false, true} {
		c := dial(t, addr)
		f := uint32(clientFlagFixedNewstyle)
		if noZeroes {
			f |= clientFlagNoZeroes
		}
		c.flags(f)
		c.option(optExportName, nil)
		b := make([]byte, 10)
		c.readFull(b)
		if binary.BigEndian.Uint64(b) != 8192 {
			t.Fatalf("size % x", b)
		}
		if fl := binary.BigEndian.Uint16(b[8:]); fl != flagHasFlags|flagSendFlush|flagSendFUA|flagSendTrim|flagSendWriteZeroes {
			t.Fatalf("flags %#x", fl)
		}
		if !noZeroes {
			c.readFull(make([]byte, 124))
		}
		// In transmission now: a flush is answered.
		c.request(0, cmdFlush, 7, 0, 0, nil)
		if cookie, errno, _ := c.simpleReply(0); cookie != 7 || errno != 0 {
			t.Fatalf("flush: cookie %d errno %v", cookie, errno)
		}
	}
}
