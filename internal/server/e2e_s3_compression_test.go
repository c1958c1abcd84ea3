package server_test

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/ebs"
	"github.com/aws/aws-sdk-go-v2/service/ebs/types"

	"github.com/ebsd/ebsd/internal/ebstest"
	"github.com/ebsd/ebsd/internal/pgdb/pgtest"
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
			cl := startClusterWith(t, 1, pgtest.Start(t), tc.compression)
			c, url := cl.clients[0], cl.urls[0]

			id := startSnapshot(t, c, &ebs.StartSnapshotInput{})
			blocks := map[int32][]byte{}
			for i := range int32(n) {
				blocks[i] = ebstest.Payload(fmt.Sprint(i)) // text: zstd shrinks it to almost nothing
			}
			mustPut(t, c, id, blocks)
			if st := complete(t, c, id, n, ""); st != types.StatusCompleted {
				t.Fatalf("status %s", st)
			}
			m := scrapeMetrics(t, url)
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
