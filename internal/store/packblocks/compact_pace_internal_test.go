package packblocks

import (
	"context"
	"testing"
	"time"

	"github.com/ebsd/ebsd/internal/store"
)

// fakeClock is a clock whose sleeps advance it.
type fakeClock struct {
	t     time.Time
	slept time.Duration
}

func (c *fakeClock) now() time.Time { return c.t }

func (c *fakeClock) sleep(_ context.Context, d time.Duration) error {
	c.t = c.t.Add(d)
	c.slept += d
	return nil
}

func TestPacer(t *testing.T) {
	const mib = 1 << 20
	tests := []struct {
		name  string
		rate  int64
		busy  bool
		bytes int64         // paced in 512 KiB steps
		gap   time.Duration // clock advance between steps, besides sleeps
		want  time.Duration // total sleep
	}{
		{name: "busy: bytes/rate", rate: 32 * mib, busy: true, bytes: 64 * mib, want: 2 * time.Second},
		{name: "idle: unpaced", rate: 32 * mib, busy: false, bytes: 64 * mib, want: 0},
		{name: "no rate: unpaced", rate: 0, busy: true, bytes: 64 * mib, want: 0},
		// The copy's own time counts toward the budget: a copy slower
		// than the rate is not slowed further.
		{name: "slow copy: no sleep", rate: 32 * mib, busy: true, bytes: 64 * mib, gap: 20 * time.Millisecond, want: 0},
		{name: "half the budget spent copying", rate: 32 * mib, busy: true, bytes: 64 * mib, gap: 8 * time.Millisecond, want: time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &fakeClock{t: time.Unix(1e9, 0)}
			p := newPacer(tt.rate, func() bool { return tt.busy })
			p.now, p.sleep = c.now, c.sleep
			for n := int64(0); n < tt.bytes; n += 512 << 10 {
				if err := p.pace(context.Background(), 512<<10); err != nil {
					t.Fatal(err)
				}
				c.t = c.t.Add(tt.gap)
			}
			if d := c.slept - tt.want; d < -paceCredit-2*tt.gap-10*time.Millisecond || d > 10*time.Millisecond {
				t.Errorf("slept %v, want %v", c.slept, tt.want)
			}
		})
	}
}

// TestPacerForgivesIdle: a pause in the writes forgives the debt, so
// compaction does not make up for it with a long sleep once writes resume.
func TestPacerForgivesIdle(t *testing.T) {
	c := &fakeClock{t: time.Unix(1e9, 0)}
	busy := true
	p := newPacer(1<<20, func() bool { return busy })
	p.now, p.sleep = c.now, c.sleep
	ctx := context.Background()
	p.pace(ctx, 1<<20) // 1 s
	busy = false
	p.pace(ctx, 100<<20)
	busy = true
	c.slept = 0
	p.pace(ctx, 1<<20)
	if c.slept != time.Second {
		t.Errorf("after an idle spell, 1 MiB at 1 MiB/s slept %v, want 1s", c.slept)
	}
}

func TestPacerStopsWithContext(t *testing.T) {
	p := newPacer(1, func() bool { return true })
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := p.pace(ctx, 1<<20); err == nil {
		t.Fatal("pace with a cancelled context and a long wait returned nil")
	}
}

// TestCompactPacedWhileWriting compacts the same garbage twice, once with
// no Put running and once while a Put appends every few milliseconds, at
// a rate that makes the paced copy last at least a second: the first is
// not slowed, the second takes what the rate says.
func TestCompactPacedWhileWriting(t *testing.T) {
	const rate = 1 << 20 // bytes per second
	run := func(t *testing.T, writing bool) (time.Duration, int64) {
		s := openGC(t, Options{Dir: t.TempDir(), PackSize: 256 << 10})
		live := keySet{}
		for seed := range uint64(64) {
			key, data := gcBlock(seed, 32<<10)
			putGC(t, s, key, data)
			if seed%2 == 0 {
				live[key] = true
			}
		}
		stop := make(chan struct{})
		done := make(chan struct{})
		go func() {
			defer close(done)
			for seed := uint64(1000); ; seed++ {
				select {
				case <-stop:
					return
				case <-time.After(5 * time.Millisecond):
				}
				if writing {
					key, data := gcBlock(seed, 4<<10)
					if err := s.Put(t.Context(), key, data); err != nil {
						t.Error(err)
						return
					}
				}
			}
		}()
		defer func() { close(stop); <-done }()
		time.Sleep(50 * time.Millisecond)
		disarm := s.Arm()
		defer disarm()
		if _, err := s.Sweep(t.Context(), live); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		rep, err := s.Compact(t.Context(), store.CompactOptions{MinLive: 0.75, Rate: rate})
		if err != nil {
			t.Fatal(err)
		}
		return time.Since(start), rep.BytesCopied
	}
	idle, copiedIdle := run(t, false)
	busy, copiedBusy := run(t, true)
	t.Logf("idle: %v for %d bytes copied; writing: %v for %d bytes copied", idle, copiedIdle, busy, copiedBusy)
	// The copy reads every byte of its sources and writes the live ones:
	// at least twice what it copied goes through the pacer.
	if min := time.Duration(2*copiedBusy*int64(time.Second)/rate) - paceCredit; busy < min {
		t.Errorf("compaction while writing took %v, want at least %v at %d bytes/s", busy, min, rate)
	}
	if idle > 1500*time.Millisecond {
		t.Errorf("compaction with no Put running took %v: it must not be paced", idle)
	}
}

// TestWritesRunning: a Put in progress counts as writing even when no Put
// appended within busyWindow, as when every uploader waits for a slow
// fdatasync: compaction must stay paced then above all.
func TestWritesRunning(t *testing.T) {
	tests := []struct {
		name       string
		appendedAt time.Duration // before now
		active     int64
		want       bool
	}{
		{"recent append", 10 * time.Millisecond, 0, true},
		{"old append, a Put waiting", time.Second, 1, true},
		{"old append, no Put", time.Second, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var s Store
			s.noteAppend(time.Now().Add(-tt.appendedAt))
			s.putsActive.Store(tt.active)
			if got := s.writesRunning(); got != tt.want {
				t.Errorf("writesRunning() = %v, want %v", got, tt.want)
			}
		})
	}
}
