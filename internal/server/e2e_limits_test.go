package server_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ebs"
	"github.com/aws/aws-sdk-go-v2/service/ebs/types"

	"github.com/ebsd/ebsd/internal/api"
	"github.com/ebsd/ebsd/internal/ebstest"
	"github.com/ebsd/ebsd/internal/server"
	"github.com/ebsd/ebsd/internal/sigv4"
)

// TestSlowBodyIsCut sends bodies at 5 bytes a second, with and without
// credentials, and checks that the server answers and closes the
// connection about Stall after the headers, or within a second when it
// refuses the request before reading the body, instead of holding it for
// as long as the client likes (reliability report §3b: never, even with no
// Authorization, because net/http drained the unread body before sending
// the 403).
func TestSlowBodyIsCut(t *testing.T) {
	const stall = 3 * time.Second
	s := startLimited(t, server.Options{Transfer: api.TransferLimits{Stall: stall, MinRate: 64 << 10, Max: 6 * time.Second}}, 0)
	c := ebstest.NewClient(s.URL, ebstest.Alice, &http.Client{Timeout: 10 * time.Second})
	snap := startSnapshot(t, c, &ebs.StartSnapshotInput{})
	stop := make(chan struct{})
	t.Cleanup(func() { close(stop) })
	const interval = 200 * time.Millisecond
	startBody := []byte(`{"VolumeSize":1,"Description":"` + strings.Repeat("d", 2000) + `"}`)

	// slowRequest builds a request whose body trickles in.
	slowRequest := func(t *testing.T, method, path string, body []byte, length int64, payload, secret string, sign bool) func(net.Conn) {
		r, err := http.NewRequest(method, s.URL+path, bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		if method == http.MethodPut {
			r.Header.Set("X-Amz-Data-Length", "524288")
			r.Header.Set("X-Amz-Checksum", ebstest.Checksum(make([]byte, ebstest.BlockSize)))
			r.Header.Set("X-Amz-Checksum-Algorithm", "SHA256")
		}
		if sign {
			signRequest(t, r, payload, secret)
		}
		r.Body = io.NopCloser(&trickle{data: body, interval: interval, stop: stop})
		r.ContentLength = length
		return func(conn net.Conn) { writeRequest(conn, r) }
	}
	// refused: refused before the body is read, so net/http's drain of it is
	// given up after a second, not after Stall.
	tests := []struct {
		name       string
		send       func(t *testing.T) func(net.Conn)
		wantStatus int
		wantType   string
		refused    bool
	}{
		{"no Authorization, Content-Length body", func(t *testing.T) func(net.Conn) {
			return slowRequest(t, "POST", "/snapshots", bytes.Repeat([]byte{'x'}, 200000), 200000, "", "", false)
		}, 403, "MissingAuthenticationTokenException", true},
		{"no Authorization, chunked body that never ends", func(t *testing.T) func(net.Conn) {
			return func(conn net.Conn) {
				fmt.Fprintf(conn, "POST /snapshots HTTP/1.1\r\nHost: %s\r\nTransfer-Encoding: chunked\r\n\r\n", s.Addr)
				io.Copy(conn, &trickle{interval: interval, stop: stop})
			}
		}, 403, "MissingAuthenticationTokenException", true},
		{"forged signature, no payload header", func(t *testing.T) func(net.Conn) {
			return slowRequest(t, "POST", "/snapshots", startBody, int64(len(startBody)), "", "forged", true)
		}, 400, "ValidationException", false},
		{"valid signature, StartSnapshot", func(t *testing.T) func(net.Conn) {
			return slowRequest(t, "POST", "/snapshots", startBody, int64(len(startBody)), "", "", true)
		}, 400, "ValidationException", false},
		{"valid signature, PutSnapshotBlock", func(t *testing.T) func(net.Conn) {
			return slowRequest(t, "PUT", "/snapshots/"+snap+"/blocks/0", make([]byte, ebstest.BlockSize), ebstest.BlockSize,
				sigv4.UnsignedPayload, "", true)
		}, 400, "ValidationException", false},
		{"valid signature, PutSnapshotBlock, body never sent", func(t *testing.T) func(net.Conn) {
			block := make([]byte, ebstest.BlockSize)
			r, _ := http.NewRequest("PUT", s.URL+"/snapshots/"+snap+"/blocks/0", bytes.NewReader(block))
			r.Header.Set("X-Amz-Data-Length", "524288")
			r.Header.Set("X-Amz-Checksum", ebstest.Checksum(block))
			r.Header.Set("X-Amz-Checksum-Algorithm", "SHA256")
			signRequest(t, r, sigv4.UnsignedPayload, "")
			var wire bytes.Buffer
			r.Write(&wire)
			head, _, _ := bytes.Cut(wire.Bytes(), []byte("\r\n\r\n"))
			return func(conn net.Conn) { conn.Write(append(head, "\r\n\r\n"...)) } // and no body
		}, 400, "ValidationException", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			res := rawExchange(t, s.Addr, 8*time.Second, tc.send(t))
			if res.answered < 0 {
				t.Fatalf("no answer: %v", res.readErr)
			}
			if res.status != tc.wantStatus || res.errorType != tc.wantType {
				t.Errorf("answer %d %s %s, want %d %s", res.status, res.errorType, res.body, tc.wantStatus, tc.wantType)
			}
			if res.closed < 0 {
				t.Fatalf("connection still open 8 s after the headers (answered after %v)", res.answered)
			}
			// Stall, plus slack for a loaded machine.
			limit := stall + 1500*time.Millisecond
			if tc.refused {
				limit = 2 * time.Second
			}
			if res.closed > limit {
				t.Errorf("connection closed after %v, want within %v", res.closed, limit)
			}
			t.Logf("answered after %v, closed after %v", res.answered.Round(time.Millisecond), res.closed.Round(time.Millisecond))
		})
	}
}

