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

// Knobs of TestPowerLoss. The defaults keep it to a few seconds in CI (a
// third of the crashes under the race detector); EBSD_CRASH_POINTS=10000
// is the long campaign.
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
//
// Garbage collection runs in half of the lifetimes, beside the writers
// (docs/gc.md T7): each lifetime first drops some blocks from the model's
// references (snapshots deleted), then a collector arms the store, sweeps
// with the blocks the model references (and those being Put, which a real
// collector's fence covers) as the live set, and compacts every complete
// pack (MinLive 1), once or twice; in half of those lifetimes the crash
// is aimed a few operations into the compaction. After every Open, every
// acknowledged block still referenced must read back exactly, no index
// entry may name a missing pack, and no compaction intent or retired
// marker may be left. The last process of a lineage collects twice with
// no writer: after that the index holds exactly the referenced blocks and
// the packs no dead byte outside the active pack.
func TestPowerLoss(t *testing.T) {
	points := defaultCrashPoints
	if raceEnabled {
		points /= 3
	}
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
			refd:   make(map[uint64]bool),
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
	t.Logf("%d crash points in %v (seed %d): %d power losses (%v by unsynced %%), %d process crashes, %d during Open, "+
		"%d during a compaction; %d lineages, %d blocks acknowledged, %d still referenced at the end and read back after "+
		"every later crash; %d collections (%d aimed at), %d keys swept, %d packs compacted away; "+
		"%d Warn and %d Error records logged (torn tails, damage quarantined)",
		st.points, time.Since(start).Round(time.Millisecond), seed, st.power, st.byPct, st.kills, st.inOpen,
		st.inCompaction, st.lineages, st.acked, st.refd, st.collections, st.aimed, st.swept, st.packsRemoved,
		st.logs.warn.Load(), st.logs.error.Load())
}

// crashStats count what a campaign did.
type crashStats struct {
	points, power, kills, inOpen, lineages, acked, refd int
	byPct                                               map[int]int
	logs                                                levelCounter

	collections, aimed, inCompaction, packsRemoved int
	swept                                          int64
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
	refd   map[uint64]bool // seeds of acknowledged blocks still referenced: they must read back
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
	// A last process, which does not crash, checks everything, collects
	// twice (the first may salvage dead entries after damage, which the
	// second then sweeps), and checks that nothing dead is left.
	pfs := newProcessFS(l.base, indexDir, 1<<62, func() {})
	s, _ := l.open(pfs, "final")
	if s == nil {
		return
	}
	l.verify(s, "final")
	for range 2 {
		l.collect(s, pfs, func() keySet { return l.liveSet(nil) }, 0, nil)
	}
	if got := s.Stats().Blocks; got != int64(len(l.refd)) {
		l.t.Errorf("lineage %d: %d blocks indexed after two collections, want the %d referenced", l.id, got, len(l.refd))
	}
	if dead, err := packblocks.DeadBytes(s); err != nil || dead != 0 {
		l.t.Errorf("lineage %d: %d dead bytes (%v) in the packs after two collections, want 0", l.id, dead, err)
	}
	l.verify(s, "final, collected")
	if err := s.Close(); err != nil {
		l.t.Errorf("lineage %d: final Close: %v", l.id, err)
	}
	if s, _ = l.open(newProcessFS(l.base, indexDir, 1<<62, func() {}), "final, reopened"); s != nil {
		l.verify(s, "final, reopened")
		s.Close()
	}
	l.st.acked += len(l.acked)
	l.st.refd += len(l.refd)
}

// liveSet returns the keys of the referenced seeds and of those being Put
// (inflight): what a collector's mark and fence keep.
func (l *lineage) liveSet(inflight map[uint64]int) keySet {
	live := make(keySet, len(l.refd)+len(inflight))
	for seed := range l.refd {
		key, _ := smallBlock(seed)
		live[key] = true
	}
	for seed, n := range inflight {
		if n > 0 {
			key, _ := smallBlock(seed)
			live[key] = true
		}
	}
	return live
}

// keySet is a store.LiveSet.
type keySet map[ebs.Digest]bool

func (k keySet) Has(key ebs.Digest) bool { return k[key] }

