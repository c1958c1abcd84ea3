package server_test

import (
	"bufio"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	ebscreds "github.com/ebsd/ebsd/internal/credentials"
	"github.com/ebsd/ebsd/internal/ebstest"
	"github.com/ebsd/ebsd/internal/server"
	"github.com/ebsd/ebsd/internal/sigv4"
)

// limitedServer is an in-process ebsd with the transfer limits and
// in-flight bound a test chose, behind a listener that counts what the
// server reads of each connection.
type limitedServer struct {
	URL  string
	Addr string
	ln   *countingListener
}

// startLimited starts a server with opts' Transfer and MaxInFlight; every
// other option is filled in here. sndbuf > 0 sets the send buffer of the
// server's side of every connection, so that a client that stops reading
// blocks the server's writes instead of loopback's megabytes of buffer
// absorbing them.
func startLimited(t *testing.T, opts server.Options, sndbuf int) *limitedServer {
	t.Helper()
	creds, err := ebscreds.New([]ebscreds.Credential{ebstest.Alice, ebstest.Bob})
	if err != nil {
		t.Fatal(err)
	}
	opts.DataDir = t.TempDir()
	opts.Credentials = creds
	opts.Region = "us-east-1"
	opts.Logger = slog.New(slog.DiscardHandler)
	opts.PackSize = 8 << 20
	srv, err := server.Open(context.Background(), opts)
	if err != nil {
		t.Fatalf("open server: %v", err)
	}
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		srv.Close()
		t.Fatal(err)
	}
	ln := &countingListener{Listener: inner, sndbuf: sndbuf}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln, "", "") }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("shutdown: %v", err)
		}
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
		if err := srv.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return &limitedServer{URL: "http://" + inner.Addr().String(), Addr: inner.Addr().String(), ln: ln}
}

// countingListener records how many bytes the server read from each
// connection it accepted, once that connection is closed.
type countingListener struct {
	net.Listener
	sndbuf int

	accepted atomic.Int64
	mu       sync.Mutex
	reads    []int64 // bytes read of each closed connection
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	if tc, ok := c.(*net.TCPConn); ok && l.sndbuf > 0 {
		tc.SetWriteBuffer(l.sndbuf)
	}
	l.accepted.Add(1)
	return &countingConn{Conn: c, l: l}, nil
}

// closedReads returns the bytes read of every connection closed so far.
func (l *countingListener) closedReads() []int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]int64(nil), l.reads...)
}

type countingConn struct {
	net.Conn
	l    *countingListener
	n    atomic.Int64
	once sync.Once
}

func (c *countingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// CloseWrite keeps net/http's half-close before it closes a connection
// with unread input, as it does on a bare *net.TCPConn.
func (c *countingConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

func (c *countingConn) Close() error {
	c.once.Do(func() {
		c.l.mu.Lock()
		c.l.reads = append(c.l.reads, c.n.Load())
		c.l.mu.Unlock()
	})
	return c.Conn.Close()
}

// signRequest signs r as Alice (or with secret, when not ""), with the
// payload hash payload ("" = hash the body, sending no
// X-Amz-Content-Sha256, as the SDKs do for JSON operations).
func signRequest(t *testing.T, r *http.Request, payload, secret string) {
	t.Helper()
	if secret == "" {
		secret = ebstest.Alice.SecretAccessKey
	}
	if err := sigv4.Sign(r, ebstest.Alice.AccessKeyID, secret, "us-east-1", "ebs", payload, time.Now()); err != nil {
		t.Fatal(err)
	}
}

// trickle is a request body that yields one byte every interval, for as
// long as there are bytes, or forever when data is nil.
type trickle struct {
	data     []byte
	interval time.Duration
	stop     <-chan struct{}
}

func (tr *trickle) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	select {
	case <-time.After(tr.interval):
	case <-tr.stop:
		return 0, io.ErrClosedPipe
	}
	if tr.data == nil {
		p[0] = '1'
		return 1, nil
	}
	if len(tr.data) == 0 {
		return 0, io.EOF
	}
	p[0] = tr.data[0]
	tr.data = tr.data[1:]
	return 1, nil
}

// rawResult is what a raw client saw of one exchange.
type rawResult struct {
	status    int
	errorType string
	body      []byte
	answered  time.Duration // from the first byte sent to the status line; -1 if none
	closed    time.Duration // from the first byte sent to the server closing; -1 if not within the wait
	readErr   error
}

// rawExchange dials addr, starts send (which writes the request and may
// block or fail, its errors are ignored), reads the response, then waits
// up to wait in all for the server to close the connection.
func rawExchange(t *testing.T, addr string, wait time.Duration, send func(net.Conn)) rawResult {
	t.Helper()
	return raw(t, addr, wait, send, true)
}

// rawAnswer is rawExchange without the wait for the server to close.
func rawAnswer(t *testing.T, addr string, wait time.Duration, send func(net.Conn)) rawResult {
	t.Helper()
	return raw(t, addr, wait, send, false)
}

func raw(t *testing.T, addr string, wait time.Duration, send func(net.Conn), awaitClose bool) rawResult {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	start := time.Now()
	go send(conn)
	conn.SetReadDeadline(start.Add(wait))
	res := rawResult{answered: -1, closed: -1}
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		res.readErr = err
		if !isTimeout(err) {
			res.closed = time.Since(start)
		}
		return res
	}
	res.answered = time.Since(start)
	res.status = resp.StatusCode
	res.errorType = resp.Header.Get("X-Amzn-Errortype")
	res.body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if !awaitClose {
		return res
	}
	// Anything after the response is the server closing, or a timeout.
	_, err = io.Copy(io.Discard, br)
	if !isTimeout(err) {
		res.closed = time.Since(start)
	} else {
		res.readErr = err
	}
	return res
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// writeRequest writes r to conn, ignoring errors: the server may stop
// reading and close while the body is still going.
func writeRequest(conn net.Conn, r *http.Request) {
	conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
	_ = r.Write(conn)
}
