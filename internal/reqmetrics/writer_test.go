package reqmetrics_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/ebsd/ebsd/internal/reqmetrics"
)

func TestWriter(t *testing.T) {
	tests := []struct {
		name       string
		write      func(w *reqmetrics.Writer)
		wantStatus int
		wantSent   int64
		wantBody   string
	}{
		{"nothing written", func(*reqmetrics.Writer) {}, 0, 0, ""},
		{"a body alone is a 200", func(w *reqmetrics.Writer) { _, _ = w.Write([]byte("hello")) }, 200, 5, "hello"},
		{"a second status is dropped", func(w *reqmetrics.Writer) {
			w.WriteHeader(http.StatusCreated)
			w.WriteHeader(http.StatusInternalServerError)
		}, 201, 0, ""},
		{"Write and WriteString are counted", func(w *reqmetrics.Writer) {
			w.WriteHeader(http.StatusNotFound)
			_, _ = w.Write([]byte("ab"))
			_, _ = io.WriteString(w, "cde")
		}, 404, 5, "abcde"},
	}
	for _, tc := range tests {
		rec := httptest.NewRecorder()
		w := &reqmetrics.Writer{ResponseWriter: rec}
		tc.write(w)
		if w.Status != tc.wantStatus || w.Sent != tc.wantSent || rec.Body.String() != tc.wantBody {
			t.Errorf("%s: status %d sent %d body %q, want %d %d %q", tc.name, w.Status, w.Sent, rec.Body.String(),
				tc.wantStatus, tc.wantSent, tc.wantBody)
		}
		if tc.wantStatus != 0 && rec.Code != tc.wantStatus {
			t.Errorf("%s: the underlying writer got %d, want %d", tc.name, rec.Code, tc.wantStatus)
		}
	}
}

func TestWriterUnwrap(t *testing.T) {
	rec := httptest.NewRecorder()
	w := &reqmetrics.Writer{ResponseWriter: rec}
	if w.Unwrap() != http.ResponseWriter(rec) {
		t.Fatal("Unwrap does not return the underlying writer")
	}
	if _, ok := any(w).(io.StringWriter); !ok {
		t.Fatal("Writer is no io.StringWriter")
	}
}
