//go:build race

package packblocks_test

// raceEnabled: under the race detector everything runs several times
// slower, so TestPowerLoss makes fewer crashes by default (the -race run is
// there to find races); scripts/test.sh runs the full default campaign
// without it.
const raceEnabled = true
