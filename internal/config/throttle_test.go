package config_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ebsd/ebsd/internal/config"
	"github.com/ebsd/ebsd/internal/throttle"
)

func TestThrottleQuotas(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.json")
	bad := filepath.Join(dir, "bad.json")
	for name, body := range map[string]string{
		good: `{"version": 1, "quotas": {"PutSnapshotBlock": {"snapshot": {"rate": 20, "burst": 4}}}}`,
		bad:  `{"version": 1, "quotas": {"PutSnapshotBlock": {"volume": {"rate": 20}}}}`,
	} {
		if err := os.WriteFile(name, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	put := func(q *throttle.Quotas) throttle.Limit { return q.Limit(throttle.PutSnapshotBlock, throttle.Snapshot) }
	tests := []struct {
		name     string
		throttle string
		file     string
		wantNil  bool
		wantPut  throttle.Limit
		wantErr  string
	}{
		{"Off", "off", "", true, throttle.Limit{}, ""},
		{"AWS", "aws", "", false, throttle.Limit{Rate: 1000}, ""},
		{"AWSUpperCase", "AWS", "", false, throttle.Limit{Rate: 1000}, ""},
		{"Overrides", "aws", good, false, throttle.Limit{Rate: 20, Burst: 4}, ""},
		{"BadFile", "aws", bad, false, throttle.Limit{}, `"volume" is not a scope`},
		{"MissingFile", "aws", filepath.Join(dir, "missing.json"), false, throttle.Limit{}, "missing.json"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := config.Config{Throttle: tc.throttle, ThrottleConfig: tc.file}
			q, err := c.ThrottleQuotas()
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("ThrottleQuotas error = %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if (q == nil) != tc.wantNil {
				t.Fatalf("ThrottleQuotas = %v, want nil: %v", q, tc.wantNil)
			}
			if q != nil && put(q) != tc.wantPut {
				t.Errorf("PutSnapshotBlock per snapshot = %+v, want %+v", put(q), tc.wantPut)
			}
		})
	}
}
