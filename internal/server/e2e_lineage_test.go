package server_test

import (
	"fmt"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ebs"

	"github.com/ebsd/ebsd/internal/ebstest"
)

func TestLineage(t *testing.T) {
	srv := ebstest.Start(t, ebstest.Options{})
	c := srv.Client(ebstest.Alice)
	chain := []string{}
	want := map[int32][]byte{}
	// Ten generations, each overwriting one block and adding one.
	for gen := int32(0); gen < 10; gen++ {
		in := &ebs.StartSnapshotInput{VolumeSize: aws.Int64(1)}
		if gen > 0 {
			in.ParentSnapshotId = &chain[len(chain)-1]
		}
		id := startSnapshot(t, c, in)
		blocks := map[int32][]byte{0: ebstest.Random(uint64(gen)), 100 + gen: ebstest.Random(uint64(100 + gen))}
		mustPut(t, c, id, blocks)
		complete(t, c, id, 2, "")
		for i, b := range blocks {
			want[i] = b
		}
		chain = append(chain, id)
	}
	last := chain[len(chain)-1]
	sameBlocks(t, readAll(t, c, last), want)

	changed := func(first, second string) map[int32]string {
		got := map[int32]string{}
		p := ebs.NewListChangedBlocksPaginator(c, &ebs.ListChangedBlocksInput{FirstSnapshotId: &first, SecondSnapshotId: &second, MaxResults: aws.Int32(100)})
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				t.Fatalf("ListChangedBlocks: %v", err)
			}
			for _, cb := range page.ChangedBlocks {
				got[*cb.BlockIndex] = fmt.Sprint(cb.FirstBlockToken != nil, cb.SecondBlockToken != nil)
			}
		}
		return got
	}
	// Generation 3 against the last: block 0 changed, blocks 104..109 are new.
	got := changed(chain[3], last)
	wantChanged := map[int32]string{0: "true true"}
	for g := int32(4); g < 10; g++ {
		wantChanged[100+g] = "false true"
	}
	if fmt.Sprint(got) != fmt.Sprint(wantChanged) {
		t.Fatalf("changed(gen 3, gen 9) = %v, want %v", got, wantChanged)
	}
	// Reversed order: the new blocks exist only in the first snapshot.
	got = changed(last, chain[3])
	for g := int32(4); g < 10; g++ {
		wantChanged[100+g] = "true false"
	}
	if fmt.Sprint(got) != fmt.Sprint(wantChanged) {
		t.Fatalf("changed(gen 9, gen 3) = %v, want %v", got, wantChanged)
	}
	if got := changed(last, last); len(got) != 0 {
		t.Fatalf("changed(x, x) = %v, want nothing", got)
	}

	// Tokens from ListChangedBlocks read the right side's content.
	out, err := c.ListChangedBlocks(ctx, &ebs.ListChangedBlocksInput{FirstSnapshotId: &chain[3], SecondSnapshotId: &last})
	if err != nil {
		t.Fatal(err)
	}
	for _, cb := range out.ChangedBlocks {
		if *cb.BlockIndex != 0 {
			continue
		}
		if b := getBlock(t, c, chain[3], 0, *cb.FirstBlockToken); string(b) != string(ebstest.Random(3)) {
			t.Fatal("first block token read the wrong content")
		}
		if b := getBlock(t, c, last, 0, *cb.SecondBlockToken); string(b) != string(ebstest.Random(9)) {
			t.Fatal("second block token read the wrong content")
		}
	}
}
