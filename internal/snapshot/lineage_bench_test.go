package snapshot_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/ebsd/ebsd/internal/ebs"
	"github.com/ebsd/ebsd/internal/snapshot"
	"github.com/ebsd/ebsd/internal/store/memstore"
	"github.com/ebsd/ebsd/internal/store/pebblemeta"
)

// BenchmarkLineage shows that reads cost the same at the tip of a deep
// lineage as at a shallow one: ListChangedBlocks between two adjacent
// generations (16 changed blocks), a page of ListSnapshotBlocks, and a
// GetSnapshotBlock, each on a lineage of depth 1 and 64 over a 64 GiB
// volume whose base snapshot holds 10,000 blocks.
//
//	go test -run=^$ -bench=Lineage ./internal/snapshot/
func BenchmarkLineage(b *testing.B) {
	for _, depth := range []int{1, 64} {
		f := newLineage(b, depth)
		b.Run(fmt.Sprintf("ListChangedBlocks/depth=%d", depth), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				out, err := f.svc.ListChangedBlocks(context.Background(), snapshot.ListChangedInput{
					AccountID: account, FirstSnapshotID: &f.chain[depth-1], SecondSnapshotID: f.chain[depth]})
				if err != nil || len(out.ChangedBlocks) != 16 {
					b.Fatalf("%v, %d changed", err, len(out.ChangedBlocks))
				}
			}
		})
		b.Run(fmt.Sprintf("ListSnapshotBlocks-1000/depth=%d", depth), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				out, err := f.svc.ListSnapshotBlocks(context.Background(), snapshot.ListBlocksInput{
					AccountID: account, SnapshotID: f.chain[depth], MaxResults: p("1000")})
				if err != nil || len(out.Blocks) != 1000 {
					b.Fatalf("%v, %d blocks", err, len(out.Blocks))
				}
			}
		})
		b.Run(fmt.Sprintf("GetSnapshotBlock/depth=%d", depth), func(b *testing.B) {
			out, err := f.svc.ListSnapshotBlocks(context.Background(), snapshot.ListBlocksInput{
				AccountID: account, SnapshotID: f.chain[depth], MaxResults: p("100")})
			if err != nil {
				b.Fatal(err)
			}
			blk := out.Blocks[0]
			idx := fmt.Sprint(blk.BlockIndex)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				g, err := f.svc.GetSnapshotBlock(context.Background(), snapshot.GetBlockInput{
					AccountID: account, SnapshotID: f.chain[depth], BlockIndex: idx, BlockToken: &blk.BlockToken})
				if err != nil {
					b.Fatal(err)
				}
				g.Release()
			}
		})
	}
}

type lineage struct {
	svc   *snapshot.Service
	chain []string
}

// newLineage builds base + depth generations. Blocks are zero blocks so
// that building is cheap: the metadata is what is measured.
func newLineage(b *testing.B, depth int) *lineage {
	b.Helper()
	meta, err := pebblemeta.Open(context.Background(), pebblemeta.Options{Dir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { meta.Close() })
	svc, err := snapshot.New(context.Background(), snapshot.Options{Meta: meta, Blocks: memstore.NewBlocks()})
	if err != nil {
		b.Fatal(err)
	}
	f := &fixture{svc: svc}
	l := &lineage{svc: svc}
	zeroBlock := make([]byte, ebs.BlockSize)
	gen := func(parent string, indexes []int) string {
		in := snapshot.StartInput{AccountID: account, VolumeSize: p(int64(64))}
		if parent != "" {
			in.ParentSnapshotID = &parent
		}
		out, err := svc.StartSnapshot(context.Background(), in)
		if err != nil {
			b.Fatal(err)
		}
		for _, i := range indexes {
			if err := f.put(out.SnapshotID, i, zeroBlock); err != nil {
				b.Fatal(err)
			}
		}
		c := snapshot.CompleteInput{AccountID: account, SnapshotID: out.SnapshotID, ChangedBlocksCount: p(fmt.Sprint(len(indexes)))}
		for k := 0; k < 2; k++ {
			if _, err := svc.CompleteSnapshot(context.Background(), c); err != nil {
				b.Fatal(err)
			}
		}
		return out.SnapshotID
	}
	base := make([]int, 10000)
	for i := range base {
		base[i] = i * 13
	}
	l.chain = append(l.chain, gen("", base))
	for g := 1; g <= depth; g++ {
		idx := make([]int, 16)
		for k := range idx {
			idx[k] = (g*16+k)*7 + 1
		}
		l.chain = append(l.chain, gen(l.chain[g-1], idx))
	}
	return l
}
