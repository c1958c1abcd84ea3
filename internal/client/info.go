package client

import (
	"context"
	"fmt"
)

// Info describes a readable snapshot.
type Info struct {
	SnapshotID string `json:"snapshot_id"`
	// Status is "completed": the EBS direct APIs read only completed
	// snapshots, so a snapshot Info can describe is always completed.
	Status     string `json:"status"`
	VolumeSize int64  `json:"volume_size_gib"`
	BlockSize  int32  `json:"block_size"`
	// Blocks is how many blocks are written (own and inherited);
	// WrittenBytes is Blocks * BlockSize.
	Blocks       int64 `json:"blocks"`
	WrittenBytes int64 `json:"written_bytes"`
}

// Info describes snapshot id by listing its blocks (one call per 10000
// blocks; the EBS direct APIs have no describe call). For a snapshot that
// is missing, pending or failed it returns an error matching
// ErrNotReadable: the APIs answer 404 for all three alike.
func (c *Client) Info(ctx context.Context, id string) (*Info, error) {
	info := &Info{SnapshotID: id, Status: "completed"}
	for page, err := range c.ListBlocks(ctx, id, ListOptions{}) {
		if err != nil {
			return nil, err
		}
		info.VolumeSize, info.BlockSize = page.VolumeSize, page.BlockSize
		info.Blocks += int64(len(page.Blocks))
	}
	if info.BlockSize == 0 {
		return nil, fmt.Errorf("snapshot %s: the service returned no block size", id)
	}
	info.WrittenBytes = info.Blocks * int64(info.BlockSize)
	return info, nil
}
