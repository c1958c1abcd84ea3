package api

import (
	"io"
	"net/http"
	"time"
)

// writePiece is how much of a response is handed to the connection at a
// time: its write deadline moves forward after each piece, so a large
// response (a 512 KiB block) is timed by its progress, not as one write.
const writePiece = 32 << 10

// maxDrain bounds how long net/http may go on reading a body the handler
// refused unread (it drains up to 256 KiB of it to keep the connection,
// else closes it after a linger that lets the answer arrive). A client
// that sent its body is drained in milliseconds; one still trickling is
// cut off when it expires. It is capped at Stall.
const maxDrain = time.Second

// transfer puts one request's body reads and response writes under the
// connection deadlines of TransferLimits, with http.ResponseController.
// It is seen as the request body through transferBody and as the
// ResponseWriter through transferWriter (one allocation for both). Only
// the request's goroutine uses it.
//
// net/http cannot do this itself: Server.ReadTimeout is one fixed deadline
// for the whole request. Once the body is consumed (at once when there is
// none), net/http lifts the read deadline and starts a background read
// that watches for the client leaving; a read deadline set after that
// would make it cancel the request's context while the handler works, so
// none is.
type transfer struct {
	limits TransferLimits
	rc     http.ResponseController
	w      http.ResponseWriter
	src    io.ReadCloser

	chunked             bool // the body's length is unknown
	bodyDone            bool // the body hit EOF or failed, or there is none
	readStart, readLast time.Time
	readN               int64

	writing               bool
	writeStart, writeLast time.Time
	writeN                int64
}

// newTransfer sets the deadlines of a request whose handler starts now.
// Errors of the ResponseController (ErrNotSupported from a test recorder)
// are ignored: deadlines are a protection, not a function.
func newTransfer(w http.ResponseWriter, r *http.Request, l TransferLimits, now time.Time) *transfer {
	t := &transfer{limits: l, rc: *http.NewResponseController(w), w: w, src: r.Body}
	if t.src == nil {
		t.src = http.NoBody
	}
	// No write deadline until the answer starts: the handler's own work,
	// a synced write say, must not count against the client.
	_ = t.rc.SetWriteDeadline(time.Time{})
	if r.ContentLength == 0 || t.src == http.NoBody {
		t.bodyDone = true // and the background read is on
		return t
	}
	t.chunked = r.ContentLength < 0
	t.readStart, t.readLast = now, now
	_ = t.rc.SetReadDeadline(l.deadline(now, now, 0))
	return t
}

// body returns the request body to hand to the handler.
func (t *transfer) body() io.ReadCloser { return (*transferBody)(t) }

// writer returns the ResponseWriter to hand to the handler.
func (t *transfer) writer() http.ResponseWriter { return (*transferWriter)(t) }

// startWrite starts the response's clock, once. An answer that starts
// before the body is read in full (an error, a 503) ends the wait for the
// body. Otherwise net/http drains up to 256 KiB of the unread body before
// sending the answer, under the body's own deadline or none, so a client
// trickling a body it was refused could hold the connection for long.
// Past the new deadline net/http gives up the drain and closes the
// connection. A body refused unread gets maxDrain, so that a client that
// sent it is not answered with a reset; one refused part way (too large)
// gets nothing more. A chunked body refused unread also closes the
// connection: net/http would otherwise drain 256 KiB of it before the
// answer and 256 KiB more after it; now it drains after the answer only.
func (t *transfer) startWrite() {
	if t.writing {
		return
	}
	t.writing = true
	now := time.Now()
	t.writeStart, t.writeLast = now, now
	if !t.bodyDone {
		t.bodyDone = true
		drain := now
		if t.readN == 0 {
			drain = now.Add(min(maxDrain, t.limits.Stall))
			if t.chunked {
				t.w.Header().Set("Connection", "close")
			}
		}
		_ = t.rc.SetReadDeadline(drain)
	}
	_ = t.rc.SetWriteDeadline(t.limits.deadline(now, now, 0))
}

// transferBody is the request body, read under the read deadline.
type transferBody transfer

func (b *transferBody) Read(p []byte) (int, error) {
	t := (*transfer)(b)
	n, err := t.src.Read(p)
	switch {
	case t.bodyDone:
	case err == io.EOF:
		// All in, maybe with the last bytes: the background read has just
		// started, so no deadline may be set any more.
		t.bodyDone = true
	case err != nil:
		// Cut by its deadline, or broken: no more of it is worth waiting
		// for, so the answer must not extend the deadline for a drain.
		t.bodyDone = true
	case n > 0:
		now := time.Now()
		t.readN += int64(n)
		t.readLast = now
		_ = t.rc.SetReadDeadline(t.limits.deadline(t.readStart, now, t.readN))
	}
	return n, err
}

func (b *transferBody) Close() error { return b.src.Close() }

// transferWriter is the ResponseWriter, written under the write deadline.
type transferWriter transfer

func (w *transferWriter) Header() http.Header { return w.w.Header() }

func (w *transferWriter) WriteHeader(status int) {
	(*transfer)(w).startWrite()
	w.w.WriteHeader(status)
}

// Write writes p in pieces of writePiece bytes, moving the write deadline
// forward after each.
func (w *transferWriter) Write(p []byte) (int, error) {
	t := (*transfer)(w)
	t.startWrite()
	written := 0
	for len(p) > 0 {
		n, err := t.w.Write(p[:min(len(p), writePiece)])
		written += n
		p = p[n:]
		if err != nil {
			return written, err
		}
		if n == 0 {
			return written, io.ErrShortWrite // never loop on a writer that takes nothing
		}
		now := time.Now()
		t.writeN += int64(n)
		t.writeLast = now
		_ = t.rc.SetWriteDeadline(t.limits.deadline(t.writeStart, now, t.writeN))
	}
	return written, nil
}

// Unwrap returns the underlying ResponseWriter, for
// http.ResponseController.
func (w *transferWriter) Unwrap() http.ResponseWriter { return w.w }