// pacedReader yields chunk bytes every interval: a slow but steady client.
type pacedReader struct {
	data     []byte
	chunk    int
	interval time.Duration
}

func (p *pacedReader) Read(b []byte) (int, error) {
	if len(p.data) == 0 {
		return 0, io.EOF
	}
	time.Sleep(p.interval)
	n := min(len(b), p.chunk, len(p.data))
	copy(b, p.data[:n])
	p.data = p.data[n:]
	return n, nil
}

// smallBufferClient is an HTTP client whose connections have a small
// receive buffer, so that reading a response slowly slows the server.
func smallBufferClient() *http.Client {
	d := &net.Dialer{Timeout: 5 * time.Second}
	return &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := d.DialContext(ctx, network, addr)
			if err == nil {
				c.(*net.TCPConn).SetReadBuffer(32 << 10)
			}
			return c, err
		},
	}}
}

// TestSlowSteadyTransfersFinish uploads and downloads a 512 KiB block
// through the Go SDK at 200 KiB/s, well above the 32 KiB/s floor, taking
// more than twice Stall: progress, not a fixed deadline, decides. The
// pauses (40 ms) are far below Stall, so a loaded machine does not fail it.
func TestSlowSteadyTransfersFinish(t *testing.T) {
	const stall = time.Second
	const piece, pause = 8 << 10, 40 * time.Millisecond
	s := startLimited(t, server.Options{Transfer: api.TransferLimits{Stall: stall, MinRate: 32 << 10, Max: 20 * time.Second}}, 32<<10)
	c := ebstest.NewClient(s.URL, ebstest.Alice, smallBufferClient())
	id := startSnapshot(t, c, &ebs.StartSnapshotInput{})
	data := make([]byte, ebstest.BlockSize)
	rand.Read(data)

	begin := time.Now()
	_, err := c.PutSnapshotBlock(ctx, &ebs.PutSnapshotBlockInput{
		SnapshotId: &id, BlockIndex: aws.Int32(0), DataLength: aws.Int32(ebstest.BlockSize),
		// Not seekable: the SDK streams it chunked, as it arrives.
		BlockData: &pacedReader{data: data, chunk: piece, interval: pause},
		Checksum:  aws.String(ebstest.Checksum(data)), ChecksumAlgorithm: types.ChecksumAlgorithmChecksumAlgorithmSha256,
	})
	if err != nil {
		t.Fatalf("slow steady PutSnapshotBlock: %v", err)
	}
	if d := time.Since(begin); d < 2*stall {
		t.Fatalf("the upload took %v: too short to show anything", d)
	}
	t.Logf("upload took %v", time.Since(begin).Round(time.Millisecond))

	if st := complete(t, c, id, 1, ""); st != types.StatusCompleted {
		t.Fatalf("status %s", st)
	}
	tok := listAll(t, c, id, 100)[0]
	out, err := c.GetSnapshotBlock(ctx, &ebs.GetSnapshotBlockInput{SnapshotId: &id, BlockIndex: aws.Int32(0), BlockToken: &tok})
	if err != nil {
		t.Fatal(err)
	}
	defer out.BlockData.Close()
	begin = time.Now()
	var got bytes.Buffer
	buf := make([]byte, piece)
	for {
		time.Sleep(pause)
		n, err := out.BlockData.Read(buf)
		got.Write(buf[:n])
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("slow steady GetSnapshotBlock read after %d bytes: %v", got.Len(), err)
		}
	}
	if !bytes.Equal(got.Bytes(), data) {
		t.Fatalf("read back %d bytes, not the block", got.Len())
	}
	if d := time.Since(begin); d < 2*stall {
		t.Fatalf("the download took %v: too short to show anything", d)
	}
	t.Logf("download took %v", time.Since(begin).Round(time.Millisecond))
}

