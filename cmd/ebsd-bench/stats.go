package main

import (
	"fmt"
	"slices"
	"time"
)

// spread is the min, median and max of repeated measurements.
type spread []float64

func (s spread) String() string {
	if len(s) == 0 {
		return "-"
	}
	v := slices.Sorted(slices.Values(s))
	return fmt.Sprintf("%s (min %s, max %s)", num(median(v)), num(v[0]), num(v[len(v)-1]))
}

// median returns the median of sorted v.
func median(v []float64) float64 {
	n := len(v)
	if n%2 == 1 {
		return v[n/2]
	}
	return (v[n/2-1] + v[n/2]) / 2
}

// med returns the median of s.
func (s spread) med() float64 { return median(slices.Sorted(slices.Values(s))) }

// num prints a measurement with three significant digits or so.
func num(x float64) string {
	switch {
	case x >= 100:
		return fmt.Sprintf("%.0f", x)
	case x >= 10:
		return fmt.Sprintf("%.1f", x)
	default:
		return fmt.Sprintf("%.3g", x)
	}
}

// percentile returns the p-th percentile of ds.
func percentile(ds []time.Duration, p int) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Sorted(slices.Values(ds))
	return s[min(len(s)-1, len(s)*p/100)].Round(100 * time.Microsecond)
}
