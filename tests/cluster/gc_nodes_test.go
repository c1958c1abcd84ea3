package cluster_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ebs"
	"github.com/aws/aws-sdk-go-v2/service/ebs/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"

	"github.com/ebsd/ebsd/internal/ebstest"
)

// The load of TestCollectWhileNodesWrite. EBSD_LONG=1 writes for a minute.
const (
	gcWriteFor   = 10 * time.Second
	gcUploaders  = 9
	gcDeleters   = 2
	gcPoolSize   = 24
	gcBlocksEach = 4
	gcKeepEvery  = 4
)

// TestCollectWhileNodesWrite runs three nodes whose in-server collectors
// try to collect every second, while uploaders on all three write
// snapshots of a few blocks each from a small pool of contents, each call
// to a node at random, and deleters delete three snapshots of four soon
// after they complete. Most puts are then dedup hits on blocks that
// deleted snapshots also map, and the collections keep purging those and
// sweeping the pool's blocks. A put on one node whose block was touched
// before another node's collection armed, and mapped after its mark, is
// what the fence keeps from being swept under the mapping
// (docs/distributed.md, "Garbage collection"). Once the writers stop and
// one more collection ran, every block of every kept snapshot must read
// back bit for bit from a node other than the one that acknowledged it,
// and the nodes' metrics and logs must show collections that swept, on
// more than one node or skipped by some, never two at once.
//
// The pool is rotated: a content a kept snapshot maps is live for good,
// so each put of a kept snapshot takes its content out of the pool and
// puts a fresh one in (a miss, later: the price in dedup hits). With a
// fixed pool every content would soon be mapped by a kept snapshot,
// nothing in the pool would be swept any more, and a missing fence could
// not lose anything. A kept put takes the content that became idle last
// (every snapshot that took it deleted), the fence's case, and the one
// least likely to be swept already.
func TestCollectWhileNodesWrite(t *testing.T) {
	writeFor := gcWriteFor
	if os.Getenv("EBSD_LONG") == "1" {
		writeFor = time.Minute
	}
	d := newDeployment(t)
	// -gc-interval 1s: the first collection is min(1 minute, interval)
	// after start-up (internal/server/collector.go), so every node tries
	// every second from the first. JSON logs give the collections'
	// times and durations to the nanosecond; debug adds the fence's
	// refusals.
	flags := []string{"-gc-interval", "1s", "-log-level", "debug", "-log-format", "json"}
	nodes := []*node{d.start(t, "n0", flags...), d.start(t, "n1", flags...), d.start(t, "n2", flags...)}
	cl := make([]nodeClients, len(nodes))
	for i, n := range nodes {
		cl[i] = newNodeClients(n.Endpoint)
	}
	ctx := context.Background()

	pool := newContentPool(gcPoolSize)
	var (
		seq, puts, deleted atomic.Int64
		stop               atomic.Bool
		mu                 sync.Mutex
		kept               []keptSnapshot
		uploaders, dels    sync.WaitGroup
	)
	doomed := make(chan keptSnapshot, 1024)
	for range gcUploaders {
		uploaders.Go(func() {
			for !stop.Load() {
				keep := seq.Add(1)%gcKeepEvery == 0
				k, err := uploadFromPool(ctx, cl, pool, keep, &puts)
				if err != nil {
					t.Error(err)
					return
				}
				if !keep {
					doomed <- k
					continue
				}
				mu.Lock()
				kept = append(kept, k)
				mu.Unlock()
			}
		})
	}
	for range gcDeleters {
		dels.Go(func() {
			for k := range doomed {
				c := cl[rand.IntN(len(cl))]
				if _, err := c.ec2.DeleteSnapshot(ctx, &ec2.DeleteSnapshotInput{SnapshotId: &k.id}); err != nil {
					t.Errorf("DeleteSnapshot %s: %v", k.id, err)
					continue
				}
				pool.release(k.seeds)
				deleted.Add(1)
			}
		})
	}
	time.Sleep(writeFor)
	stop.Store(true)
	uploaders.Wait() // each finishes the snapshot it is writing
	close(doomed)
	dels.Wait()
	if t.Failed() {
		dumpErrors(t, nodes)
		t.FailNow()
	}

	// One more collection, begun after the last delete: two more runs
	// across the nodes, since one may have begun before.
	before := gcRuns(t, cl)
	deadline := time.Now().Add(10 * time.Second)
	for gcRuns(t, cl) < before+2 {
		if time.Now().After(deadline) {
			t.Fatalf("no collection ran in the 10 s after the writers stopped (%v runs before)", before)
		}
		time.Sleep(100 * time.Millisecond)
	}

	lost := verifyKept(ctx, t, cl, kept)

	// What the nodes say they did.
	var runs, swept, uploaded float64
	var perNode []string
	var all []gcInterval
	collected := 0
	var skipped, fenced int
	for i, n := range nodes {
		m := scrapeMetrics(t, cl[i].endpoint)
		ok := m[`ebsd_gc_runs_total{result="ok"}`]
		runs += ok
		swept += m["ebsd_gc_keys_swept_total"]
		uploaded += m["ebsd_s3_blocks_total"]
		if m[`ebsd_gc_runs_total{result="error"}`] > 0 {
			t.Errorf("node %s: %v failed collections", n.name, m[`ebsd_gc_runs_total{result="error"}`])
		}
		lg := parseNodeLog(t, n)
		skipped += lg.skipped
		fenced += lg.fenced
		for _, e := range lg.failed {
			t.Errorf("node %s: garbage collection failed: %s", n.name, e)
		}
		if ok > 0 {
			collected++
		}
		for k := range lg.runs {
			lg.runs[k].node = n.name
		}
		all = append(all, lg.runs...)
		perNode = append(perNode, fmt.Sprintf("%s %v ok (%d logged, %d keys swept), %d skipped", n.name, ok, len(lg.runs), lg.swept, lg.skipped))
	}
	t.Logf("%d snapshots (%d kept, %d deleted), %d puts, %v blocks uploaded, so %v dedup hits (%.0f%%); "+
		"%d puts of kept snapshots took a content that only since-deleted snapshots had taken; %d writes fenced out and stored again",
		seq.Load(), len(kept), deleted.Load(), puts.Load(), uploaded, float64(puts.Load())-uploaded,
		100*(float64(puts.Load())-uploaded)/float64(puts.Load()), pool.idleTakes, fenced)
	t.Logf("collections: %v ok, %v keys swept; %s", runs, swept, strings.Join(perNode, "; "))
	if len(lost) > 0 {
		t.Errorf("%d of %d blocks of kept snapshots did not read back, e.g.:\n%s", len(lost), len(kept)*gcBlocksEach,
			strings.Join(lost[:min(len(lost), 10)], "\n"))
	}
	if runs < 5 || swept == 0 {
		t.Errorf("%v collections swept %v keys: the run did not collect while nodes wrote", runs, swept)
	}
	if collected < 2 && skipped == 0 {
		t.Errorf("one node collected and none was ever skipped: the nodes did not contend for collections")
	}
	slices.SortFunc(all, func(a, b gcInterval) int { return a.start.Compare(b.start) })
	for i := 1; i < len(all); i++ {
		if p, c := all[i-1], all[i]; c.start.Before(p.end) {
			t.Errorf("collections overlapped: %s from %v to %v, %s from %v", p.node, p.start.Format(time.StampMicro),
				p.end.Format(time.StampMicro), c.node, c.start.Format(time.StampMicro))
		}
	}
	if t.Failed() {
		dumpErrors(t, nodes)
	}
}

