package main

import (
	"strings"
	"testing"
)

func TestSummary(t *testing.T) {
	const (
		run     = `{"Action":"run","Package":"p","Test":"TestA"}`
		pass    = `{"Action":"pass","Package":"p","Test":"TestA"}`
		ok      = `{"Action":"output","Package":"p","Output":"ok  \tp\t0.1s\n"}`
		skipOut = `{"Action":"output","Package":"p","Test":"TestS","Output":"    s_test.go:9: node is not on PATH\n"}`
		skip    = `{"Action":"skip","Package":"p","Test":"TestS"}`
		failOut = `{"Action":"output","Package":"p","Test":"TestF","Output":"    f_test.go:3: boom\n"}`
		fail    = `{"Action":"fail","Package":"p","Test":"TestF"}`
		hang    = `{"Action":"output","Package":"q","Test":"TestH","Output":"panic: test timed out\n"}`
		pkgFail = `{"Action":"fail","Package":"q"}`
	)
	for _, tc := range []struct {
		name   string
		events []string
		ok     bool
		want   []string // substrings of the output, in order
		reject []string
	}{
		{"pass", []string{run, pass, ok}, true, []string{"ok  \tp", "tests: 1 passed, 0 failed, 0 skipped\n"}, []string{"Skipped"}},
		{"skip reason", []string{skipOut, skip}, true, []string{"Skipped tests (1):\n  p TestS: s_test.go:9: node is not on PATH\n", "0 passed, 0 failed, 1 skipped\n"}, nil},
		{"fail output", []string{pass, failOut, fail}, false, []string{"boom", "1 passed, 1 failed, 0 skipped"}, nil},
		{"package fail flushes", []string{hang, pkgFail}, false, []string{"panic: test timed out", "0 passed, 0 failed"}, nil},
		{"build output", []string{`{"ImportPath":"x","Action":"build-output","Output":"x.go:1: syntax error\n"}`, `{"ImportPath":"x","Action":"build-fail"}`}, false, []string{"syntax error"}, nil},
		{"not json", []string{"go: no packages"}, true, []string{"go: no packages\n"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out strings.Builder
			s := newSummary(&out)
			for _, e := range tc.events {
				s.add([]byte(e))
			}
			if got := s.finish(); got != tc.ok {
				t.Errorf("finish() = %v, want %v", got, tc.ok)
			}
			rest := out.String()
			for _, w := range tc.want {
				i := strings.Index(rest, w)
				if i < 0 {
					t.Fatalf("output lacks %q (in order):\n%s", w, out.String())
				}
				rest = rest[i+len(w):]
			}
			for _, r := range tc.reject {
				if strings.Contains(out.String(), r) {
					t.Errorf("output has %q:\n%s", r, out.String())
				}
			}
			if !strings.HasSuffix(out.String(), " skipped\n") {
				t.Errorf("last line is not the count:\n%s", out.String())
			}
		})
	}
}
