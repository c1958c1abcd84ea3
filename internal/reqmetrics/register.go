package reqmetrics

import "github.com/prometheus/client_golang/prometheus"

// Register registers cs on reg, all or none: when one fails, those already
// registered are unregistered again, so that a constructor that fails
// leaves the registry as it found it (a second attempt would otherwise
// collide with its own leftovers). A nil reg registers nothing.
func Register(reg prometheus.Registerer, cs ...prometheus.Collector) error {
	if reg == nil {
		return nil
	}
	for i, c := range cs {
		if err := reg.Register(c); err != nil {
			for _, done := range cs[:i] {
				reg.Unregister(done)
			}
			return err
		}
	}
	return nil
}
