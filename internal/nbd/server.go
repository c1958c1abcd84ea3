package nbd

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"sync"
	"time"
)

// Export is what a Server serves: one device under one name.
type Export struct {
	// Name is the export's name. A client asking for the default export
	// (the empty name: qemu's and libnbd's nbd://host without a path)
	// gets this one too.
	Name string
	// Description is shown by clients that list exports (nbdinfo --list).
	Description string
	// Backend holds the data.
	Backend Backend
	// Writable exports take WRITE, TRIM and WRITE_ZEROES; others are
	// advertised read-only and answer writes with EPERM.
	Writable bool
	// MultiConn says that every connection sees the same data and that a
	// flush on one covers writes acknowledged on all (proto.md
	// §Transmission flags, NBD_FLAG_CAN_MULTI_CONN): true when all
	// connections share one Backend without per-connection caches.
	MultiConn bool
}

// Server serves an Export over NBD. Its zero value plus an Export is
// usable; Serve and ServeConn may be called from many goroutines.
type Server struct {
	Export Export
	// Logger receives a debug line per connection and a warning per
	// failed request; nil discards.
	Logger *slog.Logger
	// MaxRequests bounds the requests of one connection served at once;
	// 0 means DefaultMaxRequests.
	MaxRequests int
	// HandshakeTimeout bounds the option haggling of a connection; 0
	// means 30 s.
	HandshakeTimeout time.Duration
	// ConnChanged, if set, is called with the number of open connections
	// each time one opens or closes.
	ConnChanged func(open int)

	mu   sync.Mutex
	open int
}

// DefaultMaxRequests is the requests of one connection served at once by
// default: enough to keep a backend that fetches blocks over the network
// busy, few enough to bound memory (each may hold a 32 MiB payload, and
// the bytes in flight are bounded separately, see inflightBytes).
const DefaultMaxRequests = 16

// inflightBytes bounds the READ and WRITE payloads one connection holds
// at once.
const inflightBytes = 2 * MaxPayload

func (s *Server) logger() *slog.Logger {
	if s.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return s.Logger
}

// Serve accepts connections on ln and serves each until ctx is done; then
// it stops accepting, lets every connection finish the requests it
// received (proto.md §Terminating the transmission phase: "the server
// SHOULD wait for inflight requests to be serviced prior to initiating a
// hard disconnect"), closes them and returns nil. It returns an accept
// error otherwise.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	stop := context.AfterFunc(ctx, func() { ln.Close() })
	defer stop()
	for {
		c, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return fmt.Errorf("nbd: accept: %w", err)
		}
		wg.Go(func() {
			if err := s.ServeConn(ctx, c); err != nil {
				s.logger().Debug("nbd connection ended", "remote", c.RemoteAddr().String(), "err", err)
			}
		})
	}
}

// ServeConn runs the handshake and the transmission phase on conn and
// closes it. It returns nil when the client disconnected cleanly (ABORT,
// DISC) or ctx ended the session, and why the connection was dropped
// otherwise.
func (s *Server) ServeConn(ctx context.Context, conn net.Conn) error {
	defer conn.Close()
	s.count(+1)
	defer s.count(-1)

	sess := &session{
		srv:  s,
		conn: conn,
		r:    bufio.NewReaderSize(conn, 64<<10),
		w:    newReplyWriter(conn),
		log:  s.logger().With("remote", conn.RemoteAddr().String()),
	}
	// When ctx ends, reads stop at once (a read deadline in the past):
	// the reader loop ends, requests in flight finish and are answered.
	stop := context.AfterFunc(ctx, func() { sess.setDeadline(time.Unix(1, 0), true) })
	defer stop()

	timeout := s.HandshakeTimeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	sess.setDeadline(time.Now().Add(timeout), false)
	if err := sess.greet(); err != nil {
		return sess.ended(ctx, err)
	}
	enter, err := sess.negotiate()
	if err != nil || !enter {
		return sess.ended(ctx, err)
	}
	sess.setDeadline(time.Time{}, false)
	sess.log.Debug("nbd transmission", "structured", sess.structured, "block_status", sess.meta)
	return sess.ended(ctx, sess.transmit(ctx))
}

// count tracks the open connections and reports them.
func (s *Server) count(delta int) {
	s.mu.Lock()
	s.open += delta
	n := s.open
	s.mu.Unlock()
	if s.ConnChanged != nil {
		s.ConnChanged(n)
	}
}

// session is one connection's state.
type session struct {
	srv  *Server
	conn net.Conn
	r    *bufio.Reader
	w    *replyWriter
	log  *slog.Logger

	dmu      sync.Mutex
	stopping bool // ctx ended: the read deadline stays in the past

	noZeroes   bool   // NBD_FLAG_C_NO_ZEROES
	structured bool   // NBD_OPT_STRUCTURED_REPLY negotiated
	meta       bool   // base:allocation selected
	metaName   string // for this export name
}

// setDeadline sets the read deadline, unless the session is stopping
// (then only a stop may set it), so that a deadline set after the stop
// cannot undo it.
func (ss *session) setDeadline(t time.Time, stop bool) {
	ss.dmu.Lock()
	defer ss.dmu.Unlock()
	if ss.stopping && !stop {
		return
	}
	ss.stopping = ss.stopping || stop
	ss.conn.SetReadDeadline(t)
}

// ended turns the error a session ended with into ServeConn's result:
// nil for a clean end (EOF between messages, an abort, or a stop).
func (ss *session) ended(ctx context.Context, err error) error {
	switch {
	case err == nil, errors.Is(err, errAbort), errors.Is(err, io.EOF):
		return nil
	case ctx.Err() != nil && errors.Is(err, os.ErrDeadlineExceeded):
		return nil
	}
	return err
}

// errAbort ends a session after NBD_OPT_ABORT.
var errAbort = errors.New("nbd: the client aborted the negotiation")