// TestResponseStallIsCut asks for a block and does not read the answer:
// the server must give up writing it after Stall, not wait forever with the
// block's buffer pinned.
func TestResponseStallIsCut(t *testing.T) {
	const stall = 500 * time.Millisecond
	s := startLimited(t, server.Options{Transfer: api.TransferLimits{Stall: stall, MinRate: 64 << 10, Max: 10 * time.Second}}, 16<<10)
	c := ebstest.NewClient(s.URL, ebstest.Alice, &http.Client{Timeout: 10 * time.Second})
	id := startSnapshot(t, c, &ebs.StartSnapshotInput{})
	data := make([]byte, ebstest.BlockSize)
	rand.Read(data)
	mustPut(t, c, id, map[int32][]byte{0: data})
	complete(t, c, id, 1, "")
	tok := listAll(t, c, id, 100)[0]

	conn, err := net.Dial("tcp", s.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.(*net.TCPConn).SetReadBuffer(8 << 10)
	r, _ := http.NewRequest("GET", s.URL+"/snapshots/"+id+"/blocks/0?blockToken="+tok, nil)
	signRequest(t, r, "", "")
	writeRequest(conn, r)
	time.Sleep(4 * stall) // read nothing meanwhile
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, err := io.Copy(io.Discard, conn)
	if isTimeout(err) {
		t.Fatalf("the server still holds the connection after %d bytes", n)
	}
	if n >= ebstest.BlockSize {
		t.Fatalf("read %d bytes: the server waited for the reader instead of cutting the response", n)
	}
	t.Logf("read %d bytes before the server closed (%v)", n, err)
}

// TestForgedSignatureFlood opens 1,000 connections with 1 MiB bodies, most
// knowing Alice's access-key ID but not her secret, and checks how much the
// server read of each (reliability report §3c: 1 MiB each, RSS 18 -> 1,167
// MiB): nothing of a body whose declared length is above 64 KiB, at most
// 64 KiB (+1 byte) of a chunked one it must hash, and of a chunked body it
// refused unread only what net/http drains after the answer to close the
// connection gracefully (256 KiB, within a second). The read-ahead of
// net/http's 4 KiB buffer, request heads and chunk framing come on top.
func TestForgedSignatureFlood(t *testing.T) {
	s := startLimited(t, server.Options{}, 0)
	body := make([]byte, 1<<20)
	const slack = 8 << 10
	type flood struct {
		name    string
		chunked bool
		payload string // "" = no X-Amz-Content-Sha256
		auth    string // "forged", "unknown" or "none"
		maxRead int64
	}
	kinds := []flood{
		{"forged, no payload header, chunked", true, "", "forged", 64<<10 + 1 + slack},
		{"forged, no payload header, Content-Length", false, "", "forged", slack},
		{"forged, UNSIGNED-PAYLOAD, Content-Length", false, sigv4.UnsignedPayload, "forged", slack},
		{"forged, UNSIGNED-PAYLOAD, chunked", true, sigv4.UnsignedPayload, "forged", 256<<10 + 1 + slack},
		{"unknown key, chunked", true, "", "unknown", 256<<10 + 1 + slack},
		{"no Authorization, chunked", true, "", "none", 256<<10 + 1 + slack},
	}
	request := func(f flood) *http.Request {
		method, path := "POST", "/snapshots"
		if f.payload != "" {
			method, path = "PUT", "/snapshots/snap-0123456789abcdef0/blocks/0"
		}
		// Signed without a body, so that signing is cheap: the signature is
		// wrong for the body anyway, as for any forger.
		r, _ := http.NewRequest(method, s.URL+path, nil)
		switch f.auth {
		case "forged":
			signRequest(t, r, f.payload, "forged")
		case "unknown":
			signRequest(t, r, f.payload, "")
			r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), ebstest.Alice.AccessKeyID, "AKIAUNKNOWN000000000", 1))
		}
		if f.chunked {
			r.Body = io.NopCloser(io.MultiReader(bytes.NewReader(body))) // hides the length: chunked
			r.ContentLength = -1
		} else {
			r.Body = io.NopCloser(bytes.NewReader(body))
			r.ContentLength = int64(len(body))
		}
		return r
	}

	const perKind, workers = 1000 / 6, 50
	total := 0
	for _, f := range kinds {
		var next atomic.Int64
		var statusMu sync.Mutex
		statuses := map[string]int{}
		var wg sync.WaitGroup
		for range workers {
			wg.Go(func() {
				for next.Add(1) <= perKind {
					r := request(f)
					res := rawExchange(t, s.Addr, 5*time.Second, func(conn net.Conn) { writeRequest(conn, r) })
					statusMu.Lock()
					statuses[strconv.Itoa(res.status)+" "+res.errorType]++
					statusMu.Unlock()
					if res.answered < 0 {
						t.Errorf("%s: no answer (%v)", f.name, res.readErr)
					} else if res.status < 400 {
						t.Errorf("%s: status %d", f.name, res.status)
					}
				}
			})
		}
		wg.Wait()
		total += perKind
		deadline := time.Now().Add(5 * time.Second)
		for len(s.ln.closedReads()) < total && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		reads := s.ln.closedReads()
		if len(reads) < total {
			t.Fatalf("%s: the server closed %d of %d connections", f.name, len(reads), total)
		}
		var most int64
		for _, n := range reads[total-perKind:] {
			most = max(most, n)
		}
		if most > f.maxRead {
			t.Errorf("%s: the server read up to %d bytes of one connection, want at most %d", f.name, most, f.maxRead)
		}
		t.Logf("%s: %d connections, answers %v; the server read at most %d bytes of one", f.name, perKind, statuses, most)
	}
}

