package ec2api

import "github.com/ebsd/ebsd/internal/snapshot"

// dryRun answers a DryRun request of an action that changes snapshots:
// DryRunOperation when the request would have been accepted, as far as
// can be told without changing anything. The form has passed the wire's
// checks; what is left is that every snapshot it names exists and is the
// caller's, which DescribeSnapshots of those IDs answers with the errors
// the action would give (NotFound, Malformed). The service's checks of
// other values (tag lengths, KMS keys) are not run [I].
func (h *Handler) dryRun(c *call, param string, ids []string) error {
	if err := requireList(ids, param); err != nil {
		return err
	}
	if _, err := h.svc.DescribeSnapshots(c.ctx, snapshot.DescribeInput{AccountID: c.account, SnapshotIDs: ids}); err != nil {
		return err
	}
	return errDryRun()
}
