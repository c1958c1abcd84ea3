package api

import (
	"net/http"
	"strconv"

	"github.com/ebsd/ebsd/internal/snapshot"
)

// listSnapshotBlocks serves ListSnapshotBlocks: GET
// /snapshots/{snapshotId}/blocks?pageToken=&maxResults=&startingBlockIndex=,
// 200 with one page of written blocks and their tokens.
func (h *Handler) listSnapshotBlocks(x *exchange, r *http.Request, c Caller) {
	if _, err := readBody(opListSnapshotBlocks, r, c); err != nil {
		h.writeError(x, r, err)
		return
	}
	q, err := parseQuery(opListSnapshotBlocks, r)
	if err != nil {
		h.writeError(x, r, err)
		return
	}
	in := snapshot.ListBlocksInput{
		AccountID:          c.AccountID,
		SnapshotID:         r.PathValue("snapshotId"),
		NextToken:          queryValue(q, qPageToken),
		MaxResults:         queryValue(q, qMaxResults),
		StartingBlockIndex: queryValue(q, qStartingBlockIndex),
	}
	out, err := h.svc.ListSnapshotBlocks(r.Context(), in)
	if err != nil {
		h.writeError(x, r, err)
		return
	}
	writeJSON(x, http.StatusOK, appendListBlocksOutput(nil, out))
}

// appendListBlocksOutput appends the ListSnapshotBlocks response in the
// shape of the real capture (spec §3.5): Blocks is [] rather than null on
// an empty page, NextToken is null (never "") on the last page, and the
// zero ExpiryTime, BlockSize and VolumeSize of an empty page are null.
func appendListBlocksOutput(dst []byte, out *snapshot.ListBlocksOutput) []byte {
	if dst == nil {
		// About 90 bytes per entry with AWS-sized tokens.
		dst = make([]byte, 0, 128+96*len(out.Blocks))
	}
	dst = append(dst, '{')
	dst = appendKey(dst, "BlockSize")
	dst = appendIntOrNull(dst, int64(out.BlockSize))
	dst = appendKey(dst, "Blocks")
	dst = append(dst, '[')
	for i, b := range out.Blocks {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, '{')
		dst = appendKey(dst, "BlockIndex")
		dst = strconv.AppendInt(dst, int64(b.BlockIndex), 10)
		dst = appendKey(dst, "BlockToken")
		dst = appendString(dst, b.BlockToken)
		dst = append(dst, '}')
	}
	dst = append(dst, ']')
	dst = appendKey(dst, "ExpiryTime")
	dst = appendTimestamp(dst, out.ExpiryTime)
	dst = appendKey(dst, "NextToken")
	dst = appendStringOrNull(dst, out.NextToken)
	dst = appendKey(dst, "VolumeSize")
	dst = appendIntOrNull(dst, out.VolumeSize)
	return append(dst, '}')
}
