package main

import (
	"bytes"
	"encoding/json"
	"io"
	"sync"
	"time"
)

// Messages of the collection's log lines (-log-format json) that the
// benchmark reads: internal/gc's end of a collection and packblocks' sweep
// and compaction.
const (
	msgGCDone    = "garbage collection done"
	msgGCFailed  = "garbage collection failed"
	msgSweep     = "packblocks: sweep"
	msgCompact   = "packblocks: compaction"
	msgCompactNo = "packblocks: compaction stopped"
)

// logRecord is one JSON log line of the server, and when it was read.
type logRecord struct {
	at     time.Time
	fields map[string]any
}

func (r logRecord) msg() string { s, _ := r.fields["msg"].(string); return s }

// num returns a numeric field (slog's JSON handler writes a
// time.Duration as integer nanoseconds), or 0.
func (r logRecord) num(key string) float64 { f, _ := r.fields[key].(float64); return f }

func (r logRecord) duration(key string) time.Duration { return time.Duration(r.num(key)) }

// logWatch is the server's stderr: it keeps the collection's log lines,
// tells done about the end of each collection, and passes warnings,
// errors and anything not JSON on to out.
type logWatch struct {
	out  io.Writer
	done chan logRecord // the end of a collection, done or failed

	mu      sync.Mutex
	partial []byte
	records []logRecord
}

func newLogWatch(out io.Writer) *logWatch {
	return &logWatch{out: out, done: make(chan logRecord, 16)}
}

func (w *logWatch) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	now := time.Now()
	w.partial = append(w.partial, p...)
	for {
		i := bytes.IndexByte(w.partial, '\n')
		if i < 0 {
			break
		}
		line := w.partial[:i+1]
		w.partial = w.partial[i+1:]
		w.line(now, line)
	}
	return len(p), nil
}

func (w *logWatch) line(now time.Time, line []byte) {
	var f map[string]any
	if err := json.Unmarshal(line, &f); err != nil {
		_, _ = w.out.Write(line)
		return
	}
	rec := logRecord{at: now, fields: f}
	if lvl, _ := f["level"].(string); lvl == "WARN" || lvl == "ERROR" {
		_, _ = w.out.Write(line)
	}
	switch rec.msg() {
	case msgGCDone, msgGCFailed:
		w.records = append(w.records, rec)
		select {
		case w.done <- rec:
		default:
		}
	case msgSweep, msgCompact, msgCompactNo:
		w.records = append(w.records, rec)
	}
}

// last returns the last record with message msg read before end, or false.
func (w *logWatch) last(msg string, end time.Time) (logRecord, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for i := len(w.records) - 1; i >= 0; i-- {
		if r := w.records[i]; r.msg() == msg && !r.at.After(end) {
			return r, true
		}
	}
	return logRecord{}, false
}
