package pgmeta

import (
	"encoding/json"
	"fmt"
	"math"
	"time"

	"github.com/ebsd/ebsd/internal/ebs"
	"github.com/ebsd/ebsd/internal/store"
)

// snapshotRecord is the stored form of store.Snapshot (the record column),
// so that renaming a field of store.Snapshot never changes what is stored.
// It has no LastActivity: that is the maximum written_at of the snapshot's
// writes.
type snapshotRecord struct {
	ID               string        `json:"id"`
	OwnerID          string        `json:"owner"`
	State            store.State   `json:"state"`
	StateMessage     string        `json:"stateMessage,omitempty"`
	VolumeSize       int64         `json:"volumeSize"`
	Description      string        `json:"description,omitempty"`
	Tags             []tagRecord   `json:"tags"`
	ClientToken      string        `json:"clientToken,omitempty"`
	ParentID         string        `json:"parent,omitempty"`
	RootID           string        `json:"root"`
	Depth            int           `json:"depth"`
	StartTime        time.Time     `json:"start"`
	Timeout          time.Duration `json:"timeout"`
	CompleteTime     time.Time     `json:"complete"`
	DeleteTime       time.Time     `json:"delete,omitzero"`
	CopySourceID     string        `json:"copySource,omitempty"`
	FullBlocks       int64         `json:"fullBlocks,omitempty"`
	ExpectedBlocks   int64         `json:"expectedBlocks"`
	ExpectedChecksum string        `json:"expectedChecksum,omitempty"`
	Encrypted        bool          `json:"encrypted,omitempty"`
	KMSKeyARN        string        `json:"kmsKeyArn,omitempty"`
	WrappedKey       []byte        `json:"wrappedKey"`
}

type tagRecord struct {
	Key   string `json:"k"`
	Value string `json:"v"`
}

func encodeSnapshot(s store.Snapshot) ([]byte, error) {
	r := snapshotRecord{
		ID: s.ID, OwnerID: s.OwnerID, State: s.State, StateMessage: s.StateMessage,
		VolumeSize: s.VolumeSize, Description: s.Description, ClientToken: s.ClientToken,
		ParentID: s.ParentID, RootID: s.RootID, Depth: s.Depth,
		StartTime: s.StartTime, Timeout: s.Timeout, CompleteTime: s.CompleteTime,
		DeleteTime: s.DeleteTime, CopySourceID: s.CopySourceID, FullBlocks: s.FullBlocks,
		ExpectedBlocks: s.ExpectedBlocks, ExpectedChecksum: s.ExpectedChecksum,
		Encrypted: s.Encrypted, KMSKeyARN: s.KMSKeyARN, WrappedKey: s.WrappedKey,
	}
	if s.Tags != nil {
		r.Tags = make([]tagRecord, len(s.Tags))
		for i, t := range s.Tags {
			r.Tags[i] = tagRecord(t)
		}
	}
	return json.Marshal(r)
}

// decodeSnapshot decodes a record column; activity is the snapshot's
// maximum written_at, nil when it has no writes.
func decodeSnapshot(b []byte, activity *int64) (store.Snapshot, error) {
	var r snapshotRecord
	if err := json.Unmarshal(b, &r); err != nil {
		return store.Snapshot{}, fmt.Errorf("pgmeta: snapshot record: %v: %w", err, store.ErrCorrupt)
	}
	s := store.Snapshot{
		ID: r.ID, OwnerID: r.OwnerID, State: r.State, StateMessage: r.StateMessage,
		VolumeSize: r.VolumeSize, Description: r.Description, ClientToken: r.ClientToken,
		ParentID: r.ParentID, RootID: r.RootID, Depth: r.Depth,
		StartTime: r.StartTime, Timeout: r.Timeout, CompleteTime: r.CompleteTime,
		DeleteTime: r.DeleteTime, CopySourceID: r.CopySourceID, FullBlocks: r.FullBlocks,
		ExpectedBlocks: r.ExpectedBlocks, ExpectedChecksum: r.ExpectedChecksum,
		Encrypted: r.Encrypted, KMSKeyARN: r.KMSKeyARN, WrappedKey: r.WrappedKey,
	}
	if r.Tags != nil {
		s.Tags = make([]ebs.Tag, len(r.Tags))
		for i, t := range r.Tags {
			s.Tags[i] = ebs.Tag(t)
		}
	}
	if activity != nil {
		s.LastActivity = fromNanos(*activity)
	}
	return s, nil
}

// zeroNanos stands for the zero time.Time in written_at, which UnixNano
// cannot represent.
const zeroNanos = math.MinInt64

func toNanos(t time.Time) int64 {
	if t.IsZero() {
		return zeroNanos
	}
	return t.UnixNano()
}

func fromNanos(n int64) time.Time {
	if n == zeroNanos {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

// rootOf returns the ID of the lineage tree of s.
func rootOf(s store.Snapshot) string {
	if s.RootID != "" {
		return s.RootID
	}
	return s.ID
}
