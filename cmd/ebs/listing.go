package main

import (
	"encoding/json"
	"fmt"
	"io"
)

// Tables of blocks have fixed column widths, so that they stream page by
// page and stay aligned: the largest volume has 9-digit indexes and
// 14-digit offsets.
const (
	lsHeader   = "%-10s  %s\n"
	lsRow      = "%-10d  %d\n"
	diffHeader = "%-10s  %-15s  %-8s  %s\n"
	diffRow    = "%-10d  %-15d  %-8s  %s\n"
)

// jsonStream writes a JSON object whose last member is an array that is
// streamed one element at a time, so that a listing of any size is never
// held in memory.
type jsonStream struct {
	w     io.Writer
	n     int
	err   error
	begun bool
}

// begin writes the object's leading members (name, value pairs) and opens
// the array member named array.
func (s *jsonStream) begin(array string, members ...any) {
	if s.begun {
		return
	}
	s.begun = true
	s.printf("{\n")
	for i := 0; i+1 < len(members); i += 2 {
		s.printf("  %s: %s,\n", s.marshal(members[i]), s.marshal(members[i+1]))
	}
	s.printf("  %s: [", s.marshal(array))
}

// item writes one element of the array.
func (s *jsonStream) item(v any) {
	sep := ","
	if s.n == 0 {
		sep = ""
	}
	s.n++
	s.printf("%s\n    %s", sep, s.marshal(v))
}

// end closes the array and the object, and returns the first error.
func (s *jsonStream) end() error {
	if s.n > 0 {
		s.printf("\n  ")
	}
	s.printf("]\n}\n")
	return s.err
}

func (s *jsonStream) marshal(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil && s.err == nil {
		s.err = err
	}
	return b
}

func (s *jsonStream) printf(format string, args ...any) {
	if s.err != nil {
		return
	}
	_, s.err = fmt.Fprintf(s.w, format, args...)
}
