package server_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ebs"
	"github.com/aws/aws-sdk-go-v2/service/ebs/types"

	ebscreds "github.com/ebsd/ebsd/internal/credentials"
	"github.com/ebsd/ebsd/internal/ebstest"
	"github.com/ebsd/ebsd/internal/pgdb/pgtest"
	"github.com/ebsd/ebsd/internal/s3test"
	"github.com/ebsd/ebsd/internal/server"
)

// cluster is n ebsd nodes sharing one PostgreSQL database and one bucket,
// each with a data directory of its own (credentials and KMS files only).
type cluster struct {
	servers []*server.Server
	clients []*ebs.Client
	urls    []string
}

func startCluster(t *testing.T, n int) *cluster {
	t.Helper()
	return startClusterOn(t, n, pgtest.Start(t))
}

// startClusterOn is startCluster on the PostgreSQL database dsn.
func startClusterOn(t *testing.T, n int, dsn string) *cluster {
	t.Helper()
	return startClusterWith(t, n, dsn, "")
}

// startClusterWith is startClusterOn with the nodes' -compression.
func startClusterWith(t *testing.T, n int, dsn, compression string) *cluster {
	t.Helper()
	s3 := s3test.Start(t)
	bucket := s3.NewBucket(t)
	// The S3 client takes its credentials from the SDK's default chain.
	t.Setenv("AWS_ACCESS_KEY_ID", s3.AccessKey)
	t.Setenv("AWS_SECRET_ACCESS_KEY", s3.SecretKey)
	creds, err := ebscreds.New([]ebscreds.Credential{ebstest.Alice, ebstest.Bob})
	if err != nil {
		t.Fatal(err)
	}
	c := &cluster{}
	for i := range n {
		srv, err := server.Open(context.Background(), server.Options{
			DataDir: t.TempDir(), Credentials: creds, Region: "us-east-1", Compression: compression,
			Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
			Backends: server.Backends{Meta: dsn, Blocks: "s3://" + bucket + "/ebsd", Node: fmt.Sprintf("node%d", i),
				S3: server.S3Options{Endpoint: s3.Endpoint, PathStyle: true, Region: s3.Region}},
		})
		if err != nil {
			t.Fatalf("node %d: %v", i, err)
		}
		hs := httptest.NewServer(srv.Handler())
		t.Cleanup(func() {
			hs.Close()
			if err := srv.Close(); err != nil {
				t.Errorf("close node %d: %v", i, err)
			}
		})
		c.servers = append(c.servers, srv)
		c.urls = append(c.urls, hs.URL)
		c.clients = append(c.clients, ebstest.NewClient(hs.URL, ebstest.Alice, &http.Client{Timeout: time.Minute}))
	}
	return c
}

