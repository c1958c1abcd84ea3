package pebblemeta

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"time"

	"github.com/ebsd/ebsd/internal/ebs"
	"github.com/ebsd/ebsd/internal/store"
)

// Records are a version byte followed by JSON of a struct of this package,
// so that renaming a field of store.Snapshot never changes what is on disk
// and a later version can still read version 1.
const recordVersion = 1

// snapshotRecord is the stored form of store.Snapshot.
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
	return encodeRecord(r)
}

func decodeSnapshot(b []byte) (store.Snapshot, error) {
	var r snapshotRecord
	if err := decodeRecord(b, &r); err != nil {
		return store.Snapshot{}, err
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
	return s, nil
}

// idempotencyRecord is the stored form of store.Idempotency.
type idempotencyRecord struct {
	OwnerID     string `json:"owner"`
	ClientToken string `json:"token"`
	RequestHash []byte `json:"requestHash"`
	SnapshotID  string `json:"snapshot"`
	Response    []byte `json:"response"`
}

func encodeIdempotency(r store.Idempotency) ([]byte, error) {
	return encodeRecord(idempotencyRecord{
		OwnerID: r.OwnerID, ClientToken: r.ClientToken, RequestHash: r.RequestHash[:],
		SnapshotID: r.SnapshotID, Response: r.Response,
	})
}

func decodeIdempotency(b []byte) (store.Idempotency, error) {
	var r idempotencyRecord
	if err := decodeRecord(b, &r); err != nil {
		return store.Idempotency{}, err
	}
	out := store.Idempotency{OwnerID: r.OwnerID, ClientToken: r.ClientToken, SnapshotID: r.SnapshotID, Response: r.Response}
	if len(r.RequestHash) != len(out.RequestHash) {
		return store.Idempotency{}, fmt.Errorf("pebblemeta: request hash of %d bytes: %w", len(r.RequestHash), store.ErrCorrupt)
	}
	copy(out.RequestHash[:], r.RequestHash)
	return out, nil
}

func encodeRecord(v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("pebblemeta: encoding %T: %w", v, err)
	}
	return append([]byte{recordVersion}, b...), nil
}

func decodeRecord(b []byte, v any) error {
	if len(b) == 0 || b[0] != recordVersion {
		return fmt.Errorf("pebblemeta: record of unknown version: %w", store.ErrCorrupt)
	}
	if err := json.Unmarshal(b[1:], v); err != nil {
		return fmt.Errorf("pebblemeta: decoding %T: %v: %w", v, err, store.ErrCorrupt)
	}
	return nil
}

// refSize is the size of an encoded BlockRef: Digest then Key.
const refSize = 2 * len(ebs.Digest{})

func encodeRef(ref store.BlockRef) []byte {
	b := make([]byte, 0, refSize)
	b = append(b, ref.Digest[:]...)
	return append(b, ref.Key[:]...)
}

func decodeRef(b []byte) (store.BlockRef, error) {
	var ref store.BlockRef
	if len(b) != refSize {
		return ref, fmt.Errorf("pebblemeta: block mapping of %d bytes: %w", len(b), store.ErrCorrupt)
	}
	copy(ref.Digest[:], b)
	copy(ref.Key[:], b[len(ref.Digest):])
	return ref, nil
}

// encodeTime keeps the instant of t: seconds then nanoseconds. Its
// Location and monotonic reading are not kept.
func encodeTime(t time.Time) []byte {
	b := binary.BigEndian.AppendUint64(make([]byte, 0, 12), uint64(t.Unix()))
	return binary.BigEndian.AppendUint32(b, uint32(t.Nanosecond()))
}

func decodeTime(b []byte) (time.Time, error) {
	if len(b) != 12 {
		return time.Time{}, fmt.Errorf("pebblemeta: time of %d bytes: %w", len(b), store.ErrCorrupt)
	}
	return time.Unix(int64(binary.BigEndian.Uint64(b)), int64(binary.BigEndian.Uint32(b[8:]))), nil
}
