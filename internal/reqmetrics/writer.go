package reqmetrics

import (
	"io"
	"net/http"
)

// Writer is an http.ResponseWriter that records the status written and
// counts the body bytes, for the metrics and the access log of a request.
// A handler embeds it in its per-request state.
type Writer struct {
	http.ResponseWriter

	Status int   // the status written, 0 before WriteHeader
	Sent   int64 // response body bytes written
}

// WriteHeader records the status and passes it on; a second call is
// dropped, as net/http would drop it.
func (w *Writer) WriteHeader(status int) {
	if w.Status != 0 {
		return
	}
	w.Status = status
	w.ResponseWriter.WriteHeader(status)
}

// Write counts the bytes written.
func (w *Writer) Write(p []byte) (int, error) {
	if w.Status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	n, err := w.ResponseWriter.Write(p)
	w.Sent += int64(n)
	return n, err
}

// WriteString counts the bytes written, without converting s to []byte
// when the underlying writer takes strings.
func (w *Writer) WriteString(s string) (int, error) {
	if w.Status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	n, err := io.WriteString(w.ResponseWriter, s)
	w.Sent += int64(n)
	return n, err
}

// Unwrap returns the underlying ResponseWriter, for http.ResponseController.
func (w *Writer) Unwrap() http.ResponseWriter { return w.ResponseWriter }
