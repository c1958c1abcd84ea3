package nbd

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"syscall"
	"testing"
	"time"
)

// filled returns a memBackend of size bytes with data in [from, to) and
// holes elsewhere.
func filled(size, from, to int64) *memBackend {
	m := newMem(size)
	data := make([]byte, to-from)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range data {
		data[i] = byte(r.Uint32()) | 1
	}
	m.WriteAt(nil, data, from)
	return m
}

func TestCommands(t *testing.T) {
	const size = 1 << 20
	type result struct {
		errno Errno
		data  []byte // a read's bytes
	}
	for _, tc := range []struct {
		name       string
		writable   bool
		structured bool
		flags      uint16
		typ        uint16
		off        uint64
		length     uint32
		payload    []byte
		want       Errno
		check      func(t *testing.T, m *memBackend, cs []replyChunk)
	}{
		{name: "read, simple", typ: cmdRead, off: 60000, length: 20000},
		{name: "read, structured", structured: true, typ: cmdRead, off: 60000, length: 25000, check: func(t *testing.T, m *memBackend, cs []replyChunk) {
			var holes, data int
			for _, rc := range cs {
				switch rc.typ {
				case replyTypeOffsetHole:
					holes++
				case replyTypeOffsetData:
					data++
				}
			}
			if holes != 2 || data != 1 {
				t.Fatalf("%d hole and %d data chunks, want 2 and 1 (hole, data, hole)", holes, data)
			}
		}},
		{name: "read, structured, don't fragment", structured: true, flags: cmdFlagDF, typ: cmdRead, off: 60000, length: 20000, check: func(t *testing.T, m *memBackend, cs []replyChunk) {
			if len(cs) != 1 || cs[0].typ != replyTypeOffsetData {
				t.Fatalf("%d chunks, want one data chunk", len(cs))
			}
		}},
		{name: "read of nothing", structured: true, typ: cmdRead, off: 0, length: 0},
		{name: "read beyond the end", typ: cmdRead, off: size - 10, length: 20, want: EINVAL},
		{name: "read with offset overflow", structured: true, typ: cmdRead, off: 1<<64 - 1, length: 2, want: EINVAL},
		{name: "read too large", structured: true, typ: cmdRead, off: 0, length: MaxPayload + 1, want: EOVERFLOW},
		{name: "read, DF without structured replies", flags: cmdFlagDF, typ: cmdRead, length: 10, want: EINVAL},
		{name: "read, unknown flag", structured: true, flags: 1 << 9, typ: cmdRead, length: 10, want: EINVAL},
		{name: "write read-only", typ: cmdWrite, off: 0, length: 4, payload: []byte("abcd"), want: EPERM},
		{name: "write", writable: true, typ: cmdWrite, off: 100, length: 4, payload: []byte("abcd"), check: func(t *testing.T, m *memBackend, _ []replyChunk) {
			if string(m.bytes()[100:104]) != "abcd" {
				t.Fatalf("backend holds %q", m.bytes()[100:104])
			}
		}},
		{name: "write FUA flushes", writable: true, flags: cmdFlagFUA, typ: cmdWrite, off: 0, length: 1, payload: []byte("x"), check: func(t *testing.T, m *memBackend, _ []replyChunk) {
			if m.flushes.Load() != 1 {
				t.Fatalf("%d flushes", m.flushes.Load())
			}
		}},
		{name: "write beyond the end", writable: true, structured: true, typ: cmdWrite, off: size - 2, length: 4, payload: []byte("abcd"), want: ENOSPC},
		{name: "write zeroes", writable: true, flags: cmdFlagNoHole, typ: cmdWriteZeroes, off: 70000, length: 100, check: func(t *testing.T, m *memBackend, _ []replyChunk) {
			if !bytes.Equal(m.bytes()[70000:70100], make([]byte, 100)) || m.bytes()[70100] == 0 {
				t.Fatal("not zeroed exactly")
			}
		}},
		{name: "write zeroes, fast zero not offered", writable: true, flags: cmdFlagFastZero, typ: cmdWriteZeroes, length: 100, want: EINVAL},
		{name: "write zeroes read-only", typ: cmdWriteZeroes, length: 100, want: EPERM},
		{name: "write zeroes beyond the end", writable: true, typ: cmdWriteZeroes, off: size, length: 1, want: ENOSPC},
		{name: "trim", writable: true, typ: cmdTrim, off: 65536, length: 8192, check: func(t *testing.T, m *memBackend, _ []replyChunk) {
			if !bytes.Equal(m.bytes()[65536:65536+8192], make([]byte, 8192)) {
				t.Fatal("trimmed range does not read as zeros")
			}
		}},
		{name: "trim read-only", typ: cmdTrim, length: 1, want: EPERM},
		{name: "trim beyond the end", writable: true, typ: cmdTrim, off: size, length: 1, want: EINVAL},
		{name: "flush", typ: cmdFlush, check: func(t *testing.T, m *memBackend, _ []replyChunk) {
			if m.flushes.Load() != 1 {
				t.Fatalf("%d flushes", m.flushes.Load())
			}
		}},
		{name: "cache", typ: cmdCache, off: 0, length: 4096},
		{name: "block status", structured: true, typ: cmdBlockStatus, off: 0, length: size, check: func(t *testing.T, m *memBackend, cs []replyChunk) {
			want := []uint32{contextAllocation, 61440, StateHole | StateZero, 20480, 0, size - 81920, StateHole | StateZero}
			if got := words(cs[0].payload); fmt.Sprint(got) != fmt.Sprint(want) || cs[0].typ != replyTypeBlockStatus {
				t.Fatalf("block status %v, want %v", got, want)
			}
		}},
		{name: "block status, one extent", structured: true, flags: cmdFlagReqOne, typ: cmdBlockStatus, off: 4096, length: 100000, check: func(t *testing.T, m *memBackend, cs []replyChunk) {
			want := []uint32{contextAllocation, 57344, StateHole | StateZero}
			if got := words(cs[0].payload); fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("block status %v, want %v", got, want)
			}
		}},
		{name: "block status cut to the request", structured: true, typ: cmdBlockStatus, off: 61440, length: 100, check: func(t *testing.T, m *memBackend, cs []replyChunk) {
			if got := words(cs[0].payload); fmt.Sprint(got) != fmt.Sprint([]uint32{contextAllocation, 100, 0}) {
				t.Fatalf("block status %v", got)
			}
		}},
		{name: "block status of nothing", structured: true, typ: cmdBlockStatus, off: 0, length: 0, want: EINVAL},
		{name: "block status beyond the end", structured: true, typ: cmdBlockStatus, off: size, length: 1, want: EINVAL},
		{name: "block status without a context", typ: cmdBlockStatus, off: 0, length: 1, want: EINVAL},
		{name: "unknown command", typ: 99, want: EINVAL},
	} {
		// Each case against a backend that reads into the server's
		// buffer, and one that lends its bytes.
		for _, lend := range []bool{false, true} {
			name := tc.name
			if lend {
				name += ", lent"
			}
			t.Run(name, func(t *testing.T) {
				m := filled(size, 61440, 81920)
				orig := bytes.Clone(m.data)
				var be Backend = m
				lb := &lendingBackend{memBackend: m}
				if lend {
					be = lb
				}
				addr := startServer(t, Export{Name: "x", Backend: be, Writable: tc.writable})
				c, gotSize, _ := open(t, addr, tc.structured)
				if gotSize != size {
					t.Fatalf("size %d", gotSize)
				}
				c.request(tc.flags, tc.typ, 0xc00c1e, tc.off, tc.length, tc.payload)
				var cs []replyChunk
				var got result
				if tc.typ == cmdRead && !tc.structured {
					cookie, errno, data := c.simpleReply(int(tc.length))
					cs = []replyChunk{{simple: true, cookie: cookie, errno: errno}}
					got = result{errno, data}
				} else {
					cs = c.chunks()
					got.errno = structuredErrno(cs)
					if tc.typ == cmdRead && got.errno == 0 {
						got.data = assemble(t, cs, tc.off, int(tc.length))
					}
					if tc.typ == cmdRead && cs[0].simple {
						t.Fatal("a simple reply to a read with structured replies on")
					}
				}
				for _, rc := range cs {
					if rc.cookie != 0xc00c1e {
						t.Fatalf("cookie %#x", rc.cookie)
					}
				}
				if got.errno != tc.want {
					t.Fatalf("errno %v, want %v", got.errno, tc.want)
				}
				if tc.typ == cmdRead && got.errno == 0 && !bytes.Equal(got.data, orig[tc.off:tc.off+uint64(tc.length)]) {
					t.Fatal("read returned other bytes")
				}
				if tc.check != nil {
					tc.check(t, m, cs)
				}
				// The session goes on after any answer.
				c.request(0, cmdFlush, 1, 0, 0, nil)
				if cs := c.chunks(); structuredErrno(cs) != 0 {
					t.Fatal("flush after the request failed")
				}
				if !lend {
					return
				}
				// A successful read of bytes borrowed them; every loan is
				// given back once the reply is sent.
				if want := int64(0); tc.typ == cmdRead && tc.want == 0 && tc.length > 0 && lb.lent.Load() != 1 {
					t.Fatalf("%d loans for one read, want 1", lb.lent.Load())
				} else if tc.typ != cmdRead && lb.lent.Load() != want {
					t.Fatalf("%d loans without a read", lb.lent.Load())
				}
				for deadline := time.Now().Add(2 * time.Second); lb.released.Load() != lb.lent.Load(); time.Sleep(time.Millisecond) {
					if time.Now().After(deadline) {
						t.Fatalf("%d loans, %d released", lb.lent.Load(), lb.released.Load())
					}
				}
			})
		}
	}
}

