package server

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ebsd/ebsd/internal/store/s3blocks"
)

// registerS3Metrics exports what the S3 block store sent to object
// storage, which bills per request: the requests by kind, the bytes moved,
// and the blocks and groups this node uploaded (so that requests per GiB
// written is rate(ebsd_s3_requests_total{op="put"}) over
// rate(ebsd_s3_block_bytes_total), times 2^30); and what the bucket holds,
// for every node, from the shared index (s3blocks.Contents).
//
// The gauges are ebsd_s3_stored_*, not ebsd_s3_groups and the like: the
// OpenMetrics exposition names a counter's family without its _total, so
// a gauge ebsd_s3_groups would share a family name with the counter
// ebsd_s3_groups_total.
func registerS3Metrics(reg prometheus.Registerer, bs *s3blocks.Store, log *slog.Logger) {
	reg.MustRegister(&s3Collector{bs: bs, log: log,
		requests: prometheus.NewDesc("ebsd_s3_requests_total", "Requests this node sent to the object store, by kind.", []string{"op"}, nil),
		bytes:    prometheus.NewDesc("ebsd_s3_bytes_total", "Bytes of request and response bodies this node moved to and from the object store.", []string{"direction"}, nil),
		blocks:   prometheus.NewDesc("ebsd_s3_blocks_total", "Blocks this node uploaded in group objects (deduplicated blocks not counted).", nil, nil),
		raw:      prometheus.NewDesc("ebsd_s3_block_bytes_total", "Bytes of the blocks this node uploaded in group objects.", nil, nil),
		groups:   prometheus.NewDesc("ebsd_s3_groups_total", "Group objects this node uploaded and sealed.", nil, nil),

		storedGroups: prometheus.NewDesc("ebsd_s3_stored_groups",
			"Group objects in the bucket, all nodes', by state: writing (being uploaded, or orphaned by a node that died), "+
				"sealed, retiring (deleted after the object grace). From the shared index, at most 30 s old.", []string{"state"}, nil),
		storedBytes: prometheus.NewDesc("ebsd_s3_stored_bytes",
			"Bytes of the group objects in the bucket, all nodes', by state. From the shared index, at most 30 s old.", []string{"state"}, nil),
		liveBytes: prometheus.NewDesc("ebsd_s3_live_bytes",
			"Bytes of the entries the index names in sealed groups, as the last sweep measured (a group sealed since counts whole); "+
				`ebsd_s3_stored_bytes{state="sealed"} minus this is what compaction can reclaim.`, nil, nil),
		storedBlocks: prometheus.NewDesc("ebsd_s3_stored_blocks",
			fmt.Sprintf("Distinct blocks the shared index holds (after deduplication): exact up to %d, PostgreSQL's estimate above.", s3blocks.ExactBlocks), nil, nil),
	})
}

// s3Collector reads the store's counters, and the bucket's contents, at
// scrape time.
type s3Collector struct {
	bs                                   *s3blocks.Store
	log                                  *slog.Logger
	requests, bytes, blocks, raw, groups *prometheus.Desc
	// From the index: s3blocks.Contents.
	storedGroups, storedBytes, liveBytes, storedBlocks *prometheus.Desc
}

// s3ContentsTimeout bounds a scrape's index queries.
const s3ContentsTimeout = 5 * time.Second

func (c *s3Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.requests, c.bytes, c.blocks, c.raw, c.groups,
		c.storedGroups, c.storedBytes, c.liveBytes, c.storedBlocks} {
		ch <- d
	}
}

func (c *s3Collector) Collect(ch chan<- prometheus.Metric) {
	st := c.bs.Stats()
	counter := func(d *prometheus.Desc, v int64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	counter(c.requests, st.Puts, "put")
	counter(c.requests, st.Gets, "get")
	counter(c.requests, st.Deletes, "delete")
	counter(c.bytes, st.BytesUploaded, "up")
	counter(c.bytes, st.BytesDownloaded, "down")
	counter(c.blocks, st.Blocks)
	counter(c.raw, st.BlockBytes)
	counter(c.groups, st.Groups)
	c.collectContents(ch)
}

// collectContents exports the bucket's contents. When the index cannot
// answer, the gauges are left out of this scrape (absent, not a made-up
// value) and the rest of /metrics is served.
func (c *s3Collector) collectContents(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), s3ContentsTimeout)
	defer cancel()
	ct, err := c.bs.Contents(ctx)
	if err != nil {
		c.log.Warn("metrics: cannot read the S3 block store's contents from the index", "err", err)
		return
	}
	gauge := func(d *prometheus.Desc, v int64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, float64(v), labels...)
	}
	for _, s := range []struct {
		state s3blocks.GroupState
		total s3blocks.GroupTotal
	}{{s3blocks.GroupWriting, ct.Writing}, {s3blocks.GroupSealed, ct.Sealed}, {s3blocks.GroupRetiring, ct.Retiring}} {
		gauge(c.storedGroups, s.total.Groups, string(s.state))
		gauge(c.storedBytes, s.total.Bytes, string(s.state))
	}
	gauge(c.liveBytes, ct.LiveBytes)
	gauge(c.storedBlocks, ct.Blocks)
}
