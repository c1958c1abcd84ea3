package api

import (
	"net/http"

	"github.com/ebsd/ebsd/internal/ebs"
	"github.com/ebsd/ebsd/internal/throttle"
)

// throttleOps maps each operation to its quotas. opUnknown never reaches
// admit: it is not a route.
var throttleOps = [numOperations]throttle.Op{
	opStartSnapshot:      throttle.StartSnapshot,
	opPutSnapshotBlock:   throttle.PutSnapshotBlock,
	opCompleteSnapshot:   throttle.CompleteSnapshot,
	opGetSnapshotBlock:   throttle.GetSnapshotBlock,
	opListSnapshotBlocks: throttle.ListSnapshotBlocks,
	opListChangedBlocks:  throttle.ListChangedBlocks,
}

// Messages of the throttling errors. The per-snapshot one is the model's
// description of RequestThrottledException; the per-account one is what
// AWS's front end says with every ThrottlingException.
const (
	msgSnapshotThrottled = "The number of API requests has exceeded the maximum allowed API request throttling limit for the snapshot."
	msgAccountThrottled  = "Rate exceeded"
)

// admit refuses a request beyond its operation's quotas (spec §7.10),
// with the error AWS sends: RequestThrottledException (400,
// RESOURCE_LEVEL_THROTTLE) for a per-snapshot quota, ThrottlingException
// (400) for a per-account one. Every SDK retries both (spec §5.7). It runs
// right after authentication, before any body is read, so a refused
// PutSnapshotBlock costs no block read, hash or store call.
func (h *Handler) admit(op operation, account string, r *http.Request) error {
	if h.throttle == nil {
		return nil
	}
	scope, ok := h.throttle.Allow(throttleOps[op], account, r.PathValue("snapshotId"))
	if ok {
		return nil
	}
	h.metrics.throttled(op, scope)
	if scope == throttle.Snapshot {
		return ebs.E(op.String(), ebs.KindThrottled, ebs.ReasonResourceLevelThrottle, msgSnapshotThrottled)
	}
	return ebs.E(op.String(), ebs.KindAccountThrottled, "", msgAccountThrottled)
}
