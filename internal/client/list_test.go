package client_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ebs"

	"github.com/ebsd/ebsd/internal/client"
	"github.com/ebsd/ebsd/internal/ebstest"
)

// listed collects what ListBlocks yields.
func listed(t *testing.T, c *client.Client, id string, o client.ListOptions) (indexes []int32, pages int) {
	t.Helper()
	for page, err := range c.ListBlocks(context.Background(), id, o) {
		if err != nil {
			t.Fatalf("ListBlocks: %v", err)
		}
		if page.VolumeSize != 1 || page.BlockSize != client.BlockSize {
			t.Fatalf("page geometry %d GiB, %d bytes", page.VolumeSize, page.BlockSize)
		}
		pages++
		for _, b := range page.Blocks {
			if b.Token == "" {
				t.Fatalf("block %d has no token", b.Index)
			}
			indexes = append(indexes, b.Index)
		}
	}
	return indexes, pages
}

func sortedKeys(m map[int32][]byte, from int32) []int32 {
	var out []int32
	for i := range m {
		if i >= from {
			out = append(out, i)
		}
	}
	slices.Sort(out)
	return out
}

func TestListBlocks(t *testing.T) {
	clock := ebstest.NewClock(time.Now())
	_, api := dlServer(t, ebstest.Options{Clock: clock})
	blocks := dlRandomBlocks(11, 250, 2048, 0)
	id := dlSnapshot(t, api, dlSpec{Blocks: blocks})
	all := sortedKeys(blocks, 0)

	tests := []struct {
		name      string
		o         client.ListOptions
		want      []int32
		wantPages int
	}{
		{"one page", client.ListOptions{}, all, 1},
		{"pages of 100", client.ListOptions{PageSize: 100}, all, 3},
		{"page size raised to the minimum", client.ListOptions{PageSize: 7}, all, 3},
		{"from a block", client.ListOptions{StartBlock: all[120], PageSize: 100}, all[120:], 2},
		{"beyond the last block", client.ListOptions{StartBlock: all[249] + 1}, nil, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, _ := dlClient(t, api, 4, nil)
			got, pages := listed(t, c, id, tc.o)
			if !slices.Equal(got, tc.want) || pages != tc.wantPages {
				t.Errorf("listed %d blocks in %d pages, want %d in %d", len(got), pages, len(tc.want), tc.wantPages)
			}
		})
	}

	t.Run("stops when the loop breaks", func(t *testing.T) {
		h := &hookedAPI{API: api}
		c, _ := dlClient(t, h, 4, nil)
		for page, err := range c.ListBlocks(context.Background(), id, client.ListOptions{PageSize: 100}) {
			if err != nil || len(page.Blocks) != 100 {
				t.Fatalf("page of %d, err %v", len(page.Blocks), err)
			}
			break
		}
		if h.lists.Load() != 1 {
			t.Errorf("%d calls after breaking out of the first page, want 1", h.lists.Load())
		}
	})
	t.Run("page token expires between pages", func(t *testing.T) {
		h := &hookedAPI{API: api}
		c, _ := dlClient(t, h, 4, nil)
		var got []int32
		for page, err := range c.ListBlocks(context.Background(), id, client.ListOptions{PageSize: 100}) {
			if err != nil {
				t.Fatalf("ListBlocks: %v", err)
			}
			for _, b := range page.Blocks {
				got = append(got, b.Index)
			}
			// A slow consumer: page tokens live 60 minutes.
			clock.Advance(61 * time.Minute)
		}
		if !slices.Equal(got, all) {
			t.Errorf("listed %d blocks, want each of %d once, in order", len(got), len(all))
		}
		if h.lists.Load() != 5 { // 3 pages, 2 rejected tokens
			t.Errorf("%d calls, want 5", h.lists.Load())
		}
	})
}

func TestDiff(t *testing.T) {
	_, api := dlServer(t, ebstest.Options{})
	parentBlocks := map[int32][]byte{0: ebstest.Payload("a"), 5: ebstest.Payload("b"), 9: ebstest.Payload("c")}
	parent := dlSnapshot(t, api, dlSpec{Blocks: parentBlocks})
	childOwn := map[int32][]byte{5: ebstest.Payload("a"), 7: ebstest.Payload("b"), 300: ebstest.Payload("c")}
	child := dlSnapshot(t, api, dlSpec{Parent: parent, Blocks: childOwn})

	type row struct {
		index           int32
		inFirst, inSeco bool
	}
	tests := []struct {
		name          string
		first, second string
		o             client.ListOptions
		want          []row
	}{
		{"parent to child", parent, child, client.ListOptions{}, []row{{5, true, true}, {7, false, true}, {300, false, true}}},
		{"child to parent", child, parent, client.ListOptions{}, []row{{5, true, true}, {7, true, false}, {300, true, false}}},
		{"from a block", parent, child, client.ListOptions{StartBlock: 6}, []row{{7, false, true}, {300, false, true}}},
		{"itself", child, child, client.ListOptions{}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, _ := dlClient(t, api, 4, nil)
			var got []row
			for page, err := range c.Diff(context.Background(), tc.first, tc.second, tc.o) {
				if err != nil {
					t.Fatalf("Diff: %v", err)
				}
				if page.VolumeSize != 1 || page.BlockSize != client.BlockSize {
					t.Fatalf("page geometry %d GiB, %d bytes", page.VolumeSize, page.BlockSize)
				}
				for _, b := range page.Blocks {
					got = append(got, row{b.Index, b.InFirst(), b.InSecond()})
				}
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("Diff = %v, want %v", got, tc.want)
			}
		})
	}

	t.Run("empty pages with a next token", func(t *testing.T) {
		// AWS may answer pages with no changed blocks but a NextToken,
		// and without the geometry: keep paging until NextToken is nil.
		h := &hookedAPI{API: api}
		h.changed = func(ctx context.Context, in *ebs.ListChangedBlocksInput) (*ebs.ListChangedBlocksOutput, error) {
			switch aws.ToString(in.NextToken) {
			case "":
				return &ebs.ListChangedBlocksOutput{VolumeSize: aws.Int64(1), BlockSize: aws.Int32(client.BlockSize), NextToken: aws.String("empty1")}, nil
			case "empty1":
				return &ebs.ListChangedBlocksOutput{NextToken: aws.String("empty2")}, nil
			}
			in.NextToken = nil
			return api.ListChangedBlocks(ctx, in)
		}
		c, _ := dlClient(t, h, 4, nil)
		var got []int32
		pages := 0
		for page, err := range c.Diff(context.Background(), parent, child, client.ListOptions{}) {
			if err != nil {
				t.Fatalf("Diff: %v", err)
			}
			pages++
			if page.VolumeSize != 1 {
				t.Errorf("page %d: volume size %d, want the first page's 1", pages, page.VolumeSize)
			}
			for _, b := range page.Blocks {
				got = append(got, b.Index)
			}
		}
		if !slices.Equal(got, []int32{5, 7, 300}) || pages != 3 {
			t.Errorf("Diff = %v in %d pages, want [5 7 300] in 3", got, pages)
		}
	})
}
