package api_test

import (
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/ebsd/ebsd/internal/ebs"
	"github.com/ebsd/ebsd/internal/snapshot"
)

// TestStartSnapshotInvalidText checks that a string member whose text is
// not valid Unicode is refused instead of reaching the service with U+FFFD
// in place of what was sent. The first six cases are the probes of
// reliability-2026-12.md §3a, which all got 201.
func TestStartSnapshotInvalidText(t *testing.T) {
	tests := []struct {
		name string
		body string
		// member is the member named in the ValidationException, or "" when
		// the body is valid and want is what the service must receive.
		member string
		want   snapshot.StartInput
	}{
		// reliability-2026-12.md §3a.
		{"raw FF FE in Description", "{\"VolumeSize\":1,\"Description\":\"a\xff\xfeb\"}", "description", snapshot.StartInput{}},
		{"truncated C3 in a tag key", "{\"VolumeSize\":1,\"Tags\":[{\"Key\":\"k\xc3\",\"Value\":\"v\"}]}", "tags.1.member.key", snapshot.StartInput{}},
		{"raw FF in a tag value", "{\"VolumeSize\":1,\"Tags\":[{\"Key\":\"k\",\"Value\":\"v\"},{\"Key\":\"k2\",\"Value\":\"\xff\"}]}", "tags.2.member.value", snapshot.StartInput{}},
		{"overlong C0 AF in ClientToken", "{\"VolumeSize\":1,\"ClientToken\":\"t\xc0\xaf\"}", "clientToken", snapshot.StartInput{}},
		{"lone high surrogate escape", `{"VolumeSize":1,"Description":"x\ud800y"}`, "description", snapshot.StartInput{}},
		// NUL is a valid code point and valid UTF-8, and the model's patterns
		// (^[\S\s]+$, ^[\S]+$) accept it: it is kept, byte for byte.
		{"NUL escape", `{"VolumeSize":1,"Description":"a\u0000b","ClientToken":"\u0000"}`, "",
			snapshot.StartInput{VolumeSize: ptr[int64](1), Description: ptr("a\x00b"), ClientToken: ptr("\x00")}},

		// More ways to be wrong.
		{"lone low surrogate escape", `{"VolumeSize":1,"Description":"\udc00"}`, "description", snapshot.StartInput{}},
		{"high surrogate then a letter", `{"VolumeSize":1,"Description":"\ud800\u0041"}`, "description", snapshot.StartInput{}},
		{"high surrogate at the end", `{"VolumeSize":1,"ClientToken":"a\uD800"}`, "clientToken", snapshot.StartInput{}},
		{"two high surrogates", `{"VolumeSize":1,"Description":"\ud800\ud800\udc00"}`, "description", snapshot.StartInput{}},
		{"surrogate encoded in UTF-8", "{\"VolumeSize\":1,\"Description\":\"\xed\xa0\x80\"}", "description", snapshot.StartInput{}},
		{"KmsKeyArn", "{\"VolumeSize\":1,\"KmsKeyArn\":\"arn:aws:kms:us-east-1:111122223333:key/\xff\"}", "kmsKeyArn", snapshot.StartInput{}},
		{"ParentSnapshotId", `{"VolumeSize":1,"ParentSnapshotId":"snap-\udfff"}`, "parentSnapshotId", snapshot.StartInput{}},

		// Valid text that looks suspicious.
		{"surrogate pair escape", `{"VolumeSize":1,"Description":"\ud83d\ude00 \uD83D\uDE00"}`, "",
			snapshot.StartInput{VolumeSize: ptr[int64](1), Description: ptr("😀 😀")}},
		{"U+FFFD sent on purpose", "{\"VolumeSize\":1,\"Description\":\"\\ufffd \xef\xbf\xbd\"}", "",
			snapshot.StartInput{VolumeSize: ptr[int64](1), Description: ptr("\ufffd \ufffd")}},
		{"escaped backslash before u", `{"VolumeSize":1,"Description":"\\ud800"}`, "",
			snapshot.StartInput{VolumeSize: ptr[int64](1), Description: ptr(`\ud800`)}},
		{"multibyte UTF-8", `{"VolumeSize":1,"Tags":[{"Key":"ü","Value":"日本"}]}`, "",
			snapshot.StartInput{VolumeSize: ptr[int64](1), Tags: []ebs.Tag{{Key: "ü", Value: "日本"}}}},
		// Only the members the service reads are checked.
		{"unknown member", "{\"VolumeSize\":1,\"Extra\":\"\xff\",\"\xff\":1}", "",
			snapshot.StartInput{VolumeSize: ptr[int64](1)}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			svc := &fakeService{}
			w := serve(t, newHandler(t, svc), httptest.NewRequest("POST", "/snapshots", strings.NewReader(tc.body)))
			if tc.member == "" {
				if w.Code != 201 {
					t.Fatalf("status = %d, body %s; want 201", w.Code, w.Body)
				}
				got := lastInput[snapshot.StartInput](t, svc)
				tc.want.AccountID = testAccount
				if !equalStartInput(got, tc.want) {
					t.Errorf("input = %q, want %q", formatStartInput(got), formatStartInput(tc.want))
				}
				return
			}
			checkError(t, w, 400, "ValidationException")
			body := decodeBody(t, w.Body.Bytes())
			wantMsg := "1 validation error detected: Value '"
			wantAt := "' at '" + tc.member + "' failed to satisfy constraint: Member must be a valid UTF-8 string"
			if msg := body["message"]; !strings.HasPrefix(msg, wantMsg) || !strings.HasSuffix(msg, wantAt) {
				t.Errorf("message = %q, want %q...%q", msg, wantMsg, wantAt)
			}
			if body["Reason"] != string(ebs.ReasonInvalidParameterValue) {
				t.Errorf("Reason = %q, want %s", body["Reason"], ebs.ReasonInvalidParameterValue)
			}
			if svc.calls() != 0 {
				t.Error("a request with invalid text reached the service")
			}
		})
	}

	// Every bad member is reported, in the order of the other checks.
	t.Run("several", func(t *testing.T) {
		svc := &fakeService{}
		body := "{\"VolumeSize\":1,\"ClientToken\":\"\xff\",\"Description\":\"\\udc00\",\"Tags\":[{\"Key\":\"\xc3\",\"Value\":\"ok\"}]}"
		w := serve(t, newHandler(t, svc), httptest.NewRequest("POST", "/snapshots", strings.NewReader(body)))
		checkError(t, w, 400, "ValidationException")
		msg := decodeBody(t, w.Body.Bytes())["message"]
		if !strings.HasPrefix(msg, "3 validation errors detected: ") ||
			!(strings.Index(msg, "'tags.1.member.key'") < strings.Index(msg, "'description'") &&
				strings.Index(msg, "'description'") < strings.Index(msg, "'clientToken'")) {
			t.Errorf("message = %q, want 3 errors: tags.1.member.key, description, clientToken", msg)
		}
	})

	// A member of the wrong type is a SerializationException first, as for
	// any body that does not decode.
	t.Run("wrong type wins", func(t *testing.T) {
		svc := &fakeService{}
		body := "{\"VolumeSize\":\"1\",\"Description\":\"\xff\"}"
		w := serve(t, newHandler(t, svc), httptest.NewRequest("POST", "/snapshots", strings.NewReader(body)))
		checkError(t, w, 400, "SerializationException")
	})
}
