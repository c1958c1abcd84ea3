package ec2api

import "github.com/ebsd/ebsd/internal/snapshot"

// deleteSnapshot serves DeleteSnapshot (docs/ec2-api.md §5.2).
func (h *Handler) deleteSnapshot(c *call) ([]byte, error) {
	id := c.form.ptr("SnapshotId")
	if c.dryRun {
		var ids []string
		if id != nil {
			ids = []string{*id}
		}
		return nil, h.dryRun(c, "SnapshotId", ids)
	}
	if err := h.svc.DeleteSnapshot(c.ctx, snapshot.DeleteInput{AccountID: c.account, SnapshotID: id}); err != nil {
		return nil, err
	}
	return ec2Return("DeleteSnapshot", c.id), nil
}
