package api_test

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/ebsd/ebsd/internal/ebs"
	"github.com/ebsd/ebsd/internal/snapshot"
)

// TestStartSnapshotBody checks the JSON decoding of StartSnapshot.
func TestStartSnapshotBody(t *testing.T) {
	tests := []struct {
		name string
		body string
		want snapshot.StartInput // AccountID is filled in
	}{
		{"Empty", ``, snapshot.StartInput{}},
		{"Whitespace", " \n\t", snapshot.StartInput{}},
		{"EmptyObject", `{}`, snapshot.StartInput{}},
		{"Null", `null`, snapshot.StartInput{}},
		{"All", `{"VolumeSize":8,"ParentSnapshotId":"snap-1","Tags":[{"Key":"k","Value":"v"},{"Key":"k2"}],"Description":"d","ClientToken":"t","Encrypted":true,"KmsKeyArn":"arn","Timeout":60}`,
			snapshot.StartInput{VolumeSize: ptr[int64](8), ParentSnapshotID: ptr("snap-1"), Tags: []ebs.Tag{{Key: "k", Value: "v"}, {Key: "k2"}},
				Description: ptr("d"), ClientToken: ptr("t"), Encrypted: ptr(true), KMSKeyARN: ptr("arn"), Timeout: ptr[int64](60)}},
		{"NullsAreAbsent", `{"VolumeSize":null,"Tags":null,"Encrypted":null,"Description":null}`, snapshot.StartInput{}},
		{"KeysAreExact", `{"volumeSize":8,"VOLUMESIZE":9,"description":"d"}`, snapshot.StartInput{}},
		{"UnknownKeysIgnored", `{"VolumeSize":1,"Extra":{"a":[1,2]},"SseType":"x"}`, snapshot.StartInput{VolumeSize: ptr[int64](1)}},
		{"EmptyStrings", `{"Description":"","ClientToken":"","Tags":[]}`, snapshot.StartInput{Description: ptr(""), ClientToken: ptr(""), Tags: []ebs.Tag{}}},
		{"OutOfRangeValuesPass", `{"VolumeSize":0,"Timeout":-5}`, snapshot.StartInput{VolumeSize: ptr[int64](0), Timeout: ptr[int64](-5)}},
		{"DuplicateKeyLastWins", `{"VolumeSize":1,"VolumeSize":2}`, snapshot.StartInput{VolumeSize: ptr[int64](2)}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			svc := &fakeService{}
			w := serve(t, newHandler(t, svc), httptest.NewRequest("POST", "/snapshots", strings.NewReader(tc.body)))
			if w.Code != 201 {
				t.Fatalf("status = %d, body %s", w.Code, w.Body)
			}
			got := lastInput[snapshot.StartInput](t, svc)
			tc.want.AccountID = testAccount
			if !equalStartInput(got, tc.want) {
				t.Errorf("input = %s, want %s", formatStartInput(got), formatStartInput(tc.want))
			}
		})
	}

	bad := []string{
		`{`, `{"VolumeSize":1`, `[]`, `"x"`, `1`, `{} {}`, `{"VolumeSize":1}x`,
		`{"VolumeSize":"3"}`, `{"VolumeSize":1.5}`, `{"VolumeSize":1e3}`, `{"VolumeSize":99999999999999999999}`,
		`{"Timeout":"60"}`, `{"Encrypted":"true"}`, `{"Encrypted":1}`, `{"Description":5}`,
		`{"ClientToken":{}}`, `{"KmsKeyArn":[]}`, `{"ParentSnapshotId":true}`,
		`{"Tags":{}}`, `{"Tags":"k"}`, `{"Tags":[null]}`, `{"Tags":[1]}`, `{"Tags":[{"Key":1}]}`, `{"Tags":[{"Value":false}]}`,
		"{\"Description\":\"\x01\"}",
	}
	for _, body := range bad {
		t.Run("Bad "+body, func(t *testing.T) {
			svc := &fakeService{}
			w := serve(t, newHandler(t, svc), httptest.NewRequest("POST", "/snapshots", strings.NewReader(body)))
			checkError(t, w, 400, "SerializationException")
			if svc.calls() != 0 {
				t.Error("a body that is not a valid StartSnapshot request reached the service")
			}
		})
	}

	t.Run("TooLarge", func(t *testing.T) {
		body := `{"Description":"` + strings.Repeat("a", 64<<10) + `"}`
		for _, chunked := range []bool{false, true} {
			svc := &fakeService{}
			r := httptest.NewRequest("POST", "/snapshots", strings.NewReader(body))
			if chunked {
				r.ContentLength = -1
			}
			w := serve(t, newHandler(t, svc), r)
			checkError(t, w, 400, "SerializationException")
			if svc.calls() != 0 {
				t.Error("an oversized body reached the service")
			}
		}
	})
}

