// Package buildinfo describes the running binary for --version: the module
// version, the VCS revision it was built from, whether the tree had
// uncommitted changes, and the Go toolchain. Bug reports need all four.
package buildinfo

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"
)

// String returns one line such as
//
//	ebsd v1.2.0 (revision 3f2a…, modified, 2026-12-01T10:00:00Z) go1.26.8 linux/amd64
//
// for program, from the build information the Go toolchain embeds.
func String(program string) string {
	bi, _ := debug.ReadBuildInfo() // nil when there is none
	return format(program, bi, runtime.GOOS+"/"+runtime.GOARCH)
}

// format is String with its inputs explicit; bi may be nil (a binary built
// without module support).
func format(program string, bi *debug.BuildInfo, platform string) string {
	version, goVersion := "(unknown)", runtime.Version()
	var revision, modified, when string
	if bi != nil {
		if bi.Main.Version != "" {
			version = bi.Main.Version
		}
		if bi.GoVersion != "" {
			goVersion = bi.GoVersion
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				revision = s.Value
			case "vcs.modified":
				modified = s.Value
			case "vcs.time":
				when = s.Value
			}
		}
	}
	// "go build" outside a checkout, or with -buildvcs=false, records no
	// revision; say so rather than print nothing.
	vcs := []string{"revision unknown"}
	if revision != "" {
		vcs = []string{"revision " + revision}
		if modified == "true" {
			vcs = append(vcs, "modified")
		}
		if when != "" {
			vcs = append(vcs, when)
		}
	}
	return fmt.Sprintf("%s %s (%s) %s %s", program, version, strings.Join(vcs, ", "), goVersion, platform)
}
