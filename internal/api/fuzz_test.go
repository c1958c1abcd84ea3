package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/textproto"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/ebsd/ebsd/internal/ebs"
	"github.com/ebsd/ebsd/internal/snapshot"
)

// echoService answers every operation with an output or an error built
// from the raw input text, so that arbitrary client bytes reach every
// encoder. It never fails with an internal error: a 500 from the handler
// under fuzzing is a recovered panic, i.e. a bug.
func echoService() *fakeService {
	f := &fakeService{discard: true}
	fail := func(s string) error {
		if !strings.Contains(s, "err") {
			return nil
		}
		kinds := []ebs.Kind{ebs.KindInvalid, ebs.KindInvalidField, ebs.KindNotFound, ebs.KindConflict, ebs.KindAccessDenied,
			ebs.KindBadSignature, ebs.KindThrottled, ebs.KindQuotaExceeded, ebs.KindConcurrentLimit, ebs.KindSerialization}
		return ebs.E("fuzz", kinds[len(s)%len(kinds)], ebs.Reason(s), "bad input %q: %s", s, s)
	}
	f.start = func(_ context.Context, in snapshot.StartInput) (*snapshot.SnapshotOutput, error) {
		d := deref(in.Description)
		if err := fail(d); err != nil {
			return nil, err
		}
		return &snapshot.SnapshotOutput{SnapshotID: d, OwnerID: in.AccountID, Description: d, KMSKeyARN: deref(in.KMSKeyARN),
			Tags: in.Tags, StartTime: testTime, VolumeSize: int64(len(d)), BlockSize: ebs.BlockSize}, nil
	}
	f.put = func(_ context.Context, in snapshot.PutBlockInput) (*snapshot.PutBlockOutput, error) {
		if _, err := io.Copy(io.Discard, in.Body); err != nil {
			return nil, ebs.Wrap("fuzz", ebs.KindInvalid, err, "Failed to read block data")
		}
		if err := fail(in.SnapshotID); err != nil {
			return nil, err
		}
		return &snapshot.PutBlockOutput{Checksum: deref(in.Checksum), ChecksumAlgorithm: deref(in.ChecksumAlgorithm)}, nil
	}
	f.complete = func(_ context.Context, in snapshot.CompleteInput) (*snapshot.CompleteOutput, error) {
		if err := fail(in.SnapshotID); err != nil {
			return nil, err
		}
		return &snapshot.CompleteOutput{Status: ebs.Status(deref(in.ChangedBlocksCount))}, nil
	}
	f.get = func(_ context.Context, in snapshot.GetBlockInput) (*snapshot.GetBlockOutput, error) {
		if err := fail(in.SnapshotID); err != nil {
			return nil, err
		}
		t := deref(in.BlockToken)
		return &snapshot.GetBlockOutput{Data: []byte(t), Checksum: t, ChecksumAlgorithm: in.BlockIndex, Release: func() {}}, nil
	}
	f.list = func(_ context.Context, in snapshot.ListBlocksInput) (*snapshot.ListBlocksOutput, error) {
		if err := fail(in.SnapshotID); err != nil {
			return nil, err
		}
		return &snapshot.ListBlocksOutput{Blocks: []snapshot.Block{{BlockIndex: -1, BlockToken: deref(in.NextToken)}},
			NextToken: deref(in.MaxResults), ExpiryTime: testTime, VolumeSize: 1, BlockSize: ebs.BlockSize}, nil
	}
	f.changed = func(_ context.Context, in snapshot.ListChangedInput) (*snapshot.ListChangedOutput, error) {
		if err := fail(in.SecondSnapshotID); err != nil {
			return nil, err
		}
		return &snapshot.ListChangedOutput{ChangedBlocks: []snapshot.ChangedBlock{
			{BlockIndex: 1 << 30, FirstBlockToken: deref(in.FirstSnapshotID), SecondBlockToken: deref(in.NextToken)},
		}, NextToken: deref(in.StartingBlockIndex)}, nil
	}
	return f
}

