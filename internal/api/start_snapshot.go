package api

import (
	"bytes"
	"encoding/json"
	"net/http"

	"github.com/ebsd/ebsd/internal/ebs"
	"github.com/ebsd/ebsd/internal/snapshot"
)

// startSnapshot serves StartSnapshot: POST /snapshots with a JSON body,
// 201 with the new snapshot.
func (h *Handler) startSnapshot(x *exchange, r *http.Request, c Caller) {
	body, err := readBody(opStartSnapshot, r, c)
	if err != nil {
		h.writeError(x, r, err)
		return
	}
	in, err := decodeStartInput(body)
	if err != nil {
		h.writeError(x, r, err)
		return
	}
	in.AccountID = c.AccountID
	out, err := h.svc.StartSnapshot(r.Context(), in)
	if err != nil {
		h.writeError(x, r, err)
		return
	}
	writeJSON(x, http.StatusCreated, appendSnapshotOutput(nil, out))
}

// decodeStartInput decodes the JSON body of StartSnapshot. Keys match
// exactly (encoding/json alone would also take "volumesize"), unknown keys
// are ignored, null is the same as absent, and an empty body is {}. Only
// the JSON types are checked here; the values are the service's to judge.
func decodeStartInput(body []byte) (snapshot.StartInput, error) {
	var in snapshot.StartInput
	if len(bytes.Trim(body, " \t\r\n")) == 0 { // JSON's whitespace only
		return in, nil
	}
	var members map[string]json.RawMessage
	if err := json.Unmarshal(body, &members); err != nil {
		return in, serializationError(err, "The request body is not a valid JSON object.")
	}
	// A fixed order, so that a body with several bad members always gets
	// the same answer.
	var err error
	if in.VolumeSize, err = decodeMember[int64](members, "VolumeSize", "an integer"); err != nil {
		return in, err
	}
	if in.ParentSnapshotID, err = decodeMember[string](members, "ParentSnapshotId", "a string"); err != nil {
		return in, err
	}
	if in.Tags, err = decodeTags(members); err != nil {
		return in, err
	}
	if in.Description, err = decodeMember[string](members, "Description", "a string"); err != nil {
		return in, err
	}
	if in.ClientToken, err = decodeMember[string](members, "ClientToken", "a string"); err != nil {
		return in, err
	}
	if in.Encrypted, err = decodeMember[bool](members, "Encrypted", "a boolean"); err != nil {
		return in, err
	}
	if in.KMSKeyARN, err = decodeMember[string](members, "KmsKeyArn", "a string"); err != nil {
		return in, err
	}
	if in.Timeout, err = decodeMember[int64](members, "Timeout", "an integer"); err != nil {
		return in, err
	}
	return in, nil
}

// decodeMember decodes the member key of an object, nil when it is absent
// or null.
func decodeMember[T any](members map[string]json.RawMessage, key, want string) (*T, error) {
	raw, ok := members[key]
	if !ok || isNull(raw) {
		return nil, nil
	}
	v := new(T)
	if err := json.Unmarshal(raw, v); err != nil {
		return nil, serializationError(err, "Expected "+want+" for '"+key+"'.")
	}
	return v, nil
}

// decodeTags decodes the Tags member: a list of {"Key","Value"} objects.
func decodeTags(members map[string]json.RawMessage) ([]ebs.Tag, error) {
	const msg = "Expected a list of {\"Key\",\"Value\"} objects for 'Tags'."
	raw, ok := members["Tags"]
	if !ok || isNull(raw) {
		return nil, nil
	}
	var list []map[string]json.RawMessage
	if err := json.Unmarshal(raw, &list); err != nil {
		return nil, serializationError(err, msg)
	}
	tags := make([]ebs.Tag, len(list))
	for i, obj := range list {
		if obj == nil { // a null element
			return nil, serializationError(nil, msg)
		}
		key, err := decodeMember[string](obj, "Key", "a string")
		if err != nil {
			return nil, err
		}
		value, err := decodeMember[string](obj, "Value", "a string")
		if err != nil {
			return nil, err
		}
		if key != nil {
			tags[i].Key = *key
		}
		if value != nil {
			tags[i].Value = *value
		}
	}
	return tags, nil
}

func isNull(raw json.RawMessage) bool { return string(raw) == "null" }

func serializationError(err error, message string) error {
	return &ebs.Error{Op: opStartSnapshot.String(), Kind: ebs.KindSerialization, Message: message, Err: err}
}

// appendSnapshotOutput appends the StartSnapshot response: every member,
// in the order and with the nulls of the real capture (spec §3.1).
func appendSnapshotOutput(dst []byte, out *snapshot.SnapshotOutput) []byte {
	dst = append(dst, '{')
	dst = appendKey(dst, "BlockSize")
	dst = appendIntOrNull(dst, int64(out.BlockSize))
	dst = appendKey(dst, "Description")
	dst = appendStringOrNull(dst, out.Description)
	dst = appendKey(dst, "KmsKeyArn")
	dst = appendStringOrNull(dst, out.KMSKeyARN)
	dst = appendKey(dst, "OwnerId")
	dst = appendStringOrNull(dst, out.OwnerID)
	dst = appendKey(dst, "ParentSnapshotId")
	dst = appendStringOrNull(dst, out.ParentSnapshotID)
	dst = appendKey(dst, "SnapshotId")
	dst = appendStringOrNull(dst, out.SnapshotID)
	dst = appendKey(dst, "SseType")
	dst = appendNull(dst) // "Reserved for future use": AWS sends null
	dst = appendKey(dst, "StartTime")
	dst = appendTimestamp(dst, out.StartTime)
	dst = appendKey(dst, "Status")
	dst = appendStringOrNull(dst, string(out.Status))
	dst = appendKey(dst, "Tags")
	if len(out.Tags) == 0 {
		dst = appendNull(dst)
	} else {
		dst = append(dst, '[')
		for i, t := range out.Tags {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = append(dst, '{')
			dst = appendKey(dst, "Key")
			dst = appendString(dst, t.Key)
			dst = appendKey(dst, "Value")
			dst = appendString(dst, t.Value)
			dst = append(dst, '}')
		}
		dst = append(dst, ']')
	}
	dst = appendKey(dst, "VolumeSize")
	dst = appendIntOrNull(dst, out.VolumeSize)
	return append(dst, '}')
}