// TestDistributedNodes runs three nodes on one PostgreSQL database and one
// bucket and sends each step of a snapshot's life to another node: start
// on one (encrypted, with the account's default key, which another node
// must then know), put through all three at once, complete on another,
// list a page on one and the next page on another (the token secret is
// shared), read from a third; a retried StartSnapshot on another node
// replays the first; an incremental child started elsewhere reads through
// its parent, and ListChangedBlocks agrees on every node.
func TestDistributedNodes(t *testing.T) {
	c := startCluster(t, 3)
	n0, n1, n2 := c.clients[0], c.clients[1], c.clients[2]
	token := "distributed-start-1"
	in := &ebs.StartSnapshotInput{VolumeSize: aws.Int64(1), Encrypted: aws.Bool(true), ClientToken: &token}
	out, err := n0.StartSnapshot(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	id := *out.SnapshotId
	again, err := n2.StartSnapshot(ctx, in)
	if err != nil || *again.SnapshotId != id {
		t.Fatalf("retried StartSnapshot on another node = %v, %v; want %s", again, err, id)
	}

	const nBlocks = 110 // more than a page of 100, the least MaxResults
	want := map[int32][]byte{}
	for i := range int32(nBlocks) {
		want[i*3] = ebstest.Random(uint64(1000 + i))
	}
	var wg sync.WaitGroup
	var idx int
	for i, data := range want {
		node := c.clients[idx%3]
		idx++
		wg.Go(func() {
			if err := putBlock(node, id, i, data); err != nil {
				t.Errorf("put %d: %v", i, err)
			}
		})
	}
	wg.Wait()
	if st := complete(t, n1, id, nBlocks, ""); st != types.StatusCompleted {
		t.Fatalf("status %s", st)
	}

	// A page from one node, the next from another.
	first, err := n1.ListSnapshotBlocks(ctx, &ebs.ListSnapshotBlocksInput{SnapshotId: &id, MaxResults: aws.Int32(100)})
	if err != nil || first.NextToken == nil {
		t.Fatalf("first page: %v", err)
	}
	second, err := n2.ListSnapshotBlocks(ctx, &ebs.ListSnapshotBlocksInput{SnapshotId: &id, MaxResults: aws.Int32(100), NextToken: first.NextToken})
	if err != nil {
		t.Fatalf("next page on another node: %v", err)
	}
	blocks := append(first.Blocks, second.Blocks...)
	if len(blocks) != nBlocks {
		t.Fatalf("listed %d blocks, want %d", len(blocks), nBlocks)
	}
	got := map[int32][]byte{}
	for k, b := range blocks {
		got[*b.BlockIndex] = getBlock(t, c.clients[k%3], id, *b.BlockIndex, *b.BlockToken)
	}
	sameBlocks(t, got, want)

	// A child on another node, changing two blocks.
	child := startSnapshot(t, n2, &ebs.StartSnapshotInput{VolumeSize: aws.Int64(1), ParentSnapshotId: &id})
	mustPut(t, n0, child, map[int32][]byte{3: ebstest.Payload("c3"), 100: ebstest.Payload("c100")})
	if st := complete(t, n1, child, 2, ""); st != types.StatusCompleted {
		t.Fatalf("child status %s", st)
	}
	want[3], want[100] = ebstest.Payload("c3"), ebstest.Payload("c100")
	sameBlocks(t, readAll(t, n0, child), want)
	for i, node := range c.clients {
		ch, err := node.ListChangedBlocks(ctx, &ebs.ListChangedBlocksInput{FirstSnapshotId: &id, SecondSnapshotId: &child})
		if err != nil || len(ch.ChangedBlocks) != 2 {
			t.Fatalf("node %d ListChangedBlocks = %d blocks, %v; want 2", i, len(ch.ChangedBlocks), err)
		}
	}

	// Every distinct block went up once, in fewer PUTs than blocks.
	var blocksUp, puts float64
	for _, u := range c.urls {
		m := scrapeMetrics(t, u)
		blocksUp += m[`ebsd_s3_blocks_total`]
		puts += m[`ebsd_s3_requests_total{op="put"}`]
	}
	if blocksUp != nBlocks+2 || puts == 0 || puts >= blocksUp {
		t.Errorf("the nodes uploaded %v blocks in %v PUTs; want %d blocks in fewer PUTs", blocksUp, puts, nBlocks+2)
	}
}

// scrapeMetrics reads a server's /metrics into a map from series (name and
// labels as written) to value.
func scrapeMetrics(t *testing.T, base string) map[string]float64 {
	t.Helper()
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, line := range strings.Split(string(body), "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if v, err := strconv.ParseFloat(line[i+1:], 64); err == nil {
			out[line[:i]] = v
		}
	}
	return out
}

// TestDistributedPostgresRestart stops PostgreSQL under a running node:
// requests fail with 503 ServiceUnavailableException, which every SDK
// retries, not with a 500; once PostgreSQL is back the same node serves
// them again without a restart, and nothing acknowledged is lost.
func TestDistributedPostgresRestart(t *testing.T) {
	pg := pgtest.NewCluster(t)
	c := startClusterOn(t, 1, pg.Database(t))
	n := c.clients[0]
	id := startSnapshot(t, n, &ebs.StartSnapshotInput{VolumeSize: aws.Int64(1)})
	want := map[int32][]byte{0: ebstest.Random(1)}
	mustPut(t, n, id, want)

	if err := pg.Stop(); err != nil {
		t.Fatal(err)
	}
	err := putBlock(n, id, 1, ebstest.Random(2))
	checkError(t, err, 503, "ServiceUnavailableException", "", "retry later")
	_, err = n.StartSnapshot(ctx, &ebs.StartSnapshotInput{VolumeSize: aws.Int64(1)})
	checkError(t, err, 503, "ServiceUnavailableException", "", "retry later")

	if err := pg.Start(); err != nil {
		t.Fatal(err)
	}
	// The pool reconnects on its own; give the first calls a few tries.
	want[1] = ebstest.Random(2)
	for attempt := 0; ; attempt++ {
		err := putBlock(n, id, 1, want[1])
		if err == nil {
			break
		}
		if attempt == 20 {
			t.Fatalf("PutSnapshotBlock after PostgreSQL restarted: %v", err)
		}
		time.Sleep(250 * time.Millisecond)
	}
	if st := complete(t, n, id, 2, ""); st != types.StatusCompleted {
		t.Fatalf("status %s", st)
	}
	sameBlocks(t, readAll(t, n, id), want)
}
