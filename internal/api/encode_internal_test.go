package api

import (
	"encoding/json"
	"testing"
	"time"
)

func TestAppendTimestamp(t *testing.T) {
	tests := []struct {
		t    time.Time
		want string
	}{
		{time.UnixMilli(1790337440328), "1790337440.328"},
		{time.UnixMilli(1790337440570), "1790337440.57"},
		{time.UnixMilli(1790337440000), "1790337440"},
		{time.Unix(1790337440, 999999999), "1790337440.999"}, // truncated to the millisecond
		{time.UnixMilli(1), "0.001"},
		{time.Time{}, "null"},
	}
	for _, tc := range tests {
		if got := string(appendTimestamp(nil, tc.t)); got != tc.want {
			t.Errorf("appendTimestamp(%v) = %s, want %s", tc.t, got, tc.want)
		}
	}
}

func TestAppendString(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", `""`},
		{"plain", `"plain"`},
		{`q"b\`, `"q\"b\\"`},
		{"\n\r\t\x00\x1f", `"\n\r\t\u0000\u001f"`},
		{"<&>", `"<&>"`},
		{"é€😀", `"é€😀"`},
		{"a\xffb", `"a\ufffdb"`},
		{"\u2028\u2029", `"\u2028\u2029"`},
	}
	for _, tc := range tests {
		if got := string(appendString(nil, tc.in)); got != tc.want {
			t.Errorf("appendString(%q) = %s, want %s", tc.in, got, tc.want)
		}
	}
}

// FuzzAppendString checks that appendString always yields a JSON string
// that decodes to what encoding/json would make of the same Go string.
func FuzzAppendString(f *testing.F) {
	for _, s := range []string{"", "a\"\\\x00", "\xff\xfe", "\u2028", "\xed\xa0\x80", "日本\x80"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var got, want string
		if err := json.Unmarshal(appendString(nil, s), &got); err != nil {
			t.Fatalf("appendString(%q) is not a JSON string: %v", s, err)
		}
		ref, _ := json.Marshal(s)
		if err := json.Unmarshal(ref, &want); err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Fatalf("appendString(%q) decodes to %q, encoding/json's to %q", s, got, want)
		}
	})
}

func TestRequestIDFormat(t *testing.T) {
	for range 100 {
		id := newRequestID()
		if len(id) != 36 || id[8] != '-' || id[13] != '-' || id[18] != '-' || id[23] != '-' || id[14] != '4' {
			t.Fatalf("request ID %q is not a UUIDv4", id)
		}
		switch id[19] {
		case '8', '9', 'a', 'b':
		default:
			t.Fatalf("request ID %q has the wrong variant", id)
		}
	}
}