// FuzzHandler feeds arbitrary requests through the handler: it must never
// panic, every response must carry a request ID, and every non-2xx
// response must be a typed JSON error.
func FuzzHandler(f *testing.F) {
	seeds := []struct{ method, target, headers, body string }{
		{"POST", "/snapshots", "Content-Type: application/json", `{"VolumeSize":1,"Description":"d","Tags":[{"Key":"k","Value":"v"}]}`},
		{"POST", "/snapshots", "", `{"Description":"err\xff\u2028"}`},
		{"PUT", "/snapshots/snap-1/blocks/0", "X-Amz-Checksum: abc\nX-Amz-Data-Length: 4\nX-Amz-Content-Sha256: UNSIGNED-PAYLOAD", "data"},
		{"PUT", "/snapshots/snap-err/blocks/0", "X-Amz-Content-Sha256: 3a6eb0790f39ac87c94f3856b2dd2c5d110e6811602261a9a923d3bb23adc8b7", "data"},
		{"POST", "/snapshots/completion/snap-1", "x-amz-ChangedBlocksCount: 5\nx-amz-checksum: x", ""},
		{"GET", "/snapshots/snap-1/blocks/1?blockToken=AAUB%2B%2F%3D", "", ""},
		{"GET", "/snapshots/snap-1/blocks?pageToken=%00%ff&maxResults=100&startingBlockIndex=0", "", ""},
		{"GET", "/snapshots/snap-2/changedblocks?firstSnapshotId=snap-1&pageToken=p", "", ""},
		{"GET", "/snapshots/err/changedblocks?firstSnapshotId=%22", "", ""},
		{"DELETE", "/snapshots/snap-1", "", ""},
		{"GET", "/snapshots/%2e%2e/blocks", "", ""},
		{"GET", "/snapshots/snap-1/blocks?pageToken=%zz", "", ""},
		{"HEAD", "/", "", ""},
		{"POST", "/snapshots", "X-Amz-Content-Sha256: 00", "{}"},
	}
	for _, s := range seeds {
		f.Add(s.method, s.target, s.headers, []byte(s.body))
	}
	h := newHandler(f, echoService())
	f.Fuzz(func(t *testing.T, method, target, headers string, body []byte) {
		r := fuzzRequest(method, target, headers, body)
		if r == nil {
			return // net/http would have refused it before any handler
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)

		if w.Code == http.StatusInternalServerError {
			t.Fatalf("500 (a recovered panic?) for %s %s: %s", method, target, w.Body)
		}
		if w.Header().Get("X-Amzn-RequestId") == "" {
			t.Fatalf("no x-amzn-RequestId for %s %s", method, target)
		}
		if got, want := w.Header().Get("Content-Length"), strconv.Itoa(w.Body.Len()); got != want {
			t.Fatalf("Content-Length = %s, body is %s bytes", got, want)
		}
		ct := w.Header().Get("Content-Type")
		if w.Code < 200 || w.Code > 299 {
			if w.Header().Get("X-Amzn-ErrorType") == "" {
				t.Fatalf("status %d without X-Amzn-ErrorType for %s %s", w.Code, method, target)
			}
			if ct != "application/json" || !isJSONObject(w.Body.Bytes()) {
				t.Fatalf("status %d with a body that is not a JSON object (%s): %q", w.Code, ct, w.Body)
			}
			return
		}
		if ct == "application/json" && !isJSONObject(w.Body.Bytes()) {
			t.Fatalf("status %d with invalid JSON: %q", w.Code, w.Body)
		}
	})
}

