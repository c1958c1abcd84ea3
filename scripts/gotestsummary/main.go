// Command gotestsummary reads "go test -json" on stdin and prints what plain
// "go test" would (package result lines, and the output of failed tests),
// then every skipped test with its reason, and a last line
// "tests: N passed, N failed, N skipped" that CI reads. It exits 1 when a
// test or a build failed, so that a skip can never hide in a long log.
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
)

// event is the part of a test2json event this command needs.
type event struct {
	Action  string
	Package string
	Test    string
	Output  string
}

type summary struct {
	out                     io.Writer
	passed, failed, skipped int
	failedBuild             bool
	output                  map[string][]string // package + test -> its output lines
	skips                   []string
}

func newSummary(out io.Writer) *summary {
	return &summary{out: out, output: map[string][]string{}}
}

func (s *summary) add(line []byte) {
	var e event
	if err := json.Unmarshal(line, &e); err != nil || e.Action == "" {
		fmt.Fprintf(s.out, "%s\n", line) // not an event: go's own message
		return
	}
	key := e.Package + " " + e.Test
	switch e.Action {
	case "build-output":
		fmt.Fprint(s.out, e.Output)
	case "build-fail":
		s.failedBuild = true
	case "output":
		if e.Test == "" {
			if e.Output != "PASS\n" && !strings.HasPrefix(e.Output, "=== ") {
				fmt.Fprint(s.out, e.Output)
			}
			return
		}
		s.output[key] = append(s.output[key], e.Output)
	case "pass", "skip", "fail":
		if e.Test == "" {
			if e.Action == "fail" {
				s.failedBuild = true
				s.flush(e.Package + " ") // tests that never ended: a panic or a timeout
			}
			return
		}
		switch e.Action {
		case "pass":
			s.passed++
		case "skip":
			s.skipped++
			s.skips = append(s.skips, fmt.Sprintf("%s %s: %s", e.Package, e.Test, reason(s.output[key])))
		case "fail":
			s.failed++
			s.print(s.output[key])
		}
		delete(s.output, key)
	}
}

// flush prints the output of the tests under prefix that never ended.
func (s *summary) flush(prefix string) {
	var keys []string
	for k := range s.output {
		if strings.HasPrefix(k, prefix) {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		s.print(s.output[k])
		delete(s.output, k)
	}
}

func (s *summary) print(lines []string) {
	for _, l := range lines {
		if !strings.HasPrefix(strings.TrimSpace(l), "=== ") {
			fmt.Fprint(s.out, l)
		}
	}
}

// reason is what a skipped test logged, without go test's framing lines.
func reason(lines []string) string {
	var r []string
	for _, l := range lines {
		l = strings.TrimSpace(l)
		if l == "" || strings.HasPrefix(l, "=== ") || strings.HasPrefix(l, "--- SKIP") {
			continue
		}
		r = append(r, l)
	}
	if len(r) == 0 {
		return "(no reason given)"
	}
	return strings.Join(r, " / ")
}

func (s *summary) finish() bool {
	if len(s.skips) > 0 {
		fmt.Fprintf(s.out, "\nSkipped tests (%d):\n", len(s.skips))
		for _, k := range s.skips {
			fmt.Fprintf(s.out, "  %s\n", k)
		}
	}
	fmt.Fprintf(s.out, "tests: %d passed, %d failed, %d skipped\n", s.passed, s.failed, s.skipped)
	return s.failed == 0 && !s.failedBuild
}

func main() {
	s := newSummary(os.Stdout)
	sc := bufio.NewScanner(os.Stdin)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for sc.Scan() {
		s.add(sc.Bytes())
	}
	if err := sc.Err(); err != nil {
		fmt.Fprintf(os.Stderr, "gotestsummary: %v\n", err)
		os.Exit(1)
	}
	if !s.finish() {
		os.Exit(1)
	}
}
