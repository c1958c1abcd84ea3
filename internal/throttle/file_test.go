package throttle_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ebsd/ebsd/internal/throttle"
)

func TestAWSQuotas(t *testing.T) {
	q := throttle.AWS()
	want := []struct {
		op    throttle.Op
		scope throttle.Scope
		rate  float64
	}{
		{throttle.StartSnapshot, throttle.Account, 10},
		{throttle.StartSnapshot, throttle.Snapshot, 0},
		{throttle.CompleteSnapshot, throttle.Account, 10},
		{throttle.PutSnapshotBlock, throttle.Account, 1000},
		{throttle.PutSnapshotBlock, throttle.Snapshot, 1000},
		{throttle.GetSnapshotBlock, throttle.Account, 1000},
		{throttle.GetSnapshotBlock, throttle.Snapshot, 1000},
		{throttle.ListSnapshotBlocks, throttle.Account, 50},
		{throttle.ListSnapshotBlocks, throttle.Snapshot, 0},
		{throttle.ListChangedBlocks, throttle.Account, 50},
	}
	for _, w := range want {
		if got := q.Limit(w.op, w.scope); got != (throttle.Limit{Rate: w.rate}) {
			t.Errorf("AWS %v per %v = %+v, want rate %v", w.op, w.scope, got, w.rate)
		}
	}
}

func TestParse(t *testing.T) {
	put, snap, acct := throttle.PutSnapshotBlock, throttle.Snapshot, throttle.Account
	type limit struct {
		op    throttle.Op
		scope throttle.Scope
		want  throttle.Limit
	}
	tests := []struct {
		name    string
		file    string
		want    []limit  // checked on success
		wantErr []string // every one must appear
	}{
		{"Empty", `{"version": 1}`, []limit{{put, snap, throttle.Limit{Rate: 1000}}}, nil},
		{"RateAndBurst", `{"version": 1, "quotas": {"PutSnapshotBlock": {"snapshot": {"rate": 20, "burst": 5}}}}`,
			[]limit{{put, snap, throttle.Limit{Rate: 20, Burst: 5}}, {put, acct, throttle.Limit{Rate: 1000}}}, nil},
		{"RateAloneResetsBurst", `{"version": 1, "quotas": {"PutSnapshotBlock": {"account": {"rate": 2.5}}}}`,
			[]limit{{put, acct, throttle.Limit{Rate: 2.5}}}, nil},
		{"BurstAloneKeepsRate", `{"version": 1, "quotas": {"ListChangedBlocks": {"account": {"burst": 1}}}}`,
			[]limit{{throttle.ListChangedBlocks, acct, throttle.Limit{Rate: 50, Burst: 1}}}, nil},
		{"ZeroRateLifts", `{"version": 1, "quotas": {"StartSnapshot": {"account": {"rate": 0}}}}`,
			[]limit{{throttle.StartSnapshot, acct, throttle.Limit{}}}, nil},
		{"READMEExample", `{"version": 1, "quotas": {
  "PutSnapshotBlock":  {"snapshot": {"rate": 100, "burst": 20}, "account": {"rate": 2000}},
  "ListChangedBlocks": {"account": {"rate": 0}}}}`, []limit{
			{put, snap, throttle.Limit{Rate: 100, Burst: 20}}, {put, acct, throttle.Limit{Rate: 2000}},
			{throttle.ListChangedBlocks, acct, throttle.Limit{}}, {throttle.GetSnapshotBlock, snap, throttle.Limit{Rate: 1000}}}, nil},
		{"NoVersion", `{"quotas": {}}`, nil, []string{`"version" is missing`}},
		{"FutureVersion", `{"version": 2}`, nil, []string{`"version" is 2`}},
		{"NotJSON", `PutSnapshotBlock=5`, nil, []string{"not a quota file"}},
		{"Trailing", `{"version": 1} {}`, nil, []string{"unexpected content"}},
		{"MisspeltField", `{"version": 1, "quotas": {"PutSnapshotBlock": {"snapshot": {"rate": 1, "brust": 2}}}}`, nil, []string{`unknown field "brust"`}},
		{"AllProblems", `{"version": 1, "quotas": {
			"PutBlock": {"account": {"rate": 1}},
			"GetSnapshotBlock": {"volume": {"rate": 1}, "account": {"rate": -1}},
			"ListSnapshotBlocks": {"snapshot": {"rate": 5}},
			"StartSnapshot": {"account": {"rate": 1e9}},
			"CompleteSnapshot": {"account": {"rate": 1, "burst": -2}}}}`, nil, []string{
			`"PutBlock" is not an operation`,
			`quotas.GetSnapshotBlock: "volume" is not a scope`,
			`quotas.GetSnapshotBlock.account: rate -1 is negative`,
			`quotas.ListSnapshotBlocks.snapshot: ListSnapshotBlocks has no per-snapshot quota`,
			`quotas.StartSnapshot.account: rate 1e+09 is above`,
			`quotas.CompleteSnapshot.account: burst -2`,
		}},
		{"TooSlow", `{"version": 1, "quotas": {"StartSnapshot": {"account": {"rate": 0.0001}}}}`, nil, []string{"below the least allowed"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			q, err := throttle.Parse([]byte(tc.file))
			if tc.wantErr != nil {
				if err == nil {
					t.Fatalf("Parse succeeded, want errors %q", tc.wantErr)
				}
				for _, w := range tc.wantErr {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q\ndoes not mention %q", err, w)
					}
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			for _, w := range tc.want {
				if got := q.Limit(w.op, w.scope); got != w.want {
					t.Errorf("%v per %v = %+v, want %+v", w.op, w.scope, got, w.want)
				}
			}
		})
	}
}

func TestLoadFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "quotas.json")
	if err := os.WriteFile(path, []byte(`{"version": 1, "quotas": {"GetSnapshotBlock": {"snapshot": {"rate": 7}}}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	q, err := throttle.LoadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := q.Limit(throttle.GetSnapshotBlock, throttle.Snapshot); got.Rate != 7 {
		t.Errorf("GetSnapshotBlock per snapshot = %+v, want rate 7", got)
	}
	if _, err := throttle.LoadFile(filepath.Join(t.TempDir(), "missing.json")); err == nil {
		t.Error("LoadFile of a missing file succeeded")
	}
	if err := os.WriteFile(path, []byte(`{"version": 1, "quotas": {"x": {}}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := throttle.LoadFile(path); err == nil || !strings.Contains(err.Error(), path) {
		t.Errorf("LoadFile error %v does not name the file", err)
	}
}
