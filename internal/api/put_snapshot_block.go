package api

import (
	"net/http"

	"github.com/ebsd/ebsd/internal/snapshot"
)

// putSnapshotBlock serves PutSnapshotBlock: PUT
// /snapshots/{snapshotId}/blocks/{blockIndex} with the raw block as the
// body, 201 with the block's checksum in headers and {} as the body.
func (h *Handler) putSnapshotBlock(x *exchange, r *http.Request, c Caller) {
	in := snapshot.PutBlockInput{
		AccountID:         c.AccountID,
		SnapshotID:        r.PathValue("snapshotId"),
		BlockIndex:        r.PathValue("blockIndex"),
		DataLength:        header(r.Header, hdrDataLength),
		Checksum:          header(r.Header, hdrChecksum),
		ChecksumAlgorithm: header(r.Header, hdrChecksumAlgorithm),
		Progress:          header(r.Header, hdrProgress),
		// Unbuffered: the service reads the block into its pooled buffer
		// and hashes it once, for x-amz-Checksum and PayloadHash alike.
		Body: r.Body,
	}
	d, signed, err := payloadHash(opPutSnapshotBlock, r, c)
	if err != nil {
		h.writeError(x, r, err)
		return
	}
	if signed {
		claimed := d // a copy, so that only a signed put allocates one
		in.PayloadHash = &claimed
	}
	out, err := h.svc.PutSnapshotBlock(r.Context(), in)
	if err != nil {
		h.writeError(x, r, err)
		return
	}
	h.metrics.blocksWritten.Inc()
	x.setHeader(hdrChecksum, out.Checksum)
	x.setHeader(hdrChecksumAlgorithm, out.ChecksumAlgorithm)
	writeJSON(x, http.StatusCreated, emptyObject)
}

// emptyObject is the body of PutSnapshotBlock's response. It is never
// modified.
var emptyObject = []byte("{}")
