package server

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/ebsd/ebsd/internal/store/s3blocks"
)

// registerS3Metrics exports what the S3 block store sent to object
// storage, which bills per request: the requests by kind, the bytes moved,
// and the blocks and groups this node uploaded (so that requests per GiB
// written is rate(ebsd_s3_requests_total{op="put"}) over
// rate(ebsd_s3_block_bytes_total), times 2^30).
func registerS3Metrics(reg prometheus.Registerer, bs *s3blocks.Store) {
	reg.MustRegister(&s3Collector{bs: bs,
		requests: prometheus.NewDesc("ebsd_s3_requests_total", "Requests this node sent to the object store, by kind.", []string{"op"}, nil),
		bytes:    prometheus.NewDesc("ebsd_s3_bytes_total", "Bytes of request and response bodies this node moved to and from the object store.", []string{"direction"}, nil),
		blocks:   prometheus.NewDesc("ebsd_s3_blocks_total", "Blocks this node uploaded in group objects (deduplicated blocks not counted).", nil, nil),
		raw:      prometheus.NewDesc("ebsd_s3_block_bytes_total", "Bytes of the blocks this node uploaded in group objects.", nil, nil),
		groups:   prometheus.NewDesc("ebsd_s3_groups_total", "Group objects this node uploaded and sealed.", nil, nil),
	})
}

// s3Collector reads the store's counters at scrape time.
type s3Collector struct {
	bs                                   *s3blocks.Store
	requests, bytes, blocks, raw, groups *prometheus.Desc
}

func (c *s3Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.requests, c.bytes, c.blocks, c.raw, c.groups} {
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
}
