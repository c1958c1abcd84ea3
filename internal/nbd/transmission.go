package nbd

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"sync"
)

// request is one transmission request (proto.md §Request message).
type request struct {
	flags  uint16
	typ    uint16
	cookie uint64
	offset uint64
	length uint32
}

// parseRequest decodes a request header. A wrong magic means the stream
// is out of step, which nothing can answer: a hard disconnect.
func parseRequest(h [28]byte) (request, error) {
	if m := binary.BigEndian.Uint32(h[0:]); m != magicRequest {
		return request{}, fmt.Errorf("nbd: request magic %#x, want %#x", m, magicRequest)
	}
	return request{
		flags:  binary.BigEndian.Uint16(h[4:]),
		typ:    binary.BigEndian.Uint16(h[6:]),
		cookie: binary.BigEndian.Uint64(h[8:]),
		offset: binary.BigEndian.Uint64(h[16:]),
		length: binary.BigEndian.Uint32(h[24:]),
	}, nil
}

// transmit reads requests and serves each in its own goroutine, at most
// MaxRequests and inflightBytes of payload at once, until the client
// sends NBD_CMD_DISC or the connection ends; then it waits for the
// requests in flight, whose replies are still sent (§Terminating the
// transmission phase: "The server MUST handle all outstanding requests").
func (ss *session) transmit(ctx context.Context) error {
	// Requests in flight are served even after ctx ends (a shutdown
	// waits for them); they stop only when their answers cannot be sent.
	rctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	defer cancel()
	max := ss.srv.MaxRequests
	if max <= 0 {
		max = DefaultMaxRequests
	}
	slots := make(chan struct{}, max)
	bytes := newBudget(inflightBytes)
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		var h [28]byte
		if _, err := io.ReadFull(ss.r, h[:]); err != nil {
			return err
		}
		req, err := parseRequest(h)
		if err != nil {
			return err
		}
		if req.typ == cmdDisc {
			return nil // no reply (§Request types); the deferred Wait serves the rest
		}
		var cost int64
		if req.typ == cmdRead || req.typ == cmdWrite {
			cost = min(int64(req.length), inflightBytes)
		}
		var payload []byte
		if req.typ == cmdWrite {
			// The payload follows the header whatever the answer will be;
			// one larger than any allowed payload cannot be read to stay
			// in step, and cutting the client off is allowed (§Size
			// constraints: a payload deemed a denial of service).
			if req.length > MaxPayload {
				return fmt.Errorf("nbd: NBD_CMD_WRITE of %d bytes, more than %d", req.length, MaxPayload)
			}
			bytes.acquire(cost)
			payload = make([]byte, req.length)
			if _, err := io.ReadFull(ss.r, payload); err != nil {
				bytes.release(cost)
				return err
			}
		} else {
			bytes.acquire(cost)
		}
		slots <- struct{}{}
		wg.Go(func() {
			defer func() { <-slots }()
			defer bytes.release(cost)
			if err := ss.serve(rctx, req, payload); err != nil {
				// The reply could not be sent: the client is gone. Stop
				// the others and the reader.
				cancel()
				ss.conn.Close()
			}
		})
	}
}

// budget is a counting semaphore of bytes.
type budget struct {
	mu    sync.Mutex
	cond  *sync.Cond
	avail int64
}

func newBudget(n int64) *budget {
	b := &budget{avail: n}
	b.cond = sync.NewCond(&b.mu)
	return b
}

func (b *budget) acquire(n int64) {
	b.mu.Lock()
	for b.avail < n {
		b.cond.Wait()
	}
	b.avail -= n
	b.mu.Unlock()
}

func (b *budget) release(n int64) {
	b.mu.Lock()
	b.avail += n
	b.mu.Unlock()
	b.cond.Broadcast()
}