// nodeClients are the clients of one node.
type nodeClients struct {
	endpoint string
	ebs      *ebs.Client
	ec2      *ec2.Client
}

func newNodeClients(endpoint string) nodeClients {
	return nodeClients{
		endpoint: endpoint,
		ebs:      ebstest.NewClient(endpoint, ebstest.Alice, &http.Client{Timeout: 30 * time.Second}),
		ec2: ec2.New(ec2.Options{Region: "us-east-1", BaseEndpoint: aws.String(endpoint), RetryMaxAttempts: 1,
			Credentials: credentials.NewStaticCredentialsProvider(ebstest.Alice.AccessKeyID, ebstest.Alice.SecretAccessKey, "")}),
	}
}

// keptSnapshot is a snapshot the test keeps, and what it must read back.
type keptSnapshot struct {
	id      string
	seeds   []uint64 // ebstest.Random(seeds[i]) is block i
	writers []int    // the node that acknowledged block i
}

// contentPool is the small set of block contents the uploaders write.
type contentPool struct {
	mu    sync.Mutex
	seeds []uint64
	data  map[uint64][]byte
	next  uint64
	// users counts, per content in the pool that a snapshot to be
	// deleted took, those not deleted yet, and idle is when the last of
	// them was. idleTakes counts the takes for kept snapshots of a
	// content whose users were all deleted: the puts a missing fence
	// can lose, if no collection swept the content before.
	users     map[uint64]int
	idle      map[uint64]time.Time
	idleTakes int
}

func newContentPool(n int) *contentPool {
	p := &contentPool{data: make(map[uint64][]byte), users: make(map[uint64]int), idle: make(map[uint64]time.Time), next: 1 << 40}
	for range n {
		p.seeds = append(p.seeds, p.fresh())
	}
	return p
}

