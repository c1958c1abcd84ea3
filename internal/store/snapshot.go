package store

import (
	"time"

	"github.com/ebsd/ebsd/internal/ebs"
)

// State is the lifecycle state of a snapshot as stored. It is finer than the
// wire Status: StateCompleting is reported as "pending".
type State uint8

// The states of a snapshot. Do not reorder: the values are persisted.
const (
	StatePending    State = iota + 1 // accepts PutBlock
	StateCompleting                  // CompleteSnapshot accepted; being verified; no more writes
	StateCompleted                   // sealed and readable
	StateError                       // failed: timed out, or count/checksum mismatch
	// StateDeleted is a tombstone: DeleteSnapshot ran. The snapshot is gone
	// from every API, but its record and block mappings stay while a
	// descendant reads through them; the collector purges it afterwards
	// (docs/gc.md §3.2, §3.3). It is terminal: nothing leaves it.
	StateDeleted
	// StateCopying is a CopySnapshot that must re-seal every block (a plain
	// source copied encrypted) while its copy job runs; on the wire it is
	// "pending". It accepts PutBlock, from the copy job only, and counts
	// against the owner's pending limit.
	StateCopying
)

// Status returns the wire status of s.
func (s State) Status() ebs.Status {
	switch s {
	case StateCompleted:
		return ebs.StatusCompleted
	case StateError:
		return ebs.StatusError
	default:
		return ebs.StatusPending
	}
}

// Pending reports whether a snapshot in state s is pending on the wire
// (not yet completed or failed), and so counts against its owner's limit
// of pending snapshots.
func (s State) Pending() bool {
	return s == StatePending || s == StateCompleting || s == StateCopying
}

func (s State) String() string {
	switch s {
	case StatePending:
		return "pending"
	case StateCompleting:
		return "completing"
	case StateCompleted:
		return "completed"
	case StateError:
		return "error"
	case StateDeleted:
		return "deleted"
	case StateCopying:
		return "copying"
	}
	return "unknown"
}

// Snapshot is the stored record of one snapshot. Backends persist every field
// and give it back unchanged, except LastActivity, which is theirs to keep;
// they interpret only ID, OwnerID (for the limit of pending snapshots) and
// State.
type Snapshot struct {
	ID           string // "snap-" + 17 lowercase hex digits
	OwnerID      string // the 12-digit account that started it
	State        State
	StateMessage string // why the snapshot is in StateError

	VolumeSize  int64 // GiB
	Description string
	Tags        []ebs.Tag
	ClientToken string

	// Lineage. Chain of a snapshot = itself, its parent, grandparent, ...
	// up to the root; Depth is its length minus one.
	ParentID string
	RootID   string // the oldest ancestor; the snapshot's own ID when it has no parent
	Depth    int

	StartTime    time.Time
	Timeout      time.Duration // idle timeout of a pending snapshot
	CompleteTime time.Time     // when it entered StateCompleted or StateError
	DeleteTime   time.Time     // when it entered StateDeleted

	// CopySourceID is the snapshot this one is a CopySnapshot of, "" for
	// a snapshot made by StartSnapshot. A copy that shares its source's
	// data key is a lineage child of it (ParentID = CopySourceID) with no
	// blocks of its own (docs/gc.md §3.7).
	CopySourceID string

	// FullBlocks is the number of written blocks in the snapshot's view
	// (its own and inherited ones), known once it is completed: EC2's
	// FullSnapshotSizeInBytes is FullBlocks × 512 KiB.
	FullBlocks int64

	// LastActivity is the time of the last PutBlock on the snapshot, the
	// zero time when it has none. The store keeps it: PutBlock sets it,
	// every record the store returns carries it, and CreateSnapshot and
	// UpdateSnapshot ignore what the caller put there.
	LastActivity time.Time

	// What CompleteSnapshot asked for, checked while StateCompleting.
	ExpectedBlocks   int64
	ExpectedChecksum string // Base64 LINEAR aggregate, "" when not given

	// Encryption. WrappedKey is the snapshot's data key, sealed by the master
	// key named KMSKeyARN. Children of an encrypted parent share its data key.
	Encrypted  bool
	KMSKeyARN  string
	WrappedKey []byte
}

// BlockRef says where one written block is and what it contains.
type BlockRef struct {
	// Digest is the SHA-256 of the block's plaintext: its x-amz-Checksum.
	Digest ebs.Digest
	// Key is the block's key in the BlockStore: equal to Digest for
	// unencrypted blocks. A block whose Digest is ebs.ZeroBlockDigest has
	// no data in the BlockStore, whatever its Key.
	Key ebs.Digest
}

// IndexedRef is a BlockRef at a block index.
type IndexedRef struct {
	Index int32
	Ref   BlockRef
}

// Idempotency is what StartSnapshot remembers of a ClientToken, so that a
// retry replays the first response and a different request is refused.
type Idempotency struct {
	OwnerID     string
	ClientToken string
	RequestHash ebs.Digest // hash of the request's parameters
	SnapshotID  string
	Response    []byte // the original response, opaque to the store
}