// fuzzRequest builds the request a server would hand to the handler, or
// nil for one net/http would refuse.
func fuzzRequest(method, target, headers string, body []byte) *http.Request {
	if method == "" || strings.ContainsAny(method, " \t\r\n()<>@,;:\\\"/[]?={}") || !isASCIIPrintable(method) {
		return nil
	}
	u, err := url.ParseRequestURI(target)
	if err != nil || u.Host != "" {
		return nil
	}
	r := &http.Request{
		Method:        method,
		URL:           u,
		RequestURI:    target,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        http.Header{},
		Host:          "ebs.local",
		Body:          io.NopCloser(bytes.NewReader(body)),
		ContentLength: int64(len(body)),
	}
	for line := range strings.SplitSeq(headers, "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok || k == "" || !isASCIIPrintable(k) || strings.ContainsAny(k, " \t") {
			continue
		}
		r.Header.Add(textproto.CanonicalMIMEHeaderKey(k), strings.TrimSpace(v))
	}
	return r.WithContext(context.Background())
}

func isASCIIPrintable(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] >= 0x7f {
			return false
		}
	}
	return true
}

func isJSONObject(b []byte) bool {
	var m map[string]any
	return json.Unmarshal(b, &m) == nil && m != nil
}

// FuzzStartSnapshotBody checks the StartSnapshot JSON decoder against a
// reference decoding written independently with generic JSON values: the
// handler must accept exactly the bodies the reference accepts, with the
// same input, and answer every other body with SerializationException.
func FuzzStartSnapshotBody(f *testing.F) {
	for _, s := range []string{
		``, `{}`, `null`, ` {"VolumeSize": 8} `, `{"VolumeSize":"8"}`, `{"VolumeSize":8.0}`, `{"VolumeSize":-0}`,
		`{"volumeSize":8}`, `{"Tags":[{"Key":"k","Value":"v"},{}]}`, `{"Tags":[null]}`, `{"Tags":null,"Encrypted":false}`,
		`{"Description":"\ud800","ClientToken":"\u0000","KmsKeyArn":"arn","ParentSnapshotId":"snap-1","Timeout":4320}`,
		`{"VolumeSize":1,"VolumeSize":null}`, `[1]`, `{"a":{"b":[[[]]]}}`, `{"Timeout":9223372036854775808}`,
		"{\"Tags\":[{\"Key\":\"\xff\",\"Value\":\"\\ud83d\\ude00\"}],\"ClientToken\":\"\\udc00\\ufffd\xef\xbf\xbd\"}",
	} {
		f.Add([]byte(s))
	}
	// One handler for the whole run: a fuzz worker calls the target
	// sequentially, and building a handler per input would halve the rate.
	var got *snapshot.StartInput
	svc := &fakeService{discard: true, start: func(_ context.Context, in snapshot.StartInput) (*snapshot.SnapshotOutput, error) {
		got = &in
		return &snapshot.SnapshotOutput{SnapshotID: "snap-1", Status: ebs.StatusPending}, nil
	}}
	h := newHandler(f, svc)
	f.Fuzz(func(t *testing.T, body []byte) {
		got = nil
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest("POST", "/snapshots", bytes.NewReader(body)))

		want, ok, text := referenceStartInput(body)
		if ok && !text {
			if w.Code != 400 || w.Header().Get("X-Amzn-ErrorType") != "ValidationException" {
				t.Fatalf("body %q: status %d %s, want 400 ValidationException", body, w.Code, w.Header().Get("X-Amzn-ErrorType"))
			}
			if got != nil {
				t.Fatalf("body %q reached the service", body)
			}
			return
		}
		if !ok {
			if w.Code != 400 || w.Header().Get("X-Amzn-ErrorType") != "SerializationException" {
				t.Fatalf("body %q: status %d %s, want 400 SerializationException", body, w.Code, w.Header().Get("X-Amzn-ErrorType"))
			}
			if got != nil {
				t.Fatalf("body %q reached the service", body)
			}
			return
		}
		if w.Code != 201 || got == nil {
			t.Fatalf("body %q: status %d (%s), want 201", body, w.Code, w.Body)
		}
		want.AccountID = testAccount
		if formatStartInput(*got) != formatStartInput(want) {
			t.Fatalf("body %q:\n got %s\nwant %s", body, formatStartInput(*got), formatStartInput(want))
		}
	})
}

