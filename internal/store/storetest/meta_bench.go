package storetest

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ebsd/ebsd/internal/store"
)

// Benchmark geometry: a 512 GiB volume (1M blocks), a lineage of
// metaBenchDepth snapshots, each of which wrote metaBenchWrites random
// blocks, read a page of metaBenchPage blocks at a time.
const (
	metaBenchBlocks = 1 << 20
	metaBenchDepth  = 50
	metaBenchWrites = 1000
	metaBenchPage   = 1000
)

// RunMetaStoreBenchmarks runs the MetaStore benchmarks on fresh harnesses
// from mk:
//
//   - PutBlock/goroutines=N: synced PutBlocks into one snapshot from N
//     goroutines at once, reported as ops/s as well;
//   - ViewBlocks/chain=N and ResolveBlocks/chain=N: a page of ViewBlocks,
//     and ResolveBlocks of metaBenchPage indexes, through chains of N of the
//     metaBenchDepth snapshots of one lineage. Time should not grow with N.
func RunMetaStoreBenchmarks(b *testing.B, mk MetaHarnessMaker) {
	b.Run("PutBlock", func(b *testing.B) {
		for _, g := range []int{1, 64} {
			b.Run(fmt.Sprintf("goroutines=%d", g), func(b *testing.B) { benchMetaPutBlock(b, mk, g) })
		}
	})
	b.Run("Lineage", func(b *testing.B) {
		env := metaOpenEnv(b, mk)
		chain, written := metaBenchLineage(b, env)
		chains := []int{1, 2, 10, metaBenchDepth}

		for _, n := range chains {
			b.Run(fmt.Sprintf("ViewBlocks/chain=%d", n), func(b *testing.B) {
				c := chain[len(chain)-n:]
				for b.Loop() {
					page, err := env.ms.ViewBlocks(env.ctx, c, 0, metaBenchPage)
					if err != nil || len(page) == 0 {
						b.Fatalf("ViewBlocks = %d blocks, %v", len(page), err)
					}
				}
			})
		}

		// Half the indexes were written somewhere in the lineage, half are
		// random (and mostly never written).
		rng := rand.New(rand.NewPCG(3, 4))
		set := map[int32]bool{}
		for len(set) < metaBenchPage/2 {
			set[written[rng.IntN(len(written))]] = true
		}
		for len(set) < metaBenchPage {
			set[rng.Int32N(metaBenchBlocks)] = true
		}
		var indexes []int32
		for i := range set {
			indexes = append(indexes, i)
		}
		slices.Sort(indexes)
		for _, n := range chains {
			b.Run(fmt.Sprintf("ResolveBlocks/chain=%d", n), func(b *testing.B) {
				c := chain[len(chain)-n:]
				for b.Loop() {
					if _, _, err := env.ms.ResolveBlocks(env.ctx, c, indexes); err != nil {
						b.Fatalf("ResolveBlocks: %v", err)
					}
				}
			})
		}
	})
}

func benchMetaPutBlock(b *testing.B, mk MetaHarnessMaker, goroutines int) {
	env := metaOpenEnv(b, mk)
	s := metaRoot(metaID(1), store.StatePending)
	metaCreate(b, env, s)
	ref := metaRef("bench", 0)
	var next atomic.Int64
	var wg sync.WaitGroup
	b.ResetTimer()
	for range goroutines {
		wg.Go(func() {
			for {
				i := next.Add(1) - 1
				if i >= int64(b.N) {
					return
				}
				if err := env.ms.PutBlock(env.ctx, s.ID, int32(i%metaBenchBlocks), ref, time.Now()); err != nil {
					b.Errorf("PutBlock: %v", err)
					return
				}
			}
		})
	}
	wg.Wait()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
}

// metaBenchLineage builds a lineage of metaBenchDepth snapshots, writing
// metaBenchWrites random blocks in each with 64 goroutines, and returns its
// deepest chain, nearest first, and every index written.
func metaBenchLineage(b *testing.B, env *metaEnv) (chain []string, written []int32) {
	b.Helper()
	rng := rand.New(rand.NewPCG(1, 2))
	var parent store.Snapshot
	for level := range metaBenchDepth {
		s := metaRoot(metaID(level), store.StatePending)
		if level > 0 {
			s = metaChild(s.ID, parent, store.StatePending)
		}
		metaCreate(b, env, s)
		indexes := make(chan int32)
		var wg sync.WaitGroup
		for range 64 {
			wg.Go(func() {
				for i := range indexes {
					if err := env.ms.PutBlock(env.ctx, s.ID, i, metaRef(s.ID, i), time.Now()); err != nil {
						b.Errorf("PutBlock: %v", err)
					}
				}
			})
		}
		for range metaBenchWrites {
			i := rng.Int32N(metaBenchBlocks)
			written = append(written, i)
			indexes <- i
		}
		close(indexes)
		wg.Wait()
		metaSetState(b, env, s.ID, store.StateCompleted)
		chain = append([]string{s.ID}, chain...)
		parent = s
	}
	return chain, written
}
