package pebblemeta

import (
	"github.com/cockroachdb/pebble/v2"

	"github.com/ebsd/ebsd/internal/store"
)

// A snapshot record has three secondary indexes, all derived from its
// State and OwnerID alone and written in the same batch as the record:
//
//   - P, by state: for the states that ScanSnapshots must find without
//     reading every record (the pending ones, which the timeout and
//     recovery scans want, and deleted ones, which the collector wants);
//   - O, by owner, of the pending ones: CreateSnapshot's limit counts them;
//   - D, by owner, of every snapshot that is not deleted: ListSnapshots.
//
// Because they are a function of the record, the upgrade rebuilds them
// from the records (upgrade.go), and a change of State or OwnerID only has
// to delete the keys of the old record and set those of the new one.

// stateIndexed reports whether snapshots in state have a P key.
func stateIndexed(state store.State) bool {
	return state.Pending() || state == store.StateDeleted
}

// listed reports whether a snapshot in state has a D key.
func listed(state store.State) bool { return state != store.StateDeleted }

// indexKeys returns the keys of the secondary indexes of rec (whose values
// are all empty).
func indexKeys(rec store.Snapshot) [][]byte {
	var keys [][]byte
	if stateIndexed(rec.State) {
		keys = append(keys, stateKey(rec.State, rec.ID))
	}
	if rec.State.Pending() {
		keys = append(keys, pendingKey(rec.OwnerID, rec.ID))
	}
	if listed(rec.State) {
		keys = append(keys, listKey(rec.OwnerID, rec.ID))
	}
	return keys
}

// setIndexes adds the index keys of rec to b.
func setIndexes(b *pebble.Batch, rec store.Snapshot) {
	for _, k := range indexKeys(rec) {
		_ = b.Set(k, nil, nil)
	}
}

// moveIndexes adds to b what changes rec's index keys from those of was to
// those of is: nothing when neither State nor OwnerID changed. The deletes
// come first, so that a key both records have is set in the end.
func moveIndexes(b *pebble.Batch, was, is store.Snapshot) {
	if was.State == is.State && was.OwnerID == is.OwnerID {
		return
	}
	for _, k := range indexKeys(was) {
		_ = b.Delete(k, nil)
	}
	setIndexes(b, is)
}

// writable reports whether a snapshot in state accepts PutBlock.
func writable(state store.State) bool {
	return state == store.StatePending || state == store.StateCopying
}