// fresh returns a content not in the pool before. p.mu must be held or p
// not shared yet.
func (p *contentPool) fresh() uint64 {
	s := p.next
	p.next++
	p.data[s] = ebstest.Random(s)
	return s
}

// take returns a content of the pool at random, for a snapshot to be
// deleted. For a kept snapshot (retire) it returns the content that became
// idle last, if one is (the one least likely swept already, so that the
// put is a dedup hit on it), and replaces it with a fresh one.
func (p *contentPool) take(retire bool) (uint64, []byte) {
	p.mu.Lock()
	defer p.mu.Unlock()
	i := rand.IntN(len(p.seeds))
	if !retire {
		s := p.seeds[i]
		p.users[s]++
		delete(p.idle, s)
		return s, p.data[s]
	}
	for j, s := range p.seeds {
		if t, ok := p.idle[s]; ok && t.After(p.idle[p.seeds[i]]) {
			i = j
		}
	}
	s := p.seeds[i]
	if _, ok := p.idle[s]; ok {
		p.idleTakes++
	}
	data := p.data[s]
	delete(p.data, s)
	delete(p.users, s)
	delete(p.idle, s)
	p.seeds[i] = p.fresh()
	return s, data
}

// release records that a snapshot that took seeds was deleted.
func (p *contentPool) release(seeds []uint64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, s := range seeds {
		if n, ok := p.users[s]; ok {
			p.users[s] = n - 1
			if n == 1 {
				p.idle[s] = time.Now()
			}
		}
	}
}

// uploadFromPool writes and completes one snapshot of gcBlocksEach blocks
// from pool, each call to a node at random.
func uploadFromPool(ctx context.Context, cl []nodeClients, pool *contentPool, keep bool, puts *atomic.Int64) (keptSnapshot, error) {
	var k keptSnapshot
	out, err := cl[rand.IntN(len(cl))].ebs.StartSnapshot(ctx, &ebs.StartSnapshotInput{VolumeSize: aws.Int64(1)})
	if err != nil {
		return k, fmt.Errorf("StartSnapshot: %w", err)
	}
	k.id = *out.SnapshotId
	var blocks [][]byte
	for i := range int32(gcBlocksEach) {
		seed, data := pool.take(keep)
		w := rand.IntN(len(cl))
		_, err := cl[w].ebs.PutSnapshotBlock(ctx, &ebs.PutSnapshotBlockInput{SnapshotId: &k.id, BlockIndex: aws.Int32(i),
			BlockData: bytes.NewReader(data), DataLength: aws.Int32(int32(len(data))), Checksum: aws.String(ebstest.Checksum(data)),
			ChecksumAlgorithm: types.ChecksumAlgorithmChecksumAlgorithmSha256})
		if err != nil {
			return k, fmt.Errorf("PutSnapshotBlock %s[%d] on node %d: %w", k.id, i, w, err)
		}
		puts.Add(1)
		k.seeds, k.writers, blocks = append(k.seeds, seed), append(k.writers, w), append(blocks, data)
	}
	sum := ebstest.Linear(blocks...)
	in := &ebs.CompleteSnapshotInput{SnapshotId: &k.id, ChangedBlocksCount: aws.Int32(gcBlocksEach),
		Checksum: &sum, ChecksumAlgorithm: types.ChecksumAlgorithmChecksumAlgorithmSha256,
		ChecksumAggregationMethod: types.ChecksumAggregationMethodChecksumAggregationLinear}
	if _, err := cl[rand.IntN(len(cl))].ebs.CompleteSnapshot(ctx, in); err != nil {
		return k, fmt.Errorf("CompleteSnapshot %s: %w", k.id, err)
	}
	if keep {
		// Completion is checked before it answers; a repeat reports it.
		st, err := cl[rand.IntN(len(cl))].ebs.CompleteSnapshot(ctx, in)
		if err != nil || st.Status != types.StatusCompleted {
			return k, fmt.Errorf("snapshot %s is %v after its completion (%v)", k.id, st, err)
		}
	}
	return k, nil
}

