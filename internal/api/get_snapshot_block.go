package api

import (
	"log/slog"
	"net/http"

	"github.com/ebsd/ebsd/internal/snapshot"
)

// getSnapshotBlock serves GetSnapshotBlock: GET
// /snapshots/{snapshotId}/blocks/{blockIndex}?blockToken=..., 200 with the
// raw block as the body and its length and checksum in headers.
func (h *Handler) getSnapshotBlock(x *exchange, r *http.Request, c Caller) {
	if _, err := readBody(opGetSnapshotBlock, r, c); err != nil {
		h.writeError(x, r, err)
		return
	}
	q, err := parseQuery(opGetSnapshotBlock, r)
	if err != nil {
		h.writeError(x, r, err)
		return
	}
	in := snapshot.GetBlockInput{
		AccountID:  c.AccountID,
		SnapshotID: r.PathValue("snapshotId"),
		BlockIndex: r.PathValue("blockIndex"),
		BlockToken: queryValue(q, qBlockToken),
	}
	out, err := h.svc.GetSnapshotBlock(r.Context(), in)
	if out != nil && out.Release != nil {
		// Data is the service's pooled buffer: hand it back once written,
		// whether or not the write succeeded.
		defer out.Release()
	}
	if err != nil {
		h.writeError(x, r, err)
		return
	}
	n := itoa(len(out.Data))
	x.setHeader(hdrContentType, contentTypeBinary)
	x.setHeader(hdrContentLength, n)
	x.setHeader(hdrDataLength, n)
	x.setHeader(hdrChecksum, out.Checksum)
	x.setHeader(hdrChecksumAlgorithm, out.ChecksumAlgorithm)
	x.WriteHeader(http.StatusOK)
	if _, err := x.Write(out.Data); err != nil {
		// The status is sent; the client sees a short body and retries.
		h.log.LogAttrs(r.Context(), slog.LevelDebug, "writing block failed",
			slog.String("request_id", x.id), slog.Any("error", err))
		return
	}
	h.metrics.blocksRead.Inc()
}
