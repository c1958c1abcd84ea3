package snapshot

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"

	"github.com/ebsd/ebsd/internal/ebs"
	"github.com/ebsd/ebsd/internal/store"
)

// requestHash identifies a StartSnapshot request's parameters, so that a
// reused ClientToken can be told apart from a retry. Absent and present
// members hash differently (the pointers encode as null).
func requestHash(in StartInput) ebs.Digest {
	b, _ := json.Marshal(struct {
		V           int
		VolumeSize  *int64
		Parent      *string
		Tags        []ebs.Tag
		Description *string
		Encrypted   *bool
		KMSKeyARN   *string
		Timeout     *int64
	}{1, in.VolumeSize, in.ParentSnapshotID, in.Tags, in.Description, in.Encrypted, in.KMSKeyARN, in.Timeout})
	return sha256.Sum256(b)
}

// replay answers a request whose ClientToken was seen before: the original
// response when the parameters match, a ConflictException otherwise. It
// returns (nil, nil) when the token is new.
func (s *Service) replay(ctx context.Context, idem store.Idempotency) (*SnapshotOutput, error) {
	prev, err := s.meta.GetIdempotency(ctx, idem.OwnerID, idem.ClientToken)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, internal(opStart, err)
	}
	if prev.RequestHash != idem.RequestHash {
		return nil, ebs.E(opStart, ebs.KindConflict, "", "Current request does not match request stored with this token.")
	}
	var out SnapshotOutput
	if err := json.Unmarshal(prev.Response, &out); err != nil {
		return nil, internal(opStart, err)
	}
	return &out, nil
}

func encodeOutput(out *SnapshotOutput) ([]byte, error) { return json.Marshal(out) }
