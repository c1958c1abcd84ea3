package server

import (
	"cmp"
	"context"
	"slices"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ebsd/ebsd/internal/snapshot"
)

// maxUsageSeries bounds the accounts ebsd_account_logical_bytes has a
// series for: the largest ones, so that a server with very many accounts
// does not flood its scrapes.
const maxUsageSeries = 1000

// usageCollector exports each account's logical bytes written, read from
// the store's counters at scrape time.
type usageCollector struct {
	svc  *snapshot.Service
	desc *prometheus.Desc
}

func newUsageCollector(svc *snapshot.Service) *usageCollector {
	return &usageCollector{svc: svc, desc: prometheus.NewDesc("ebsd_account_logical_bytes",
		"Bytes of the blocks each account's snapshots wrote (non-zero blocks, each index of a snapshot once, "+
			"until the collector purges a deleted snapshot): what -storage-quota is compared with. The largest 1000 accounts.",
		[]string{"account"}, nil)}
}

func (u *usageCollector) Describe(ch chan<- *prometheus.Desc) { ch <- u.desc }

func (u *usageCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	type usage struct {
		account string
		bytes   int64
	}
	var all []usage
	if err := u.svc.Usages(ctx, func(account string, bytes int64) bool {
		all = append(all, usage{account, bytes})
		return true
	}); err != nil {
		ch <- prometheus.NewInvalidMetric(u.desc, err)
		return
	}
	slices.SortFunc(all, func(a, b usage) int { return cmp.Compare(b.bytes, a.bytes) })
	for _, x := range all[:min(len(all), maxUsageSeries)] {
		ch <- prometheus.MustNewConstMetric(u.desc, prometheus.GaugeValue, float64(x.bytes), x.account)
	}
}
