package config_test

import (
	"math"
	"strings"
	"testing"

	"github.com/ebsd/ebsd/internal/config"
)

func TestParseSize(t *testing.T) {
	tests := []struct {
		in      string
		want    int64
		wantErr string
	}{
		{in: "0", want: 0},
		{in: "134217728", want: 128 << 20},
		{in: "512B", want: 512},
		{in: "64MiB", want: 64 << 20},
		{in: "64mib", want: 64 << 20},
		{in: "64Mi", want: 64 << 20},
		{in: "64 MiB", want: 64 << 20},
		{in: " 64MiB ", want: 64 << 20},
		{in: "1KiB", want: 1024},
		{in: "2GiB", want: 2 << 30},
		{in: "1TiB", want: 1 << 40},
		{in: "1KB", want: 1000},
		{in: "1k", want: 1000},
		{in: "64MB", want: 64e6},
		{in: "64M", want: 64e6},
		{in: "3GB", want: 3e9},
		{in: "1TB", want: 1e12},
		{in: "9223372036854775807", want: math.MaxInt64},
		{in: "8388608TiB", wantErr: "too large"}, // 2^63 bytes
		{in: "9223372036854775808", wantErr: "too large"},
		{in: "", wantErr: "want a whole number"},
		{in: "MiB", wantErr: "want a whole number"},
		{in: "-1", wantErr: "want a whole number"},
		{in: "1.5GiB", wantErr: `unknown unit ".5GiB"`},
		{in: "64 parsecs", wantErr: `unknown unit "parsecs"`},
		{in: "64MiBs", wantErr: "unknown unit"},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := config.ParseSize(tc.in)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Errorf("ParseSize(%q) = %d, %v; want an error containing %q", tc.in, got, err, tc.wantErr)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Errorf("ParseSize(%q) = %d, %v; want %d, nil", tc.in, got, err, tc.want)
			}
		})
	}
}

func TestFormatSize(t *testing.T) {
	tests := []struct {
		in   int64
		want string
	}{
		{0, "0"},
		{1, "1"},
		{1000, "1000"},
		{1024, "1KiB"},
		{1536, "1536"},
		{3 << 19, "1536KiB"},
		{128 << 20, "128MiB"},
		{4 << 30, "4GiB"},
		{1 << 40, "1TiB"},
	}
	for _, tc := range tests {
		got := config.FormatSize(tc.in)
		if got != tc.want {
			t.Errorf("FormatSize(%d) = %q, want %q", tc.in, got, tc.want)
		}
		back, err := config.ParseSize(got)
		if err != nil || back != tc.in {
			t.Errorf("ParseSize(FormatSize(%d)) = %d, %v; want %d", tc.in, back, err, tc.in)
		}
	}
}
