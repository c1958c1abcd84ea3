package pebblemeta

import (
	"errors"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

func TestRateLimit(t *testing.T) {
	r := rateLimit{burst: 2, every: 10 * time.Second}
	t0 := time.Unix(1000, 0)
	for i, tc := range []struct {
		at      time.Duration
		ok      bool
		dropped int
	}{
		{0, true, 0},
		{time.Millisecond, true, 0},
		{2 * time.Millisecond, false, 0},
		{3 * time.Millisecond, false, 0},
		{9 * time.Second, false, 0},
		{10 * time.Second, true, 3}, // one token back, and the count of those refused
		{11 * time.Second, false, 0},
		{time.Hour, true, 1}, // the bucket refills to burst, no more
		{time.Hour, true, 0},
		{time.Hour, false, 0},
	} {
		ok, dropped := r.allow(t0.Add(tc.at))
		if ok != tc.ok || dropped != tc.dropped {
			t.Errorf("event %d at %v: allow = %v, %d; want %v, %d", i, tc.at, ok, dropped, tc.ok, tc.dropped)
		}
	}
}

// TestFatalfEndsTheProcess runs a Fatalf under a recover, as a request
// handler's would be: the process must still die.
func TestFatalfEndsTheProcess(t *testing.T) {
	if os.Getenv("PEBBLEMETA_FATALF") == "1" {
		defer func() {
			recover()
			os.Exit(0)
		}()
		newPebbleLogger(slog.New(slog.NewTextHandler(os.Stderr, nil)), "/d").Fatalf("fatal commit error: %s", "ENOSPC")
		os.Exit(0)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestFatalfEndsTheProcess$")
	cmd.Env = append(os.Environ(), "PEBBLEMETA_FATALF=1")
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 2 || !strings.Contains(string(out), "panic: pebble: fatal commit error: ENOSPC") {
		t.Fatalf("the process went on after Fatalf (%v):\n%s", err, out)
	}
}
