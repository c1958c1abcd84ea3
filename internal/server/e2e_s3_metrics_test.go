package server_test

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/ebs"
	"github.com/aws/aws-sdk-go-v2/service/ebs/types"

	"github.com/ebsd/ebsd/internal/ebstest"
	"github.com/ebsd/ebsd/internal/pack"
	"github.com/ebsd/ebsd/internal/snapshot"
)

// TestS3ContentsMetrics scrapes a distributed node's /metrics after puts
// and after a collection: the gauges of what the bucket holds
// (ebsd_s3_stored_*, ebsd_s3_live_bytes) follow the blocks stored, swept,
// and the groups retired.
func TestS3ContentsMetrics(t *testing.T) {
	cl := startCluster(t, 1)
	srv, c, url := cl.servers[0], cl.clients[0], cl.urls[0]

	// Two snapshots of 4 blocks each, one block at a time: a group each.
	ids := make([]string, 2)
	for s := range ids {
		ids[s] = startSnapshot(t, c, &ebs.StartSnapshotInput{})
		blocks := map[int32][]byte{}
		for i := range int32(4) {
			blocks[i] = ebstest.Random(uint64(100*s) + uint64(i) + 1)
		}
		mustPut(t, c, ids[s], blocks)
		if st := complete(t, c, ids[s], 4, ""); st != types.StatusCompleted {
			t.Fatalf("status %s", st)
		}
	}
	const (
		blocks  = `ebsd_s3_stored_blocks`
		live    = `ebsd_s3_live_bytes`
		sealedG = `ebsd_s3_stored_groups{state="sealed"}`
		sealedB = `ebsd_s3_stored_bytes{state="sealed"}`
		retireG = `ebsd_s3_stored_groups{state="retiring"}`
		retireB = `ebsd_s3_stored_bytes{state="retiring"}`
		writeG  = `ebsd_s3_stored_groups{state="writing"}`
		writeB  = `ebsd_s3_stored_bytes{state="writing"}`
	)
	m := scrapeMetrics(t, url)
	t.Logf("after puts: %v blocks, sealed %v groups / %v bytes, live %v", m[blocks], m[sealedG], m[sealedB], m[live])
	if m[blocks] != 8 || m[sealedG] != 8 || m[sealedB] < 8*ebstest.BlockSize || m[live] != m[sealedB] {
		t.Errorf("after 8 puts: %v blocks, %v sealed groups of %v bytes, %v live bytes; want 8 blocks in 8 groups, all live",
			m[blocks], m[sealedG], m[sealedB], m[live])
	}
	for _, s := range []string{writeG, writeB, retireG, retireB} {
		if v, ok := m[s]; !ok || v != 0 {
			t.Errorf("after puts: %s = %v (present %v), want 0", s, v, ok)
		}
	}
	before := m[sealedB]

	err := srv.Service().DeleteSnapshot(ctx, snapshot.DeleteInput{AccountID: ebstest.Alice.AccountID, SnapshotID: &ids[1]})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := srv.Collect(ctx)
	if err != nil {
		t.Fatalf("Collect: %v", err)
	}
	t.Logf("collect: %+v", rep)
	// The deleted snapshot's groups hold no live block: compaction retires
	// them, and the object grace (2 minutes) keeps their objects.
	m = scrapeMetrics(t, url)
	t.Logf("after a collection: %v blocks, sealed %v groups / %v bytes, retiring %v / %v, live %v",
		m[blocks], m[sealedG], m[sealedB], m[retireG], m[retireB], m[live])
	if m[blocks] != 4 || m[sealedG] != 4 || m[retireG] != 4 || m[sealedB]+m[retireB] != before {
		t.Errorf("after the collection: %v blocks, %v sealed and %v retiring groups of %v and %v bytes; "+
			"want 4 blocks, 4 and 4 groups of %v bytes in all", m[blocks], m[sealedG], m[retireG], m[sealedB], m[retireB], before)
	}
	// The sweep measured the kept groups: their entries, without the
	// groups' file headers.
	if want := m[sealedB] - m[sealedG]*pack.FileHeaderSize; m[live] != want {
		t.Errorf("after the collection: %v live bytes, want %v", m[live], want)
	}
}
