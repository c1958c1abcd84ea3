package packblocks_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/ebsd/ebsd/internal/ebs"
	"github.com/ebsd/ebsd/internal/store"
	"github.com/ebsd/ebsd/internal/store/packblocks"
)

// Knobs of TestPowerLoss. The defaults keep it to a few seconds in CI;
// EBSD_CRASH_POINTS=10000 is the long campaign.
const (
	crashPointsEnv     = "EBSD_CRASH_POINTS" // number of crashes to simulate
	crashSeedEnv       = "EBSD_CRASH_SEED"   // repeats a campaign's choices (not its scheduling)
	defaultCrashPoints = 300
	livesPerLineage    = 6 // crashes on one store before a fresh one
	writersPerLife     = 4
	putsPerWriter      = 8
)

// TestPowerLoss crashes a store again and again at random instants and
// checks that every acknowledged block survives. Each lineage is a store on
// a crashable in-memory file system that lives through several process
// lifetimes. In each, concurrent writers Put new blocks and blocks already
// stored or being stored (dedup hits), in small packs that rotate often,
// and a crash comes at a random mutating file-system operation: during
// Open (recovery), right after it, or amid the writes. The crash is a
// power loss (a CrashClone keeping 0, 30, 70 or 100% of what was not
// synced) or a process crash (the next lifetime sees the same files,
// unsynced ones included, which a later power loss may still take). A Put
// counts as acknowledged only if it returned nil before the crash; the
// next lifetime must open without error and read back every acknowledged
// block exactly, and any other block it has must be exact too.
func TestPowerLoss(t *testing.T) {
	points := defaultCrashPoints
	if v := os.Getenv(crashPointsEnv); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			t.Fatalf("%s=%q: want a positive number", crashPointsEnv, v)
		}
		points = n
	}
	seed := uint64(time.Now().UnixNano())
	if v := os.Getenv(crashSeedEnv); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			t.Fatalf("%s=%q: want a number", crashSeedEnv, v)
		}
		seed = n
	}
	start := time.Now()
	var st crashStats
	for id := 0; st.points < points; id++ {
		l := &lineage{
			t:      t,
			id:     id,
			rng:    rand.New(rand.NewPCG(seed, uint64(id))),
			base:   vfs.NewCrashableMem(),
			acked:  make(map[uint64]bool),
			tried:  make(map[uint64]bool),
			budget: 400,
			st:     &st,
		}
		l.run(min(livesPerLineage, points-st.points))
		if t.Failed() {
			t.Logf("%s=%d reproduces the choices of this campaign", crashSeedEnv, seed)
			return
		}
	}
	t.Logf("%d crash points in %v (seed %d): %d power losses (%v by unsynced %%), %d process crashes, %d during Open; "+
		"%d lineages, %d blocks acknowledged and read back after every later crash; recovery logged %d torn tails "+
		"and quarantined %d damaged ranges",
		st.points, time.Since(start).Round(time.Millisecond), seed, st.power, st.byPct, st.kills, st.inOpen,
		st.lineages, st.acked, st.logs.warn.Load(), st.logs.error.Load())
}

// crashStats count what a campaign did.
type crashStats struct {
	points, power, kills, inOpen, lineages, acked int
	byPct                                         map[int]int
	logs                                          levelCounter
}

// levelCounter is a slog.Handler that counts Warn and Error records.
type levelCounter struct{ warn, error atomic.Int64 }

func (c *levelCounter) Enabled(context.Context, slog.Level) bool { return true }
func (c *levelCounter) WithAttrs([]slog.Attr) slog.Handler       { return c }
func (c *levelCounter) WithGroup(string) slog.Handler            { return c }

func (c *levelCounter) Handle(_ context.Context, r slog.Record) error {
	switch {
	case r.Level >= slog.LevelError:
		c.error.Add(1)
	case r.Level >= slog.LevelWarn:
		c.warn.Add(1)
	}
	return nil
}

// lineage is one store living through several crashes.
type lineage struct {
	t      *testing.T
	id     int
	rng    *rand.Rand
	base   *vfs.MemFS      // the files as the next process finds them
	acked  map[uint64]bool // seeds of acknowledged blocks
	tried  map[uint64]bool // seeds of every block Put
	retry  []uint64        // seeds Put but not acknowledged in the last lifetime
	seq    uint64          // blocks drawn so far
	budget int64           // mutating operations of a whole lifetime, about
	opened int64           // mutating operations of the last Open
	st     *crashStats
	lives  []string // what happened to each lifetime so far, for failures
}

