package api

import (
	"net/http"

	"github.com/ebsd/ebsd/internal/snapshot"
)

// completeSnapshot serves CompleteSnapshot: POST
// /snapshots/completion/{snapshotId} with the changed-block count and the
// optional aggregate checksum in headers, 202 {"Status":...}.
func (h *Handler) completeSnapshot(x *exchange, r *http.Request, c Caller) {
	if _, err := readBody(opCompleteSnapshot, r, c); err != nil {
		h.writeError(x, r, err)
		return
	}
	in := snapshot.CompleteInput{
		AccountID:                 c.AccountID,
		SnapshotID:                r.PathValue("snapshotId"),
		ChangedBlocksCount:        header(r.Header, hdrChangedBlocksCount),
		Checksum:                  header(r.Header, hdrChecksum),
		ChecksumAlgorithm:         header(r.Header, hdrChecksumAlgorithm),
		ChecksumAggregationMethod: header(r.Header, hdrAggregationMethod),
	}
	out, err := h.svc.CompleteSnapshot(r.Context(), in)
	if err != nil {
		h.writeError(x, r, err)
		return
	}
	body := append([]byte(nil), '{')
	body = appendKey(body, "Status")
	body = appendStringOrNull(body, string(out.Status))
	body = append(body, '}')
	writeJSON(x, http.StatusAccepted, body)
}