func words(b []byte) []uint32 {
	w := make([]uint32, len(b)/4)
	for i := range w {
		w[i] = binary.BigEndian.Uint32(b[4*i:])
	}
	return w
}

// TestBackendErrors: backend failures reach the client as the right NBD
// error, and the session goes on.
func TestBackendErrors(t *testing.T) {
	for _, tc := range []struct {
		err        error
		structured bool
		want       Errno
	}{
		{errors.New("checksum mismatch"), true, EIO},
		{errors.New("checksum mismatch"), false, EIO},
		{fmt.Errorf("overlay: %w", syscall.ENOSPC), true, ENOSPC},
		{fmt.Errorf("x: %w", ErrInvalid), true, EINVAL},
		{ErrReadOnly, false, EPERM},
		{ErrTooLarge, true, EOVERFLOW},
	} {
		t.Run(fmt.Sprintf("%v/%v", tc.err, tc.structured), func(t *testing.T) {
			m := newMem(1 << 16)
			m.readErr = tc.err
			c, _, _ := open(t, startServer(t, Export{Name: "x", Backend: m}), tc.structured)
			c.request(0, cmdRead, 5, 0, 4096, nil)
			var errno Errno
			if tc.structured {
				cs := c.chunks()
				errno = structuredErrno(cs)
				for _, rc := range cs {
					if rc.typ == replyTypeOffsetData {
						t.Fatal("data sent for a failed read")
					}
				}
			} else {
				_, errno, _ = c.simpleReply(4096)
			}
			if errno != tc.want {
				t.Fatalf("errno %v, want %v", errno, tc.want)
			}
			c.request(0, cmdFlush, 6, 0, 0, nil)
			if cs := c.chunks(); structuredErrno(cs) != 0 || cs[0].cookie != 6 {
				t.Fatal("the session did not go on")
			}
		})
	}
}

