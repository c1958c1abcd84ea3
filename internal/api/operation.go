package api

// operation identifies what a request asked for, for metrics, logs and
// errors.
type operation uint8

// The operations, and opUnknown for a request that matches none.
const (
	opUnknown operation = iota
	opStartSnapshot
	opPutSnapshotBlock
	opCompleteSnapshot
	opGetSnapshotBlock
	opListSnapshotBlocks
	opListChangedBlocks
	numOperations
)

var operationNames = [numOperations]string{
	opUnknown:            "Unknown",
	opStartSnapshot:      "StartSnapshot",
	opPutSnapshotBlock:   "PutSnapshotBlock",
	opCompleteSnapshot:   "CompleteSnapshot",
	opGetSnapshotBlock:   "GetSnapshotBlock",
	opListSnapshotBlocks: "ListSnapshotBlocks",
	opListChangedBlocks:  "ListChangedBlocks",
}

// String returns the AWS operation name, or "Unknown".
func (o operation) String() string {
	if o < numOperations {
		return operationNames[o]
	}
	return operationNames[opUnknown]
}
