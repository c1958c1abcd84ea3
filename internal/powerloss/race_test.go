//go:build race

package powerloss_test

// raceEnabled: under the race detector everything runs ~10× slower, so the
// -race run makes only a few cuts (it is there to find races); the full
// campaign runs without it (scripts/test.sh).
const raceEnabled = true
