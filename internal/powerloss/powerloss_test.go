package powerloss_test

import (
	"context"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/ebsd/ebsd/internal/powerloss"
)

// TestPowerLoss cuts the power at a few hundred random instants of
// concurrent uploads, completions, timeouts, deletes, copies, garbage
// collections and recoveries, and checks every acknowledgement and every
// live snapshot's bytes after each cut and each collection.
// EBSD_CRASH_POINTS sets the number of cuts and EBSD_CRASH_SEED the seed
// (printed, so that a failure can be replayed); `go run
// ./cmd/ebsd-powerloss` runs long campaigns.
func TestPowerLoss(t *testing.T) {
	points := 200
	if testing.Short() || raceEnabled {
		points = 15
	}
	if v, err := strconv.Atoi(os.Getenv("EBSD_CRASH_POINTS")); err == nil && v > 0 {
		points = v
	}
	seed := uint64(time.Now().UnixNano())
	if v, err := strconv.ParseUint(os.Getenv("EBSD_CRASH_SEED"), 10, 64); err == nil {
		seed = v
	}
	t.Logf("seed %d (EBSD_CRASH_SEED=%d replays it)", seed, seed)
	rep, err := powerloss.Run(context.Background(), powerloss.Config{CrashPoints: points, Seed: seed})
	t.Log(rep)
	if err != nil {
		t.Fatal(err)
	}
	if rep.BlocksChecked == 0 || rep.Snapshots["completed"] == 0 || rep.Collections == 0 || rep.Reclaims == 0 {
		t.Fatalf("the campaign checked nothing: %v", rep)
	}
	// A full campaign does everything; a short one (-short, -race) may
	// miss a rarer operation.
	if points >= 100 && (rep.Deletes == 0 || rep.LineageCopies == 0 || rep.ResealCopies == 0 ||
		rep.KeysSwept == 0 || rep.CollectionCuts == 0) {
		t.Fatalf("the campaign left something unexercised: %v", rep)
	}
}