// TestOutOfOrder: a slow request does not hold up the replies to later
// ones on the same connection.
func TestOutOfOrder(t *testing.T) {
	m := filled(1<<20, 0, 1<<20)
	release := make(chan struct{})
	m.block = func(off int64) {
		if off == 0 {
			<-release
		}
	}
	c, _, _ := open(t, startServer(t, Export{Name: "x", Backend: m, MultiConn: true}), true)
	c.request(0, cmdRead, 1, 0, 4096, nil)     // held
	c.request(0, cmdRead, 2, 8192, 4096, nil)  // answered first
	c.request(0, cmdRead, 3, 16384, 4096, nil) // and this one
	seen := map[uint64]bool{}
	for len(seen) < 2 {
		cs := c.chunks()
		seen[cs[0].cookie] = true
	}
	if seen[1] || !seen[2] || !seen[3] {
		t.Fatalf("replies %v before the held read was released", seen)
	}
	close(release)
	if cs := c.chunks(); cs[0].cookie != 1 {
		t.Fatalf("cookie %d", cs[0].cookie)
	}
}

// TestDisconnect: NBD_CMD_DISC is not answered, requests sent before it
// are, and then the server closes the connection.
func TestDisconnect(t *testing.T) {
	m := filled(1<<20, 0, 1<<20)
	release := make(chan struct{})
	m.block = func(off int64) {
		if off == 4096 {
			<-release
		}
	}
	c, _, _ := open(t, startServer(t, Export{Name: "x", Backend: m}), false)
	c.request(0, cmdRead, 1, 4096, 512, nil)
	c.request(0, cmdDisc, 2, 0, 0, nil)
	time.AfterFunc(100*time.Millisecond, func() { close(release) })
	if cookie, errno, data := c.simpleReply(512); cookie != 1 || errno != 0 || !bytes.Equal(data, m.bytes()[4096:4608]) {
		t.Fatalf("in-flight read: cookie %d errno %v", cookie, errno)
	}
	if !c.closed() {
		t.Fatal("the connection is still open after NBD_CMD_DISC")
	}
}

