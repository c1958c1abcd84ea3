package sigv4_test

import (
	"net/http"
	"testing"
)

// BenchmarkVerifyPutSnapshotBlock measures Verify on a PutSnapshotBlock as
// aws-sdk-go-v2 sends it (UNSIGNED-PAYLOAD, eleven signed headers): the
// cost paid on every block written.
func BenchmarkVerifyPutSnapshotBlock(b *testing.B) {
	r := sdkSigned(b, putBlockSpec(block(524288)))
	v := newVerifier(signTime)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Verify(r); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerifyListSnapshotBlocks measures Verify on a GET with a query.
func BenchmarkVerifyListSnapshotBlocks(b *testing.B) {
	r := sdkSigned(b, reqSpec{method: http.MethodGet,
		url: "http://127.0.0.1:8080/snapshots/snap-0123456789abcdef0/blocks?maxResults=100&pageToken=abc%2B%2F%3D&startingBlockIndex=3"})
	v := newVerifier(signTime)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Verify(r); err != nil {
			b.Fatal(err)
		}
	}
}