// collect runs one collection on s: Arm, then live() (taken after Arm, as
// a real collector marks after it fenced), Sweep, Compact of every
// complete pack. With aim > 0 the crash is moved to aim operations into
// the compaction, unless it comes sooner anyway. compacting, if not nil,
// is set while Compact runs. It reports whether the collection ran to its
// end.
func (l *lineage) collect(s *packblocks.Store, pfs *processFS, live func() keySet, aim int64, compacting *atomic.Bool) bool {
	disarm := s.Arm()
	defer disarm()
	rep, err := s.Sweep(context.Background(), live())
	if err != nil {
		if !pfs.crashed() {
			l.t.Errorf("lineage %d: Sweep: %v", l.id, err)
		}
		return false
	}
	if aim > 0 {
		if at := pfs.ops.Load() + aim; at < pfs.crashAt.Load() {
			pfs.crashAt.Store(at)
		}
	}
	if compacting != nil {
		compacting.Store(true)
		defer compacting.Store(false)
	}
	crep, err := s.Compact(context.Background(), store.CompactOptions{MinLive: 1})
	if err != nil {
		if !pfs.crashed() {
			l.t.Errorf("lineage %d: Compact: %v", l.id, err)
		}
		return false
	}
	l.st.collections++
	l.st.swept += rep.Swept
	l.st.packsRemoved += crep.PacksRemoved
	return true
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
	// Snapshots deleted: a third of the references go.
	for _, seed := range slices.Sorted(maps.Keys(l.refd)) {
		if l.rng.IntN(3) == 0 {
			delete(l.refd, seed)
		}
	}
	// Half of the lifetimes collect beside the writers, once or twice; in
	// half of those the crash is aimed into the first compaction.
	collections, aim := 0, int64(0)
	if l.rng.IntN(2) == 0 {
		collections = 1 + l.rng.IntN(2)
		if l.rng.IntN(2) == 0 {
			aim = 1 + l.rng.Int64N(80)
			label += fmt.Sprintf(", or %d operations into a compaction", aim)
		}
	}
	if collections > 0 {
		label += fmt.Sprintf(", %d collections", collections)
	}

	// The seeds acknowledged before the crash, and so referenced, and the
	// seeds being Put: the crash freezes them and picks the files the next
	// process finds, in one step.
	var mu sync.Mutex
	inflight := make(map[uint64]int)
	crashed := false
	var compacting atomic.Bool
	next := l.base
	pfs := newProcessFS(l.base, indexDir, crashAt, func() {
		mu.Lock()
		defer mu.Unlock()
		crashed = true
		if compacting.Load() {
			l.st.inCompaction++
		}
		if power {
			next = l.base.CrashClone(vfs.CrashCloneCfg{UnsyncedDataPercent: pct, RNG: cloneRNG})
		}
	})
	if afterCreate > 0 {
		pfs.crashAfterCreate(afterCreate, plus)
	}
	begin := func(seed uint64) {
		mu.Lock()
		defer mu.Unlock()
		inflight[seed]++
	}
	ack := func(seed uint64, ok bool) {
		mu.Lock()
		defer mu.Unlock()
		inflight[seed]--
		if ok && !crashed {
			l.acked[seed] = true
			l.refd[seed] = true
		}
	}
	collector := func(s *packblocks.Store) {
		for i := range collections {
			if pfs.crashed() {
				return
			}
			live := func() keySet {
				mu.Lock()
				defer mu.Unlock()
				return l.liveSet(inflight)
			}
			a := aim
			if i > 0 {
				a = 0
			} else if a > 0 {
				l.st.aimed++
			}
			if !l.collect(s, pfs, live, a, &compacting) {
				return
			}
		}
	}

	s, inOpen := l.open(pfs, label)
	if s != nil {
		if !inOpen {
			l.opened = pfs.ops.Load()
			l.verify(s, label)
			l.write(s, pfs, work, begin, ack, collector)
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
	// smallBlock's odd seeds compress: every other lineage compresses
	// them as they are written, the others in compactions.
	compression := packblocks.CompressionZstdOnWrite
	if l.id%2 == 1 {
		compression = packblocks.CompressionZstd
	}
	s, err := packblocks.Open(context.Background(), packblocks.Options{
		Dir:          storeDir,
		FS:           pfs,
		Logger:       slog.New(&l.st.logs),
		PackSize:     16 << 10,
		MaxOpenFiles: 4,
		Compression:  compression,
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

// write runs the writers, and the collector beside them, until they are
// done or the process crashed. begin and ack bracket each Put.
func (l *lineage) write(s *packblocks.Store, pfs *processFS, work [][]uint64, begin func(uint64), ack func(uint64, bool), collector func(*packblocks.Store)) {
	var wg sync.WaitGroup
	wg.Go(func() { collector(s) })
	for _, seeds := range work {
		wg.Go(func() {
			for _, seed := range seeds {
				if pfs.crashed() {
					return
				}
				key, data := smallBlock(seed)
				begin(seed)
				err := s.Put(context.Background(), key, data)
				ack(seed, err == nil)
				if err != nil {
					if !pfs.crashed() {
						l.t.Errorf("lineage %d: Put: %v", l.id, err)
					}
					return
				}
			}
		})
	}
	wg.Wait()
}

// verify checks that every acknowledged block still referenced reads back
// exactly, that any other block Put reads back exactly or not at all, and
// that the index names no missing pack and holds no leftover of a
// compaction.
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
		case err != nil && (l.refd[seed] || !errors.Is(err, store.ErrNotFound)):
			l.t.Errorf("lineage %d, %s: block %d (acknowledged: %v, referenced: %v): %v", l.id, label, seed, l.acked[seed], l.refd[seed], err)
		}
	}
	if err := packblocks.CheckIndex(s); err != nil {
		l.t.Errorf("lineage %d, %s: index: %v", l.id, label, err)
	}
}

// smallBlock returns the block of a seed: 1 byte to 6 KiB, so that entries
// straddle the in-memory file system's 4 KiB units of loss and many fit in
// a small pack. Odd seeds repeat their first bytes over their second
// half, so that the store compresses them: entries of both codecs.
func smallBlock(seed uint64) (ebs.Digest, []byte) {
	var s [32]byte
	binary.LittleEndian.PutUint64(s[:], seed)
	binary.LittleEndian.PutUint64(s[8:], 0x5eed)
	rng := rand.NewChaCha8(s)
	data := make([]byte, 1+rng.Uint64()%(6<<10))
	rng.Read(data)
	if seed%2 == 1 && len(data) >= 32 {
		for i := len(data) / 2; i < len(data); i += 16 {
			copy(data[i:], data[:16])
		}
	}
	return ebs.Sum(data), data
}