func equalStartInput(a, b snapshot.StartInput) bool {
	return formatStartInput(a) == formatStartInput(b)
}

func formatStartInput(in snapshot.StartInput) string {
	var b strings.Builder
	p := func(name string, v any) { b.WriteString(name + "=" + formatPtr(v) + " ") }
	b.WriteString("AccountID=" + in.AccountID + " ")
	p("VolumeSize", in.VolumeSize)
	p("ParentSnapshotID", in.ParentSnapshotID)
	p("Description", in.Description)
	p("ClientToken", in.ClientToken)
	p("Encrypted", in.Encrypted)
	p("KMSKeyARN", in.KMSKeyARN)
	p("Timeout", in.Timeout)
	if in.Tags == nil {
		b.WriteString("Tags=nil")
	} else {
		b.WriteString("Tags=[")
		for _, t := range in.Tags {
			b.WriteString(t.Key + ":" + t.Value + ",")
		}
		b.WriteString("]")
	}
	return b.String()
}

// TestStartSnapshotResponse checks the exact response bytes against the
// shape of the real capture (spec §3.1).
func TestStartSnapshotResponse(t *testing.T) {
	tests := []struct {
		name string
		out  snapshot.SnapshotOutput
		want string
	}{
		{"Minimal", snapshot.SnapshotOutput{SnapshotID: "snap-0e3be26c9ccc164eb", OwnerID: "000000000000", Status: ebs.StatusPending,
			StartTime: time.UnixMilli(1790337440570), VolumeSize: 1, BlockSize: ebs.BlockSize},
			`{"BlockSize":524288,"Description":null,"KmsKeyArn":null,"OwnerId":"000000000000","ParentSnapshotId":null,"SnapshotId":"snap-0e3be26c9ccc164eb","SseType":null,"StartTime":1790337440.57,"Status":"pending","Tags":null,"VolumeSize":1}`},
		{"Full", snapshot.SnapshotOutput{SnapshotID: "snap-2", OwnerID: "000000000000", Status: ebs.StatusPending,
			StartTime: time.Unix(1790337440, 0), VolumeSize: 65536, BlockSize: ebs.BlockSize, Tags: []ebs.Tag{{Key: "a\"b", Value: ""}, {Key: "k", Value: "v"}},
			ParentSnapshotID: "snap-1", KMSKeyARN: "arn:aws:kms:us-east-1:000000000000:key/x", Description: "stackd/root"},
			`{"BlockSize":524288,"Description":"stackd/root","KmsKeyArn":"arn:aws:kms:us-east-1:000000000000:key/x","OwnerId":"000000000000","ParentSnapshotId":"snap-1","SnapshotId":"snap-2","SseType":null,"StartTime":1790337440,"Status":"pending","Tags":[{"Key":"a\"b","Value":""},{"Key":"k","Value":"v"}],"VolumeSize":65536}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			svc := &fakeService{start: func(context.Context, snapshot.StartInput) (*snapshot.SnapshotOutput, error) { return &tc.out, nil }}
			w := serve(t, newHandler(t, svc), httptest.NewRequest("POST", "/snapshots", strings.NewReader(`{"VolumeSize":1}`)))
			checkSuccess(t, w, 201, "application/json")
			if got := w.Body.String(); got != tc.want {
				t.Errorf("body =\n%s\nwant\n%s", got, tc.want)
			}
		})
	}
}
