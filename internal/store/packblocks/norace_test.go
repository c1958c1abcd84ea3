//go:build !race

package packblocks_test

const raceEnabled = false