// referenceStartInput decodes a StartSnapshot body the slow, obvious way.
// ok reports whether it decodes; text whether its string members are the
// text they decode to.
func referenceStartInput(body []byte) (in snapshot.StartInput, ok, text bool) {
	if len(bytes.Trim(body, " \t\r\n")) == 0 {
		return in, true, true
	}
	d := json.NewDecoder(bytes.NewReader(body))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return in, false, true
	}
	if _, err := d.Token(); err != io.EOF {
		return in, false, true // trailing data
	}
	if v == nil {
		return in, true, true
	}
	obj, isObj := v.(map[string]any)
	if !isObj {
		return in, false, true
	}
	var raws map[string]json.RawMessage
	_ = json.Unmarshal(body, &raws)
	text = true
	str := func(m map[string]any, k string) (*string, bool) {
		switch x := m[k].(type) {
		case nil:
			return nil, true
		case string:
			return &x, true
		}
		return nil, false
	}
	// member is str that also checks the token's text.
	member := func(m map[string]any, raw map[string]json.RawMessage, k string) (*string, bool) {
		v, good := str(m, k)
		if v != nil && !referenceText(raw[k], *v) {
			text = false
		}
		return v, good
	}
	integer := func(k string) (*int64, bool) {
		switch x := obj[k].(type) {
		case nil:
			return nil, true
		case json.Number:
			n, err := strconv.ParseInt(x.String(), 10, 64)
			return &n, err == nil
		}
		return nil, false
	}
	ok = true
	check := func(good bool) {
		ok = ok && good
	}
	var good bool
	in.VolumeSize, good = integer("VolumeSize")
	check(good)
	in.Timeout, good = integer("Timeout")
	check(good)
	in.ParentSnapshotID, good = member(obj, raws, "ParentSnapshotId")
	check(good)
	in.Description, good = member(obj, raws, "Description")
	check(good)
	in.ClientToken, good = member(obj, raws, "ClientToken")
	check(good)
	in.KMSKeyARN, good = member(obj, raws, "KmsKeyArn")
	check(good)
	switch x := obj["Encrypted"].(type) {
	case nil:
	case bool:
		in.Encrypted = &x
	default:
		check(false)
	}
	switch x := obj["Tags"].(type) {
	case nil:
	case []any:
		in.Tags = []ebs.Tag{}
		var rawTags []map[string]json.RawMessage
		_ = json.Unmarshal(raws["Tags"], &rawTags)
		for i, e := range x {
			m, isMap := e.(map[string]any)
			if !isMap {
				check(false)
				break
			}
			k, good1 := member(m, rawTags[i], "Key")
			v, good2 := member(m, rawTags[i], "Value")
			check(good1 && good2)
			in.Tags = append(in.Tags, ebs.Tag{Key: deref(k), Value: deref(v)})
		}
	default:
		check(false)
	}
	return in, ok, text
}

// referenceText reports whether the JSON string token raw is the text s
// it decodes to: UTF-8, and with no U+FFFD in s that raw does not spell
// (the decoder puts one in place of whatever is not text).
func referenceText(raw []byte, s string) bool {
	if !utf8.Valid(raw) {
		return false
	}
	spelled := 0
	for i := 0; i < len(raw); {
		switch {
		case raw[i] == '\\' && raw[i+1] == 'u':
			if strings.EqualFold(string(raw[i+2:i+6]), "fffd") {
				spelled++
			}
			i += 6
		case raw[i] == '\\':
			i += 2
		default:
			r, n := utf8.DecodeRune(raw[i:])
			if r == utf8.RuneError {
				spelled++
			}
			i += n
		}
	}
	return strings.Count(s, "\ufffd") == spelled
}
