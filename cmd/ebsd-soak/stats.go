package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"sort"
	"strings"
	"sync"
	"syscall"

	"github.com/aws/smithy-go"
)

// The operations a worker performs, in report order.
var opNames = []string{"StartSnapshot", "PutSnapshotBlock", "CompleteSnapshot", "ListSnapshotBlocks", "GetSnapshotBlock", "ListChangedBlocks"}

// stats counts what the workers did. Throttling is counted apart from
// errors: a server may shed load, but may not fail.
type stats struct {
	mu         sync.Mutex
	ops        map[string]int64 // successful calls by operation
	throttled  map[string]int64 // throttled attempts by operation
	errs       map[string]int64 // "operation: type" → count
	mismatches int64
	examples   []string // the first mismatches and errors, for the report
}

const maxExamples = 10

func newStats() *stats {
	return &stats{ops: map[string]int64{}, throttled: map[string]int64{}, errs: map[string]int64{}}
}

func (s *stats) ok(op string) {
	s.mu.Lock()
	s.ops[op]++
	s.mu.Unlock()
}

func (s *stats) throttle(op string) {
	s.mu.Lock()
	s.throttled[op]++
	s.mu.Unlock()
}

func (s *stats) fail(op string, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.errs[op+": "+errorType(err)]++
	s.example(fmt.Sprintf("%s: %v", op, err))
}

// mismatch records a read that disagrees with what was written.
func (s *stats) mismatch(format string, args ...any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mismatches++
	s.example("MISMATCH " + fmt.Sprintf(format, args...))
}

func (s *stats) example(msg string) {
	if len(s.examples) < maxExamples {
		s.examples = append(s.examples, msg)
	}
}

// counters is a consistent copy of the totals.
type counters struct {
	ops, throttled, errors, mismatches int64
	byOp                               map[string]int64
}

func (s *stats) snapshot() counters {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := counters{mismatches: s.mismatches, byOp: map[string]int64{}}
	for op, n := range s.ops {
		c.ops += n
		c.byOp[op] = n
	}
	for _, n := range s.throttled {
		c.throttled += n
	}
	for _, n := range s.errs {
		c.errors += n
	}
	return c
}

// report writes the totals by operation, the errors by type and the first
// examples.
func (s *stats) report(w io.Writer) {
	s.mu.Lock()
	defer s.mu.Unlock()
	fmt.Fprintf(w, "\n%-20s %10s %8s %10s\n", "operation", "ok", "errors", "throttled")
	for _, op := range opNames {
		var errs int64
		for k, n := range s.errs {
			if strings.HasPrefix(k, op+": ") {
				errs += n
			}
		}
		fmt.Fprintf(w, "%-20s %10d %8d %10d\n", op, s.ops[op], errs, s.throttled[op])
	}
	if len(s.errs) > 0 {
		fmt.Fprintln(w, "\nerrors by type:")
		keys := make([]string, 0, len(s.errs))
		for k := range s.errs {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			fmt.Fprintf(w, "  %-60s %d\n", k, s.errs[k])
		}
	}
	fmt.Fprintf(w, "\ndata mismatches: %d\n", s.mismatches)
	for _, e := range s.examples {
		fmt.Fprintf(w, "  %s\n", e)
	}
}

// throttlingCodes are the AWS error codes that mean "slow down".
var throttlingCodes = []string{"ThrottlingException", "RequestThrottledException", "ConcurrentLimitExceededException"}

func isThrottling(err error) bool {
	var ae smithy.APIError
	return errors.As(err, &ae) && slices.Contains(throttlingCodes, ae.ErrorCode())
}

// errorType names the kind of err for counting: the AWS error code, or the
// transport failure.
func errorType(err error) string {
	var ae smithy.APIError
	var ne net.Error
	switch {
	case errors.As(err, &ae):
		return ae.ErrorCode()
	case errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	case errors.Is(err, context.Canceled):
		return "canceled"
	case errors.Is(err, syscall.ECONNRESET):
		return "connection reset"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return "connection closed early"
	case errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	}
	for inner := errors.Unwrap(err); inner != nil; inner = errors.Unwrap(err) {
		err = inner
	}
	return fmt.Sprintf("other (%T)", err)
}