// Where the lineages keep their store, and where its Pebble index lives.
const (
	storeDir = "/ebsd"
	indexDir = "/ebsd/index"
)

var unsyncedPercents = []int{0, 30, 70, 100}

func (l *lineage) run(lives int) {
	l.st.lineages++
	for life := range lives {
		l.live(life)
		if l.t.Failed() {
			return
		}
	}
	// A last process, which does not crash, checks everything.
	s, _ := l.open(newProcessFS(l.base, indexDir, 1<<62, func() {}), "final")
	if s == nil {
		return
	}
	l.verify(s, "final")
	if err := s.Close(); err != nil {
		l.t.Errorf("lineage %d: final Close: %v", l.id, err)
	}
	l.st.acked += len(l.acked)
}

// live runs one process lifetime that ends in a crash.
func (l *lineage) live(life int) {
	pct := unsyncedPercents[l.rng.IntN(len(unsyncedPercents))]
	cloneRNG := rand.New(rand.NewPCG(l.rng.Uint64(), l.rng.Uint64()))
	// A quarter of the crashes is aimed at recovery, a quarter at the
	// first writes after it (where a reused pack takes appends), a quarter
	// at a few operations after the creation of a file (before its
	// directory entry is durable), the rest anywhere. Process crashes are
	// likelier right after a file creation and power losses right after a
	// restart: that pair is how a directory entry never synced is lost.
	var crashAt, afterCreate, plus int64
	power := l.rng.IntN(2) == 0
	switch r := l.rng.IntN(4); {
	case r == 0 && l.opened > 0:
		crashAt = 1 + l.rng.Int64N(l.opened)
	case r == 1 && l.opened > 0:
		crashAt = l.opened + 1 + l.rng.Int64N(l.budget/4)
		power = l.rng.IntN(4) > 0
	case r == 2:
		afterCreate, plus = 1+l.rng.Int64N(4), l.rng.Int64N(6)
		power = l.rng.IntN(4) == 0
	default:
		crashAt = 1 + l.rng.Int64N(l.budget)
	}
	what := "process crash"
	if power {
		what = "power loss (" + strconv.Itoa(pct) + "% of unsynced kept)"
	}
	label := "life " + strconv.Itoa(life) + ", " + what + " at operation " + strconv.FormatInt(crashAt, 10)
	if afterCreate > 0 {
		label = fmt.Sprintf("life %d, %s %d operations after creating file %d", life, what, plus, afterCreate)
	}
	work := l.drawWork()

	// acks are the seeds acknowledged before the crash; the crash freezes
	// them and picks the files the next process finds, in one step.
	var mu sync.Mutex
	var acks []uint64
	crashed := false
	next := l.base
	pfs := newProcessFS(l.base, indexDir, crashAt, func() {
		mu.Lock()
		defer mu.Unlock()
		crashed = true
		if power {
			next = l.base.CrashClone(vfs.CrashCloneCfg{UnsyncedDataPercent: pct, RNG: cloneRNG})
		}
	})
	if afterCreate > 0 {
		pfs.crashAfterCreate(afterCreate, plus)
	}
	ack := func(seed uint64) {
		mu.Lock()
		defer mu.Unlock()
		if !crashed {
			acks = append(acks, seed)
		}
	}

	s, inOpen := l.open(pfs, label)
	if s != nil {
		if !inOpen {
			l.opened = pfs.ops.Load()
			l.verify(s, label)
			l.write(s, pfs, work, ack)
		}
		if !pfs.crashed() {
			// A whole lifetime ran: aim later crashes across one.
			l.budget = max(l.budget, pfs.ops.Load())
			pfs.crash()
		}
		s.Close() // the dead process's; what it does no longer matters
	}
	pfs.crash()

	l.st.points++
	if power {
		l.st.power++
		if l.st.byPct == nil {
			l.st.byPct = make(map[int]int)
		}
		l.st.byPct[pct]++
	} else {
		l.st.kills++
	}
	if inOpen {
		l.st.inOpen++
	}
	l.lives = append(l.lives, label)
	l.base = next
	for _, seed := range acks {
		l.acked[seed] = true
	}
	l.retry = l.retry[:0]
	for _, w := range work {
		for _, seed := range w {
			l.tried[seed] = true
			if !l.acked[seed] && !slices.Contains(l.retry, seed) {
				l.retry = append(l.retry, seed)
			}
		}
	}
}

