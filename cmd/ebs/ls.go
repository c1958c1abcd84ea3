package main

import (
	"context"
	"fmt"

	"github.com/ebsd/ebsd/internal/client"
)

const lsSummary = `List the written blocks of a completed snapshot (its own and those it
inherits from its parents): the blocks that hold data; the others read as
zeros.

Output: a table (BLOCK, OFFSET in bytes) and a summary line; with --json, an
object {snapshot, volume_size_gib, block_size, blocks: [{index, offset}]}.
Both stream page by page.`

// blockJSON is one element of ebs ls --json.
type blockJSON struct {
	Index  int32 `json:"index"`
	Offset int64 `json:"offset"`
}

func runLs(ctx context.Context, m *Main, args []string) error {
	var g Globals
	var start, limit int
	fs := newFlagSet(m, "ls", "[flags] SNAPSHOT", lsSummary, &g)
	fs.IntVar(&start, "start-block", 0, "first block `index` to list")
	fs.IntVar(&limit, "limit", 0, "list at most `n` blocks (0: all)")
	pos, err := parse(fs, args, 1)
	if err != nil {
		return err
	}
	if start < 0 || start > 1<<31-1 {
		return usagef("--start-block %d is not a block index", start)
	}
	if limit < 0 {
		return usagef("--limit must not be negative")
	}
	id := pos[0]
	c, err := m.client(ctx, &g, nil)
	if err != nil {
		return err
	}
	o := client.ListOptions{StartBlock: int32(start)}
	if limit > 0 && limit < client.MaxPageSize {
		o.PageSize = int32(limit) // no need to list more than asked
	}

	var out *jsonStream
	if g.JSON {
		out = &jsonStream{w: m.Stdout}
	} else {
		fmt.Fprintf(m.Stdout, lsHeader, "BLOCK", "OFFSET")
	}
	var n, volumeSize int64
pages:
	for page, err := range c.ListBlocks(ctx, id, o) {
		if err != nil {
			return err
		}
		volumeSize = page.VolumeSize
		if out != nil {
			out.begin("blocks", "snapshot", id, "volume_size_gib", page.VolumeSize, "block_size", page.BlockSize)
		}
		for _, b := range page.Blocks {
			if limit > 0 && n == int64(limit) {
				break pages
			}
			n++
			off := int64(b.Index) * client.BlockSize
			if out != nil {
				out.item(blockJSON{b.Index, off})
			} else if _, err := fmt.Fprintf(m.Stdout, lsRow, b.Index, off); err != nil {
				return err
			}
		}
	}
	if out != nil {
		return out.end()
	}
	more := ""
	if limit > 0 && n == int64(limit) {
		more = fmt.Sprintf(" (--limit %d: there may be more)", limit)
	}
	_, err = fmt.Fprintf(m.Stdout, "%d blocks (%s) of a %d GiB volume%s\n", n, mib(n*client.BlockSize), volumeSize, more)
	return err
}
