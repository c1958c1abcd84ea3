//go:build !race

package powerloss_test

const raceEnabled = false