// TestTransmissionDisconnects: what cannot be answered ends the session.
func TestTransmissionDisconnects(t *testing.T) {
	for _, tc := range []struct {
		name string
		send func(c *testClient)
	}{
		{"wrong request magic", func(c *testClient) { c.write(make([]byte, 28)) }},
		{"write larger than any payload", func(c *testClient) { c.request(0, cmdWrite, 1, 0, MaxPayload+1, nil) }},
		{"write payload cut short", func(c *testClient) {
			c.request(0, cmdWrite, 1, 0, 100, make([]byte, 10))
			c.conn.(interface{ CloseWrite() error }).CloseWrite()
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, _, _ := open(t, startServer(t, Export{Name: "x", Backend: newMem(1 << 20), Writable: true}), true)
			tc.send(c)
			if !c.closed() {
				t.Fatal("the connection is still open")
			}
		})
	}
}

// TestReadChunks covers the chunking of structured reads directly.
func TestReadChunks(t *testing.T) {
	buf := []byte("0123456789")
	for _, tc := range []struct {
		name string
		exts []Extent
		want string // D for data chunk, H for hole, with lengths
	}{
		{"no extents", nil, "D10"},
		{"all hole", []Extent{{100, StateHole | StateZero}}, "H10"},
		{"hole not zero is data", []Extent{{10, StateHole}}, "D10"},
		{"mixed, merged", []Extent{{2, 0}, {3, 0}, {1, StateZero}, {1, StateZero | StateHole}, {10, 0}}, "D5H2D3"},
		{"short extents", []Extent{{4, StateZero}}, "H4D6"},
		{"zero-length extent stops", []Extent{{3, 0}, {0, StateZero}}, "D10"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got string
			// The data in two slices, as a backend lends a read across
			// two blocks: chunks cut across them.
			for _, c := range readChunks(1000, [][]byte{buf[:4], buf[4:]}, tc.exts) {
				if c.typ == replyTypeOffsetHole {
					got += fmt.Sprintf("H%d", binary.BigEndian.Uint32(c.head[8:]))
					continue
				}
				got += fmt.Sprintf("D%d", buffersLen(c.data))
				at := binary.BigEndian.Uint64(c.head) - 1000
				if d := bytes.Join(c.data, nil); !bytes.Equal(d, buf[at:at+uint64(len(d))]) {
					t.Fatalf("data chunk at %d holds %q, want %q", at, d, buf[at:at+uint64(len(d))])
				}
			}
			if got != tc.want {
				t.Fatalf("%s, want %s", got, tc.want)
			}
		})
	}
}
