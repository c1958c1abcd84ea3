package server

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ebsd/ebsd/internal/snapshot"
	"github.com/ebsd/ebsd/internal/store/packblocks"
)

// registerStoreMetrics exports gauges read from the service and the block
// store at scrape time.
// registerStoreMetrics registers the service's gauges and, when the blocks
// are in pack files (blocks not nil), the block store's.
func registerStoreMetrics(reg prometheus.Registerer, svc *snapshot.Service, blocks *packblocks.Store) {
	reg.MustRegister(newUsageCollector(svc))
	reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "ebsd_pending_snapshots",
		Help: "Snapshots started and not yet completed or failed.",
	}, func() float64 {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		n, err := svc.PendingSnapshots(ctx)
		if err != nil {
			return -1
		}
		return float64(n)
	}))
	if blocks == nil {
		return // blocks on S3: s3blocks has no such cheap counters yet
	}
	reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "ebsd_stored_blocks",
		Help: "Distinct blocks in the block store (after deduplication).",
	}, func() float64 { return float64(blocks.Stats().Blocks) }))
	reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "ebsd_stored_bytes",
		Help: "Bytes in the block store's pack files.",
	}, func() float64 { return float64(blocks.Stats().Bytes) }))
}
