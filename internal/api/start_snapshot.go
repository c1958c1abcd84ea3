package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"

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
// the JSON types, and that strings are text (see checkText), are checked
// here; the values are the service's to judge.
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
	var (
		err error
		t   textCheck
	)
	if in.VolumeSize, err = decodeMember[int64](members, "VolumeSize", "an integer"); err != nil {
		return in, err
	}
	if in.ParentSnapshotID, err = t.decode(members, "ParentSnapshotId", "parentSnapshotId"); err != nil {
		return in, err
	}
	if in.Tags, err = decodeTags(members, &t); err != nil {
		return in, err
	}
	if in.Description, err = t.decode(members, "Description", "description"); err != nil {
		return in, err
	}
	if in.ClientToken, err = t.decode(members, "ClientToken", "clientToken"); err != nil {
		return in, err
	}
	if in.Encrypted, err = decodeMember[bool](members, "Encrypted", "a boolean"); err != nil {
		return in, err
	}
	if in.KMSKeyARN, err = t.decode(members, "KmsKeyArn", "kmsKeyArn"); err != nil {
		return in, err
	}
	if in.Timeout, err = decodeMember[int64](members, "Timeout", "an integer"); err != nil {
		return in, err
	}
	// Validation comes after deserialization, as on AWS: a member of the
	// wrong type is a SerializationException whatever else is wrong.
	if len(t.bad) > 0 {
		return in, ebs.InvalidFields(opStartSnapshot.String(), t.bad...)
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
func decodeTags(members map[string]json.RawMessage, t *textCheck) ([]ebs.Tag, error) {
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
		key, err := t.decode(obj, "Key", fmt.Sprintf("tags.%d.member.key", i+1))
		if err != nil {
			return nil, err
		}
		value, err := t.decode(obj, "Value", fmt.Sprintf("tags.%d.member.value", i+1))
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

// constraintText is the constraint a string member that is not text
// fails, worded like AWS's framework constraints.
const constraintText = "Member must be a valid UTF-8 string"

// textCheck decodes string members and collects those that are not valid
// Unicode text: raw bytes that are not UTF-8 (0xFF, a truncated or
// overlong sequence, an encoded surrogate) or a \u escape of a surrogate
// that is not half of a pair ("\ud800"). Go's decoder silently turns each
// into U+FFFD, so the snapshot would keep, and echo, text the client never
// sent.
//
// They are refused as a framework ValidationException naming each member
// (spec §5.3b), like a pattern the value fails: the body is JSON that
// parses, so it is not a SerializationException, and the fault is in a
// member's value, not in the request's semantics, which the service's
// errors with a Reason describe. The value is quoted as decoded, with
// U+FFFD where the bad bytes were, so that the client can find them. NUL
// ("\u0000") is a valid code point that the model's patterns accept: it
// passes, and is kept as sent.
type textCheck struct {
	bad []ebs.Violation
}

// decode decodes the string member key of an object, nil when it is absent
// or null, and records it as the request member named member when it is
// not text.
func (t *textCheck) decode(members map[string]json.RawMessage, key, member string) (*string, error) {
	v, err := decodeMember[string](members, key, "a string")
	if err == nil && v != nil && !validText(members[key]) {
		t.bad = append(t.bad, ebs.Violation{Member: member, Value: v, Constraint: constraintText})
	}
	return v, err
}

// validText reports whether raw, a JSON string token that decodes, is
// UTF-8 whose \u escapes pair every surrogate.
func validText(raw []byte) bool {
	if !utf8.Valid(raw) {
		return false
	}
	for i := 0; i < len(raw); i++ {
		if raw[i] != '\\' {
			continue
		}
		i++ // the escaped character; a token that decodes has one
		if raw[i] != 'u' {
			continue
		}
		r := escapedRune(raw[i+1:])
		i += 4
		if !utf16.IsSurrogate(r) {
			continue
		}
		// A high half must be followed at once by a low half.
		if r >= 0xdc00 || i+6 >= len(raw) || raw[i+1] != '\\' || raw[i+2] != 'u' {
			return false
		}
		if low := escapedRune(raw[i+3:]); low < 0xdc00 || low > 0xdfff {
			return false
		}
		i += 6
	}
	return true
}

// escapedRune decodes the four hex digits of a \u escape at the start of b.
func escapedRune(b []byte) rune {
	n, err := strconv.ParseUint(string(b[:4]), 16, 16)
	if err != nil {
		return utf8.RuneError
	}
	return rune(n)
}

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
