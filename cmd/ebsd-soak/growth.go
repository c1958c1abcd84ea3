package main

import (
	"fmt"
	"io"
	"time"
)

// tolerance is how much a resource may grow between the first sample after
// warm-up and the last one: frac of its warm-up value plus a fixed slack.
// The slack absorbs noise on small values (a handful of goroutines, one GC
// cycle of RSS); frac absorbs noise that scales with load. A leak grows
// without bound and crosses both on a long enough soak.
type tolerance struct {
	frac float64
}

// Fixed slacks.
const (
	goroutineSlack = 64
	fdSlack        = 64 // plus one per pack file created meanwhile: a store keeps its packs open (up to a bound)
	rssSlack       = 128 << 20
)

// growthCheck is one resource's verdict.
type growthCheck struct {
	name            string
	base, end, max  int64
	unit            string
	scale           float64
	ok              bool
	allowanceReason string
}

// checkGrowth compares end with base for each resource.
func checkGrowth(tol tolerance, base, end sample) []growthCheck {
	limit := func(v, slack int64) int64 { return v + slack + int64(tol.frac*float64(v)) }
	newPacks := int64(0)
	reason := ""
	if base.packs >= 0 && end.packs >= base.packs {
		newPacks = int64(end.packs - base.packs)
		reason = fmt.Sprintf(", with %d for new packs", newPacks)
	}
	checks := []growthCheck{
		{name: "goroutines", base: base.goroutines, end: end.goroutines, max: limit(base.goroutines, goroutineSlack), scale: 1},
		{name: "open fds", base: base.fds, end: end.fds, max: limit(base.fds, fdSlack+newPacks), scale: 1, allowanceReason: reason},
		{name: "RSS", base: base.rssBytes, end: end.rssBytes, max: limit(base.rssBytes, rssSlack), unit: " MiB", scale: 1 << 20},
	}
	for i := range checks {
		checks[i].ok = checks[i].end <= checks[i].max
	}
	return checks
}

func writeGrowth(w io.Writer, base, end sample, checks []growthCheck) {
	fmt.Fprintf(w, "\ngrowth after warm-up, t=%v → t=%v:\n", base.at.Round(time.Second), end.at.Round(time.Second))
	for _, c := range checks {
		verdict := "ok"
		if !c.ok {
			verdict = "TOO MUCH"
		}
		fmt.Fprintf(w, "  %-10s %7.0f → %7.0f%s (limit %.0f%s)  %s\n",
			c.name, float64(c.base)/c.scale, float64(c.end)/c.scale, c.unit, float64(c.max)/c.scale, c.allowanceReason, verdict)
	}
}
