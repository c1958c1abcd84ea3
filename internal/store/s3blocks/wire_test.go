package s3blocks

import (
	"bytes"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// TestWireChecksum: group uploads are sent unsigned (no SHA-256 of the
// body) with their CRC-32C, and each engine refuses a body that does not
// match it: the check on the wire that the unsigned payload gives up.
func TestWireChecksum(t *testing.T) {
	forEngines(t, func(t *testing.T, h *harness) {
		s := h.open(t)
		body := bytes.Repeat([]byte("group bytes "), 1000)
		if err := s.objs.create(t.Context(), "good", body, true); err != nil {
			t.Fatalf("upload with its checksum: %v", err)
		}
		// The upload carried its CRC-32C: the server kept it.
		head, err := h.client.HeadObject(t.Context(), &s3.HeadObjectInput{Bucket: aws.String(h.bucket), Key: aws.String("good"),
			ChecksumMode: types.ChecksumModeEnabled})
		if err != nil {
			t.Fatalf("HeadObject: %v", err)
		}
		if got, want := aws.ToString(head.ChecksumCRC32C), *wireChecksum(body); got != want {
			t.Fatalf("%s stored the group upload with CRC-32C %q, want %q: the upload did not carry it", h.srv.Engine, got, want)
		}
		bad := append([]byte(nil), body...)
		bad[10] ^= 1
		_, err = h.client.PutObject(t.Context(), &s3.PutObjectInput{Bucket: aws.String(h.bucket), Key: aws.String("bad"),
			Body: bytes.NewReader(bad), ContentLength: aws.Int64(int64(len(bad))), ChecksumCRC32C: wireChecksum(body)}, unsignedPayload)
		if err == nil {
			t.Fatalf("%s stored a body whose CRC-32C does not match its header", h.srv.Engine)
		}
		got, err := s.objs.readRange(t.Context(), "good", 12, 24, nil)
		if err != nil || string(got) != string(body[12:36]) {
			t.Fatalf("ranged read of an object uploaded with a checksum: %q, %v", got, err)
		}
	})
}
