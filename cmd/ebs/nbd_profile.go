package main

import (
	"fmt"
	"os"
	"runtime/pprof"
)

// nbdProfileEnv names a file that ebs nbd writes a CPU profile of its
// whole session to (go tool pprof -top ebs FILE): the data path of a
// served snapshot is measured under a real client (nbdcopy), which a
// benchmark in the package cannot reproduce. Undocumented in -h on
// purpose: it is for whoever works on ebs nbd's speed.
const nbdProfileEnv = "EBS_NBD_CPUPROFILE"

// startNbdProfile starts the CPU profile if nbdProfileEnv asks for one and
// returns what stops it.
func startNbdProfile(m *Main) (stop func(), err error) {
	path := m.Getenv(nbdProfileEnv)
	if path == "" {
		return func() {}, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", nbdProfileEnv, err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", nbdProfileEnv, err)
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}, nil
}
