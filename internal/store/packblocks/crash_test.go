package packblocks_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ebsd/ebsd/internal/store/packblocks"
)

// crashDirEnv, when set, turns TestCrash into the child that writes into
// the store in that directory until it is killed.
const crashDirEnv = "PACKBLOCKS_CRASH_CHILD_DIR"

// crashOptions are the child's options: small packs, so that kills also
// land around rotations.
func crashOptions(dir string) packblocks.Options {
	return packblocks.Options{Dir: dir, PackSize: 4 << 20}
}

// TestCrash runs a child process that Puts blocks from many goroutines and
// prints the seed of each block once Put returned, SIGKILLs it mid-flight,
// then checks that every acknowledged block reads back intact. It kills the
// same store several times, so recovery also runs on recovered stores.
func TestCrash(t *testing.T) {
	if dir := os.Getenv(crashDirEnv); dir != "" {
		crashChild(t, dir)
		return
	}
	if testing.Short() {
		t.Skip("runs child processes")
	}
	dir := t.TempDir()
	var acked []uint64
	for round := range 3 {
		acked = append(acked, crashRound(t, dir, round)...)
		s, err := packblocks.Open(t.Context(), crashOptions(dir))
		if err != nil {
			t.Fatalf("round %d: Open after kill: %v", round, err)
		}
		for _, seed := range acked {
			key, data := seededBlock(seed)
			mustRead(t, s, key, data)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		if t.Failed() {
			return
		}
	}
	t.Logf("%d acknowledged blocks survived 3 kills", len(acked))
}

// crashRound runs the child until it has acknowledged a hundred blocks
// or for 1.5 s, kills it, and returns the seeds it acknowledged.
func crashRound(t *testing.T, dir string, round int) []uint64 {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrash$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashDirEnv+"="+dir, "PACKBLOCKS_CRASH_ROUND="+strconv.Itoa(round))
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	killed := false
	kill := func() {
		if !killed {
			killed = true
			cmd.Process.Kill() // SIGKILL
		}
	}
	defer kill()
	timer := time.AfterFunc(1500*time.Millisecond, kill)
	defer timer.Stop()

	var acked []uint64
	r := bufio.NewReader(out)
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			break // the child died; a line cut short was never an ack
		}
		seed, ok := strings.CutPrefix(strings.TrimSpace(line), "ack ")
		if !ok {
			continue
		}
		n, err := strconv.ParseUint(seed, 10, 64)
		if err != nil {
			t.Fatalf("child printed %q", line)
		}
		acked = append(acked, n)
		if len(acked) == 100 {
			timer.Stop()
			kill()
		}
	}
	err = cmd.Wait()
	if !killed {
		t.Fatalf("round %d: child exited by itself: %v", round, err)
	}
	if len(acked) == 0 {
		t.Fatalf("round %d: child acknowledged nothing", round)
	}
	return acked
}

// crashChild Puts blocks from 16 goroutines until killed, printing
// "ack <seed>" for each one after its Put returned.
func crashChild(t *testing.T, dir string) {
	round, _ := strconv.ParseUint(os.Getenv("PACKBLOCKS_CRASH_ROUND"), 10, 64)
	s, err := packblocks.Open(context.Background(), crashOptions(dir))
	if err != nil {
		t.Fatalf("child: Open: %v", err)
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for g := range uint64(16) {
		wg.Go(func() {
			for i := uint64(0); ; i++ {
				seed := round<<40 | g<<32 | i
				key, data := seededBlock(seed)
				if err := s.Put(context.Background(), key, data); err != nil {
					fmt.Fprintf(os.Stderr, "child: Put: %v\n", err)
					os.Exit(3)
				}
				mu.Lock()
				fmt.Fprintf(os.Stdout, "ack %d\n", seed) // one write(2): a whole line or nothing
				mu.Unlock()
			}
		})
	}
	wg.Wait()
}