// explain logs the lineage's history and files, once it failed.
func (l *lineage) explain() {
	l.t.Logf("lineage %d so far:\n\t%s\nfiles:\n%s", l.id, strings.Join(l.lives, "\n\t"), l.base.String())
}

// open opens the lineage's store on pfs. A process that crashes during
// Open may fail to open; one that does not must open.
func (l *lineage) open(pfs *processFS, label string) (s *packblocks.Store, crashedInOpen bool) {
	s, err := packblocks.Open(context.Background(), packblocks.Options{
		Dir:          storeDir,
		FS:           pfs,
		Logger:       slog.New(&l.st.logs),
		PackSize:     16 << 10,
		MaxOpenFiles: 4,
	})
	crashedInOpen = pfs.crashed()
	if err != nil && !crashedInOpen {
		l.t.Errorf("lineage %d, %s: Open after the previous crash: %v", l.id, label, err)
		l.explain()
	}
	return s, crashedInOpen
}

// drawWork returns the seeds each writer Puts. Writers first retry the
// Puts that the last crash interrupted, as clients do, then Put mostly new
// blocks, some acknowledged before (dedup hits) and some that other
// writers Put too.
func (l *lineage) drawWork() [][]uint64 {
	old := slices.Sorted(maps.Keys(l.acked))
	hot := []uint64{l.newSeed(), l.newSeed()}
	work := make([][]uint64, writersPerLife)
	for i, seed := range l.retry {
		work[i%len(work)] = append(work[i%len(work)], seed)
	}
	for w := range work {
		for range putsPerWriter {
			var seed uint64
			switch r := l.rng.IntN(10); {
			case r < 2 && len(old) > 0:
				seed = old[l.rng.IntN(len(old))]
			case r < 3:
				seed = hot[l.rng.IntN(len(hot))]
			default:
				seed = l.newSeed()
			}
			work[w] = append(work[w], seed)
		}
	}
	return work
}

func (l *lineage) newSeed() uint64 {
	l.seq++
	return uint64(l.id)<<32 | l.seq
}

// write runs the writers until they are done or the process crashed.
func (l *lineage) write(s *packblocks.Store, pfs *processFS, work [][]uint64, ack func(uint64)) {
	var wg sync.WaitGroup
	for _, seeds := range work {
		wg.Go(func() {
			for _, seed := range seeds {
				if pfs.crashed() {
					return
				}
				key, data := smallBlock(seed)
				if err := s.Put(context.Background(), key, data); err != nil {
					if !pfs.crashed() {
						l.t.Errorf("lineage %d: Put: %v", l.id, err)
					}
					return
				}
				ack(seed)
			}
		})
	}
	wg.Wait()
}

// verify checks that every acknowledged block reads back exactly, and that
// any other block Put reads back exactly or not at all.
func (l *lineage) verify(s *packblocks.Store, label string) {
	defer func() {
		if l.t.Failed() {
			l.explain()
		}
	}()
	for seed := range l.tried {
		key, want := smallBlock(seed)
		got, err := s.Get(context.Background(), key, nil)
		switch {
		case err == nil && !bytes.Equal(got, want):
			l.t.Errorf("lineage %d, %s: block %d reads back as %d other bytes", l.id, label, seed, len(got))
		case err != nil && (l.acked[seed] || !errors.Is(err, store.ErrNotFound)):
			l.t.Errorf("lineage %d, %s: block %d (acknowledged: %v): %v", l.id, label, seed, l.acked[seed], err)
		}
	}
}

// smallBlock returns the block of a seed: 1 byte to 6 KiB, so that entries
// straddle the in-memory file system's 4 KiB units of loss and many fit in
// a small pack.
func smallBlock(seed uint64) (ebs.Digest, []byte) {
	var s [32]byte
	binary.LittleEndian.PutUint64(s[:], seed)
	binary.LittleEndian.PutUint64(s[8:], 0x5eed)
	rng := rand.NewChaCha8(s)
	data := make([]byte, 1+rng.Uint64()%(6<<10))
	rng.Read(data)
	return ebs.Sum(data), data
}
