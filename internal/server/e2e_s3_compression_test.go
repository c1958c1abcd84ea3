package server_test

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ebs"
	"github.com/aws/aws-sdk-go-v2/service/ebs/types"

	ebscreds "github.com/ebsd/ebsd/internal/credentials"
	"github.com/ebsd/ebsd/internal/ebstest"
	"github.com/ebsd/ebsd/internal/pgdb/pgtest"
	"github.com/ebsd/ebsd/internal/s3test"
	"github.com/ebsd/ebsd/internal/server"
)

// TestS3Compression checks that -compression reaches the S3 block store:
// under either zstd setting a distributed node stores compressible blocks
// compressed, and the gauges of the bucket (ebsd_s3_stored_bytes,
// ebsd_s3_live_bytes) count the stored bytes, not the blocks'; with off
// it stores them as they are. The blocks read back either way.
func TestS3Compression(t *testing.T) {
	const n = 4
	for _, tc := range []struct {
		compression string
		compressed  bool
	}{{"zstd", true}, {"zstd-on-write", true}, {"off", false}} {
		t.Run(tc.compression, func(t *testing.T) {
			s3 := s3test.Start(t)
			bucket := s3.NewBucket(t)
			t.Setenv("AWS_ACCESS_KEY_ID", s3.AccessKey)
			t.Setenv("AWS_SECRET_ACCESS_KEY", s3.SecretKey)
			creds, err := ebscreds.New([]ebscreds.Credential{ebstest.Alice})
			if err != nil {
				t.Fatal(err)
			}
			srv, err := server.Open(ctx, server.Options{
				DataDir: t.TempDir(), Credentials: creds, Region: "us-east-1", Compression: tc.compression,
				Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
				Backends: server.Backends{Meta: pgtest.Start(t), Blocks: "s3://" + bucket + "/ebsd", Node: "node0",
					S3: server.S3Options{Endpoint: s3.Endpoint, PathStyle: true, Region: s3.Region}},
			})
			if err != nil {
				t.Fatal(err)
			}
			hs := httptest.NewServer(srv.Handler())
			t.Cleanup(func() {
				hs.Close()
				if err := srv.Close(); err != nil {
					t.Errorf("close: %v", err)
				}
			})
			c := ebstest.NewClient(hs.URL, ebstest.Alice, &http.Client{Timeout: time.Minute})

			id := startSnapshot(t, c, &ebs.StartSnapshotInput{})
			blocks := map[int32][]byte{}
			for i := range int32(n) {
				blocks[i] = ebstest.Payload(fmt.Sprint(i)) // text: zstd shrinks it to almost nothing
			}
			mustPut(t, c, id, blocks)
			if st := complete(t, c, id, n, ""); st != types.StatusCompleted {
				t.Fatalf("status %s", st)
			}
			m := scrapeMetrics(t, hs.URL)
			sealed, live := m[`ebsd_s3_stored_bytes{state="sealed"}`], m[`ebsd_s3_live_bytes`]
			t.Logf("-compression %s: %d blocks of %d bytes: %v sealed bytes, %v live", tc.compression, n, ebstest.BlockSize, sealed, live)
			if small := sealed < n*ebstest.BlockSize/16; small != tc.compressed || live != sealed {
				t.Errorf("-compression %s: %v sealed bytes, %v live, for %d blocks of %d bytes: want them compressed %v, all live",
					tc.compression, sealed, live, n, ebstest.BlockSize, tc.compressed)
			}
			for i, tok := range listAll(t, c, id, 100) {
				if got := getBlock(t, c, id, i, tok); !bytes.Equal(got, blocks[i]) {
					t.Errorf("block %d read back other bytes", i)
				}
			}
		})
	}
}
