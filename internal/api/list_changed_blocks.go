package api

import (
	"net/http"
	"strconv"

	"github.com/ebsd/ebsd/internal/snapshot"
)

// listChangedBlocks serves ListChangedBlocks: GET
// /snapshots/{secondSnapshotId}/changedblocks?firstSnapshotId=&pageToken=&maxResults=&startingBlockIndex=,
// 200 with one page of the blocks that differ between the two snapshots.
func (h *Handler) listChangedBlocks(x *exchange, r *http.Request, c Caller) {
	if _, err := readBody(opListChangedBlocks, r, c); err != nil {
		h.writeError(x, r, err)
		return
	}
	q, err := parseQuery(opListChangedBlocks, r)
	if err != nil {
		h.writeError(x, r, err)
		return
	}
	in := snapshot.ListChangedInput{
		AccountID:          c.AccountID,
		SecondSnapshotID:   r.PathValue("secondSnapshotId"),
		FirstSnapshotID:    queryValue(q, qFirstSnapshotID),
		NextToken:          queryValue(q, qPageToken),
		MaxResults:         queryValue(q, qMaxResults),
		StartingBlockIndex: queryValue(q, qStartingBlockIndex),
	}
	out, err := h.svc.ListChangedBlocks(r.Context(), in)
	if err != nil {
		h.writeError(x, r, err)
		return
	}
	writeJSON(x, http.StatusOK, appendListChangedOutput(nil, out))
}

// appendListChangedOutput appends the ListChangedBlocks response in the
// shape of the real capture (spec §3.6, §7.9): a block's token for a side
// it does not exist in is omitted, ChangedBlocks is [] on an empty page
// (which may still carry a NextToken), NextToken is null on the last page,
// and the undocumented "LastEvaluatedBlockIndex" is null, as AWS sends it.
func appendListChangedOutput(dst []byte, out *snapshot.ListChangedOutput) []byte {
	if dst == nil {
		// About 150 bytes per entry with two AWS-sized tokens.
		dst = make([]byte, 0, 160+160*len(out.ChangedBlocks))
	}
	dst = append(dst, '{')
	dst = appendKey(dst, "BlockSize")
	dst = appendIntOrNull(dst, int64(out.BlockSize))
	dst = appendKey(dst, "ChangedBlocks")
	dst = append(dst, '[')
	for i, b := range out.ChangedBlocks {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, '{')
		dst = appendKey(dst, "BlockIndex")
		dst = strconv.AppendInt(dst, int64(b.BlockIndex), 10)
		if b.FirstBlockToken != "" {
			dst = appendKey(dst, "FirstBlockToken")
			dst = appendString(dst, b.FirstBlockToken)
		}
		if b.SecondBlockToken != "" {
			dst = appendKey(dst, "SecondBlockToken")
			dst = appendString(dst, b.SecondBlockToken)
		}
		dst = append(dst, '}')
	}
	dst = append(dst, ']')
	dst = appendKey(dst, "ExpiryTime")
	dst = appendTimestamp(dst, out.ExpiryTime)
	dst = appendKey(dst, "LastEvaluatedBlockIndex")
	dst = appendNull(dst)
	dst = appendKey(dst, "NextToken")
	dst = appendStringOrNull(dst, out.NextToken)
	dst = appendKey(dst, "VolumeSize")
	dst = appendIntOrNull(dst, out.VolumeSize)
	return append(dst, '}')
}