// countingTransport counts the 503s an SDK client receives.
type countingTransport struct {
	base http.RoundTripper
	n503 atomic.Int64
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := c.base.RoundTrip(r)
	if err == nil && resp.StatusCode == http.StatusServiceUnavailable {
		c.n503.Add(1)
	}
	return resp, err
}

type fixedBackoff time.Duration

func (b fixedBackoff) BackoffDelay(int, error) (time.Duration, error) { return time.Duration(b), nil }

// gatedReader yields head, then blocks until gate is closed, then yields
// tail: a request that holds its in-flight slot for as long as the test
// wants.
type gatedReader struct {
	head, tail []byte
	gate       <-chan struct{}
}

func (g *gatedReader) Read(p []byte) (int, error) {
	if len(g.head) > 0 {
		n := copy(p, g.head)
		g.head = g.head[n:]
		return n, nil
	}
	<-g.gate
	if len(g.tail) == 0 {
		return 0, io.EOF
	}
	n := copy(p, g.tail)
	g.tail = g.tail[n:]
	return n, nil
}

// TestInFlightBound fills a server bounded to one request in flight and
// checks that another request gets a 503 ServiceUnavailableException at
// once without its body being read, that /healthz and /metrics still
// answer, and that the Go SDK's standard retryer gets through once the
// slot frees.
func TestInFlightBound(t *testing.T) {
	s := startLimited(t, server.Options{MaxInFlight: 1, Transfer: api.TransferLimits{Stall: 5 * time.Second}}, 0)
	a := ebstest.NewClient(s.URL, ebstest.Alice, &http.Client{Timeout: 20 * time.Second})
	id := startSnapshot(t, a, &ebs.StartSnapshotInput{})

	// A holds the only slot with an upload that stops halfway.
	data := make([]byte, ebstest.BlockSize)
	gate := make(chan struct{})
	var once sync.Once
	release := func() { once.Do(func() { close(gate) }) }
	defer release()
	errA := make(chan error, 1)
	go func() {
		_, err := a.PutSnapshotBlock(ctx, &ebs.PutSnapshotBlockInput{
			SnapshotId: &id, BlockIndex: aws.Int32(0), DataLength: aws.Int32(ebstest.BlockSize),
			BlockData: &gatedReader{head: data[:64<<10], tail: data[64<<10:], gate: gate},
			Checksum:  aws.String(ebstest.Checksum(data)), ChecksumAlgorithm: types.ChecksumAlgorithmChecksumAlgorithmSha256,
		})
		errA <- err
	}()

	// A request with a declared body it never sends: answered at once
	// means the server did not wait to read it.
	busy := func() rawResult {
		return rawExchange(t, s.Addr, 3*time.Second, func(conn net.Conn) {
			fmt.Fprintf(conn, "POST /snapshots HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n", s.Addr)
		})
	}
	var res rawResult
	for deadline := time.Now().Add(5 * time.Second); ; {
		if res = busy(); res.status == http.StatusServiceUnavailable || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if res.status != http.StatusServiceUnavailable || res.errorType != "ServiceUnavailableException" {
		t.Fatalf("with the only slot taken: %d %s %s (%v), want 503 ServiceUnavailableException", res.status, res.errorType, res.body, res.readErr)
	}
	if !bytes.Contains(res.body, []byte(`"message"`)) {
		t.Errorf("503 body %s, want an AWS error body", res.body)
	}
	if res.answered > time.Second {
		t.Errorf("503 after %v: the server waited for the body", res.answered)
	}

	for _, path := range []string{"/healthz", "/metrics"} {
		resp, err := http.Get(s.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s while full: %d", path, resp.StatusCode)
		}
	}

	// B retries 503s the SDK's standard way until A is done.
	tr := &countingTransport{base: http.DefaultTransport.(*http.Transport).Clone()}
	b := ebs.NewFromConfig(aws.Config{
		Region:      "us-east-1",
		Credentials: credentials.NewStaticCredentialsProvider(ebstest.Alice.AccessKeyID, ebstest.Alice.SecretAccessKey, ""),
		HTTPClient:  &http.Client{Transport: tr, Timeout: 20 * time.Second},
	}, func(o *ebs.Options) {
		o.BaseEndpoint = aws.String(s.URL)
		o.Retryer = retry.NewStandard(func(so *retry.StandardOptions) {
			so.MaxAttempts = 50
			so.Backoff = fixedBackoff(50 * time.Millisecond)
			so.RateLimiter = ratelimit.None
		})
	})
	errB := make(chan error, 1)
	go func() {
		_, err := b.StartSnapshot(ctx, &ebs.StartSnapshotInput{VolumeSize: aws.Int64(1)})
		errB <- err
	}()
	for deadline := time.Now().Add(5 * time.Second); tr.n503.Load() == 0 && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	if tr.n503.Load() == 0 {
		t.Fatal("the SDK client never got a 503 while the slot was taken")
	}
	release()
	if err := <-errA; err != nil {
		t.Fatalf("the upload holding the slot: %v", err)
	}
	if err := <-errB; err != nil {
		t.Fatalf("StartSnapshot after %d 503s: %v", tr.n503.Load(), err)
	}
	t.Logf("the SDK got %d 503s, then succeeded", tr.n503.Load())
}

// TestHeaderLimit checks MaxHeaderBytes: headers as large as any SDK sends,
// with a long session token, pass; 100 KiB of them does not.
func TestHeaderLimit(t *testing.T) {
	s := startLimited(t, server.Options{}, 0)
	tests := []struct {
		name   string
		extra  int // bytes of one extra header
		want   int
		wantTy string
	}{
		{"SDK-sized with an 8 KiB session token", 8 << 10, 403, "UnrecognizedClientException"},
		{"100 KiB header", 100 << 10, http.StatusRequestHeaderFieldsTooLarge, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, _ := http.NewRequest("GET", s.URL+"/snapshots/snap-0123456789abcdef0/blocks", nil)
			r.Header.Set("X-Amz-Security-Token", strings.Repeat("t", tc.extra))
			signRequest(t, r, "", "")
			r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), ebstest.Alice.AccessKeyID, "AKIAUNKNOWN000000000", 1))
			res := rawAnswer(t, s.Addr, 5*time.Second, func(conn net.Conn) { writeRequest(conn, r) })
			if res.status != tc.want || res.errorType != tc.wantTy {
				t.Errorf("status %d %q, want %d %q", res.status, res.errorType, tc.want, tc.wantTy)
			}
		})
	}
}

