package ebs_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/ebsd/ebsd/internal/ebs"
)

func TestZeroBlockDigest(t *testing.T) {
	// The known digest of 512 KiB of zeros (flexible-snapshot-proxy's KNOWN_SPARSE_CHECKSUM).
	if got, want := ebs.Digest(ebs.ZeroBlockDigest).String(), "B4VNL+8pega6gWheZgwzLeNtXRjVRpJ9MNqtbX/aFUE="; got != want {
		t.Fatalf("ZeroBlockDigest = %s, want %s", got, want)
	}
}

func TestParseDigest(t *testing.T) {
	d := ebs.Sum([]byte("x"))
	tests := []struct {
		in      string
		wantErr bool
	}{
		{d.String(), false},
		{"not base64!", true},
		{"AAAA", true}, // 3 bytes
	}
	for _, tc := range tests {
		got, err := ebs.ParseDigest(tc.in)
		if (err != nil) != tc.wantErr {
			t.Errorf("ParseDigest(%q) error = %v, want error %v", tc.in, err, tc.wantErr)
		}
		if err == nil && got != d {
			t.Errorf("ParseDigest(%q) = %v, want %v", tc.in, got, d)
		}
	}
}

func TestInvalidFieldsMessage(t *testing.T) {
	v := "50"
	tests := []struct {
		vs   []ebs.Violation
		want string
	}{
		{[]ebs.Violation{{Member: "maxResults", Value: &v, Constraint: ebs.ConstraintMin(100)}},
			"1 validation error detected: Value '50' at 'maxResults' failed to satisfy constraint: Member must have value greater than or equal to 100"},
		{[]ebs.Violation{{Member: "volumeSize", Constraint: ebs.ConstraintNotNull}, {Member: "timeout", Value: &v, Constraint: ebs.ConstraintMax(4320)}},
			"2 validation errors detected: Value null at 'volumeSize' failed to satisfy constraint: Member must not be null; Value '50' at 'timeout' failed to satisfy constraint: Member must have value less than or equal to 4320"},
	}
	for _, tc := range tests {
		e := ebs.InvalidFields("Op", tc.vs...)
		if e.Message != tc.want || e.Kind != ebs.KindInvalidField {
			t.Errorf("message = %q, want %q", e.Message, tc.want)
		}
	}
}

func TestErrorKindAndReasonThroughWrapping(t *testing.T) {
	base := ebs.SnapshotNotFound("GetSnapshotBlock", "snap-1")
	err := fmt.Errorf("outer: %w", base)
	if ebs.KindOf(err) != ebs.KindNotFound || ebs.ReasonOf(err) != ebs.ReasonSnapshotNotFound {
		t.Fatalf("KindOf/ReasonOf = %v/%v", ebs.KindOf(err), ebs.ReasonOf(err))
	}
	if ebs.KindOf(errors.New("plain")) != ebs.KindInternal {
		t.Fatal("a plain error must be internal")
	}
	cause := errors.New("disk on fire")
	w := ebs.Wrap("PutSnapshotBlock", ebs.KindInternal, cause, "internal error")
	if !errors.Is(w, cause) || w.Error() != "PutSnapshotBlock: internal error: disk on fire" {
		t.Fatalf("Wrap = %q", w.Error())
	}
}
