package main

import (
	"fmt"
	"os"
	"runtime"
	"text/tabwriter"
	"time"
)

// noisy is the difference between U before and after the collection
// beyond which the report says that its machine was too busy to trust.
const noisy = 0.15

// print writes the report: pack files, the collection's phases, the
// uploads, the ratio.
func (res results) print(o options, ctl *control) {
	fmt.Printf("\npacks on disk: %s after the fill; %s as the collection started (with U's baseline); "+
		"%s as it ended (with U's rounds during it); %s at the end (with U's control)\n",
		res.packsFilled, res.packsBefore, res.packsEnd, res.packsAfter)
	res.printCollection(o.minLive)
	fmt.Println()
	ms := []measured{res.before, res.during, res.ctl}
	if ctl != nil {
		ms = append(ms, ctl.before, ctl.during)
	}
	printUploads(o, ms)
	printSeries("U during the collection", res.series)
	if ctl != nil {
		printSeries("U over the same seconds, no collection", ctl.series)
	}
	before, during, after := res.before.rate, res.during.rate, res.ctl.rate
	fmt.Printf("\nratio during / before: %.2f (issue #12's target: at least 0.80); after / before: %.2f (the run's noise); "+
		"during / mean of before and after: %.2f\n", during/before, after/before, 2*during/(before+after))
	if ctl != nil {
		fmt.Printf("ratio during / the same seconds with no collection: %.2f (issue #12's target: at least 0.80); "+
			"the two baselines: %.0f and %.0f blocks/s\n", during/ctl.during.rate, before, ctl.before.rate)
	}
	if n := after / before; n < 1-noisy || n > 1+noisy {
		fmt.Printf("note: a noisy run: U alone ran at %.0f and %.0f blocks/s before and after the collection, "+
			"while the machine's CPU wait was %.0f%% and %.0f%%. Run it again on a quiet machine.\n",
			before, after, 100*res.before.usage.cpuPressure(), 100*res.ctl.usage.cpuPressure())
	}
	if total := res.end.duration("duration"); res.covered < total*95/100 {
		fmt.Printf("note: U covered only %v of the collection's %v (all %d rounds done): raise -rounds\n",
			res.covered.Round(time.Millisecond), total.Round(time.Millisecond), o.rounds)
	}
}

// printSeries prints a throughput series by seriesStep.
func printSeries(what string, series []float64) {
	if len(series) == 0 {
		return
	}
	fmt.Printf("\n%s, blocks/s every %v:", what, seriesStep)
	for _, v := range series {
		fmt.Printf(" %.0f", v)
	}
	fmt.Println(" (the last step may be partial)")
}

func (p packCount) String() string { return fmt.Sprintf("%.2f GiB in %d files", gib(p.bytes), p.files) }

// printCollection prints the collection's phases from its log lines: the
// end line of internal/gc, and packblocks' sweep and compaction lines
// logged during it.
func (res results) printCollection(minLive float64) {
	end := res.end
	total := end.duration("duration")
	fmt.Printf("collection (started %v after the server, -gc-min-live %g): %v\n", res.startedAfter, minLive, total.Round(time.Millisecond))
	sweep, okS := res.log.last(msgSweep, end.at)
	comp, okC := res.log.last(msgCompact, end.at)
	rest := total
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	if okS && !sweep.at.Before(res.gcStart) {
		d := sweep.duration("duration")
		rest -= d
		fmt.Fprintf(tw, "  sweep\t%v\tscanned %.0f index entries, swept %.0f (%.2f GiB); live %.2f GiB of %.2f GiB of packs (%.0f%% garbage)\n",
			d, sweep.num("scanned"), sweep.num("swept"), gib(int64(sweep.num("swept_bytes"))),
			gib(int64(sweep.num("live_bytes"))), gib(int64(sweep.num("pack_bytes"))),
			100*(1-sweep.num("live_bytes")/max(sweep.num("pack_bytes"), 1)))
	}
	if okC && !comp.at.Before(res.gcStart) {
		d := comp.duration("duration")
		rest -= d
		copied := comp.num("bytes_copied")
		fmt.Fprintf(tw, "  compaction\t%v\t%.0f packs compacted, %.0f removed; %.2f GiB rewritten (%.0f MiB/s), %.2f GiB reclaimed\n",
			d, comp.num("packs_compacted"), comp.num("packs_removed"), gib(int64(copied)),
			copied/(1<<20)/max(d.Seconds(), 1e-3), gib(int64(comp.num("bytes_reclaimed"))))
		fmt.Fprintf(tw, "  		pacing: %.2f GiB read and written, %.2f GiB of it while uploads ran, %v asleep\n",
			gib(int64(comp.num("io_bytes"))), gib(int64(comp.num("paced_bytes"))), comp.duration("paced_sleep").Round(time.Millisecond))
	}
	fmt.Fprintf(tw, "  the rest\t%v\tarm, drain, mark from a view of the metadata, purge %.0f deleted snapshots\n",
		rest.Round(time.Millisecond), end.num("purged"))
	tw.Flush()
}

// printUploads prints a table of the uploads U.
func printUploads(o options, ms []measured) {
	fmt.Printf("upload U: PutSnapshotBlock of distinct 512 KiB blocks, %d workers, %d blocks a round; "+
		"CPU in cores (of %d) of the server and of this client, the server's reads and writes that reached the disk, the disk's busy time, "+
		"the machine's pressure (the time some task, of any process, waited for a CPU, for I/O) and its allocations stalled in direct reclaim\n",
		o.workers, o.blocks, runtime.NumCPU())
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "U\tblocks\ttime\tblocks/s\tMiB/s\tp50\tp99\tserver CPU\tclient CPU\tread MiB/s\twrite MiB/s\tdisk busy\tCPU wait\tI/O wait\treclaim stalls/s\t")
	for _, m := range ms {
		fmt.Fprintf(tw, "%s\t%d\t%v\t%.0f\t%.0f\t%v\t%v\t%.2f\t%.2f\t%.0f\t%.0f\t%.0f%%\t%.0f%%\t%.0f%%\t%.0f\t\n",
			m.name, m.blocks, m.took.Round(time.Millisecond), m.rate, m.rate/2, m.p50.Round(100*time.Microsecond), m.p99.Round(100*time.Microsecond),
			m.usage.cpuCores(), m.usage.benchCores(), m.usage.readMiBs(), m.usage.writeMiBs(), 100*m.usage.diskUtil(), 100*m.usage.cpuPressure(), 100*m.usage.ioPressure(), m.usage.stallsPerSec())
	}
	tw.Flush()
}