// TestRefusedBlockAnswerArrives sends a whole PutSnapshotBlock for a
// snapshot that does not exist and reads the answer only after a pause, as
// a busy client does: the server refuses it without reading the block (not
// even net/http's 256 KiB drain) and must close the connection gracefully
// (answer, FIN, linger), not reset it while the block is still coming,
// which would destroy the 404 in the client's buffers.
func TestRefusedBlockAnswerArrives(t *testing.T) {
	s := startLimited(t, server.Options{}, 0)
	block := make([]byte, ebstest.BlockSize)
	for i := range 5 {
		r, _ := http.NewRequest("PUT", s.URL+"/snapshots/snap-0123456789abcdef0/blocks/0", bytes.NewReader(block))
		r.Header.Set("X-Amz-Data-Length", "524288")
		r.Header.Set("X-Amz-Checksum", ebstest.Checksum(block))
		r.Header.Set("X-Amz-Checksum-Algorithm", "SHA256")
		signRequest(t, r, sigv4.UnsignedPayload, "")
		conn, err := net.Dial("tcp", s.Addr)
		if err != nil {
			t.Fatal(err)
		}
		go writeRequest(conn, r)
		time.Sleep(200 * time.Millisecond) // the answer waits in the socket meanwhile
		conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		var res rawResult
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err == nil {
			res.status, res.errorType = resp.StatusCode, resp.Header.Get("X-Amzn-Errortype")
		}
		res.readErr = err
		conn.Close()
		if res.status != http.StatusNotFound || res.errorType != "ResourceNotFoundException" {
			t.Fatalf("attempt %d: %d %q (%v), want 404 ResourceNotFoundException", i, res.status, res.errorType, res.readErr)
		}
	}
	for deadline := time.Now().Add(5 * time.Second); int64(len(s.ln.closedReads())) < s.ln.accepted.Load() && time.Now().Before(deadline); {
		time.Sleep(50 * time.Millisecond)
	}
	for _, n := range s.ln.closedReads() {
		if n > 64<<10 {
			t.Errorf("the server read %d bytes of a block it refused", n)
		}
	}
}
