package config_test

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"

	"github.com/ebsd/ebsd/internal/config"
)

func TestSlogHandler(t *testing.T) {
	tests := []struct {
		level, format string
		wantLevels    []string // the levels of the four records that come out
		json          bool
	}{
		{"debug", "text", []string{"DEBUG", "INFO", "WARN", "ERROR"}, false},
		{"info", "text", []string{"INFO", "WARN", "ERROR"}, false},
		{"WARN", "json", []string{"WARN", "ERROR"}, true},
		{"error", "JSON", []string{"ERROR"}, true},
		{"bogus", "bogus", []string{"INFO", "WARN", "ERROR"}, false}, // falls back to info, text
	}
	for _, tc := range tests {
		t.Run(tc.level+"/"+tc.format, func(t *testing.T) {
			var buf bytes.Buffer
			c := config.Config{LogLevel: tc.level, LogFormat: tc.format}
			log := slog.New(c.SlogHandler(&buf))
			log.Debug("d")
			log.Info("i")
			log.Warn("w")
			log.Error("e")

			lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
			if len(lines) != len(tc.wantLevels) {
				t.Fatalf("got %d records, want %d:\n%s", len(lines), len(tc.wantLevels), buf.String())
			}
			for i, line := range lines {
				if tc.json {
					var rec struct{ Level string }
					if err := json.Unmarshal([]byte(line), &rec); err != nil {
						t.Fatalf("record %d is not JSON: %v: %s", i, err, line)
					}
					if rec.Level != tc.wantLevels[i] {
						t.Errorf("record %d level = %q, want %q", i, rec.Level, tc.wantLevels[i])
					}
				} else if !strings.Contains(line, "level="+tc.wantLevels[i]) {
					t.Errorf("record %d = %q, want level=%s", i, line, tc.wantLevels[i])
				}
			}
		})
	}
}