// verifyKept reads every block of every kept snapshot, each from a node
// other than the one that acknowledged it, and returns what did not read
// back bit for bit.
func verifyKept(ctx context.Context, t *testing.T, cl []nodeClients, kept []keptSnapshot) (lost []string) {
	t.Helper()
	for _, k := range kept {
		c := cl[(k.writers[0]+1)%len(cl)].ebs
		page, err := c.ListSnapshotBlocks(ctx, &ebs.ListSnapshotBlocksInput{SnapshotId: &k.id})
		if err != nil {
			t.Errorf("ListSnapshotBlocks %s: %v", k.id, err)
			continue
		}
		if len(page.Blocks) != gcBlocksEach {
			t.Errorf("snapshot %s lists %d blocks, want %d", k.id, len(page.Blocks), gcBlocksEach)
		}
		for _, b := range page.Blocks {
			i := *b.BlockIndex
			if i < 0 || int(i) >= len(k.seeds) {
				t.Errorf("snapshot %s lists block %d, which was never written", k.id, i)
				continue
			}
			r := (k.writers[i] + 1 + rand.IntN(len(cl)-1)) % len(cl)
			got, err := cl[r].ebs.GetSnapshotBlock(ctx, &ebs.GetSnapshotBlockInput{SnapshotId: &k.id, BlockIndex: &i, BlockToken: b.BlockToken})
			if err != nil {
				lost = append(lost, fmt.Sprintf("%s[%d] (put on n%d, read on n%d): %v", k.id, i, k.writers[i], r, err))
				continue
			}
			data, err := io.ReadAll(got.BlockData)
			got.BlockData.Close()
			if err != nil || !bytes.Equal(data, ebstest.Random(k.seeds[i])) {
				lost = append(lost, fmt.Sprintf("%s[%d] (put on n%d, read on n%d): %d bytes that differ (%v)", k.id, i, k.writers[i], r, len(data), err))
			}
		}
	}
	return lost
}

// gcRuns returns the collections that succeeded on every node so far.
func gcRuns(t *testing.T, cl []nodeClients) float64 {
	t.Helper()
	var n float64
	for _, c := range cl {
		n += scrapeMetrics(t, c.endpoint)[`ebsd_gc_runs_total{result="ok"}`]
	}
	return n
}

// scrapeMetrics returns the samples of endpoint's /metrics by their name
// and labels as the text format writes them.
func scrapeMetrics(t *testing.T, endpoint string) map[string]float64 {
	t.Helper()
	resp, err := http.Get(endpoint + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	m := make(map[string]float64)
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		i := strings.LastIndexByte(line, ' ')
		if strings.HasPrefix(line, "#") || i < 0 {
			continue
		}
		if v, err := strconv.ParseFloat(line[i+1:], 64); err == nil {
			m[line[:i]] = v
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return m
}

// gcInterval is when one collection ran: its logged end and duration.
type gcInterval struct {
	node       string
	start, end time.Time
}

// nodeLog is what a node's JSON log says about its collections.
type nodeLog struct {
	runs    []gcInterval
	swept   int64
	skipped int      // "garbage collection skipped": another node's ran
	fenced  int      // writes the fence refused, stored again
	failed  []string // errors of failed collections
}

func parseNodeLog(t *testing.T, n *node) nodeLog {
	t.Helper()
	var lg nodeLog
	for line := range strings.Lines(n.logs()) {
		var r struct {
			Time     time.Time `json:"time"`
			Msg      string    `json:"msg"`
			Duration int64     `json:"duration"` // nanoseconds
			Swept    int64     `json:"swept_keys"`
			Err      string    `json:"err"`
		}
		if json.Unmarshal([]byte(line), &r) != nil {
			continue
		}
		switch {
		case r.Msg == "garbage collection done":
			lg.runs = append(lg.runs, gcInterval{start: r.Time.Add(-time.Duration(r.Duration)), end: r.Time})
			lg.swept += r.Swept
		case r.Msg == "garbage collection failed":
			lg.failed = append(lg.failed, r.Err)
		case strings.HasPrefix(r.Msg, "garbage collection skipped"):
			lg.skipped++
		case strings.HasPrefix(r.Msg, "block write fenced out"):
			lg.fenced++
		}
	}
	return lg
}

// logs returns what n wrote to stderr so far; the process may still be
// writing.
func (n *node) logs() string {
	lw := n.cmd.Stderr.(*lockedWriter)
	lw.mu.Lock()
	defer lw.mu.Unlock()
	return n.stderr.String()
}

// dumpErrors logs the warnings and errors of every node, for a failure.
func dumpErrors(t *testing.T, nodes []*node) {
	t.Helper()
	for _, n := range nodes {
		var lines []string
		for line := range strings.Lines(n.logs()) {
			if strings.Contains(line, `"level":"WARN"`) || strings.Contains(line, `"level":"ERROR"`) {
				lines = append(lines, strings.TrimSpace(line))
			}
		}
		if len(lines) > 20 {
			lines = append(lines[:20], fmt.Sprintf("… and %d more", len(lines)-20))
		}
		t.Logf("node %s warnings and errors:\n%s", n.name, strings.Join(lines, "\n"))
	}
}
