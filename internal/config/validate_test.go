package config_test

import (
	"strings"
	"testing"
	"time"

	"github.com/ebsd/ebsd/internal/config"
)

func validConfig(tb testing.TB) config.Config {
	tb.Helper()
	return mustParse(tb, nil, map[string]string{"HOME": "/home/u"})
}

func TestValidateAccepts(t *testing.T) {
	tests := []struct {
		name   string
		modify func(*config.Config)
	}{
		{"defaults", func(*config.Config) {}},
		{"all interfaces", func(c *config.Config) { c.Addr = ":8450" }},
		{"port 0", func(c *config.Config) { c.Addr = "127.0.0.1:0" }},
		{"IPv6", func(c *config.Config) { c.Addr = "[::1]:443" }},
		{"host name", func(c *config.Config) { c.Addr = "localhost:65535" }},
		{"TLS", func(c *config.Config) { c.TLSCert, c.TLSKey = "c.pem", "k.pem" }},
		{"upper-case level and format", func(c *config.Config) { c.LogLevel, c.LogFormat = "DEBUG", "JSON" }},
		{"GovCloud region", func(c *config.Config) { c.Region = "us-gov-west-1" }},
		{"local region", func(c *config.Config) { c.Region = "homelab" }},
		{"zero shutdown timeout", func(c *config.Config) { c.ShutdownTimeout = 0 }},
		{"smallest pack", func(c *config.Config) { c.PackSize = config.MinPackSize }},
		{"largest pack", func(c *config.Config) { c.PackSize = config.MaxPackSize }},
		{"one pending snapshot", func(c *config.Config) { c.MaxPendingSnapshots = 1 }},
		{"transfer timeout equal to the stall timeout", func(c *config.Config) { c.StallTimeout, c.TransferTimeout = time.Minute, time.Minute }},
		{"one request in flight", func(c *config.Config) { c.MaxInFlight = 1 }},
		{"throttle aws", func(c *config.Config) { c.Throttle = "aws" }},
		{"compression zstd", func(c *config.Config) { c.Compression = "zstd" }},
		{"compression zstd-on-write", func(c *config.Config) { c.Compression = "zstd-on-write" }},
		{"throttle AWS with a file", func(c *config.Config) { c.Throttle, c.ThrottleConfig = "AWS", "q.json" }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := validConfig(t)
			tc.modify(&c)
			if err := c.Validate(); err != nil {
				t.Errorf("Validate: %v", err)
			}
		})
	}
}

func TestValidateRefuses(t *testing.T) {
	tests := []struct {
		name   string
		modify func(*config.Config)
		want   []string // substrings of the error: what, where, and the fix
	}{
		{"addr without port", func(c *config.Config) { c.Addr = "localhost" },
			[]string{"-addr (EBSD_ADDR)", `"localhost"`, "missing port", "use host:port"}},
		{"addr empty", func(c *config.Config) { c.Addr = "" }, []string{"-addr (EBSD_ADDR)", "missing port"}},
		{"addr port not a number", func(c *config.Config) { c.Addr = "127.0.0.1:http" }, []string{`port "http" is not a number`}},
		{"addr port too big", func(c *config.Config) { c.Addr = ":65536" }, []string{`port "65536"`}},
		{"addr port negative", func(c *config.Config) { c.Addr = ":-1" }, []string{`port "-1"`}},
		{"addr too many colons", func(c *config.Config) { c.Addr = "::1:80" }, []string{"too many colons"}},
		{"data dir empty", func(c *config.Config) { c.DataDir = "" }, []string{"-data-dir (EBSD_DATA_DIR) is empty"}},
		{"credentials empty", func(c *config.Config) { c.CredentialsFile = " " }, []string{"-credentials (EBSD_CREDENTIALS) is empty"}},
		{"kms keys empty", func(c *config.Config) { c.KMSKeysFile = "" }, []string{"-kms-keys (EBSD_KMS_KEYS) is empty"}},
		{"region empty", func(c *config.Config) { c.Region = "" }, []string{"-region (EBSD_REGION)", "like us-east-1"}},
		{"region upper case", func(c *config.Config) { c.Region = "US-EAST-1" }, []string{`is "US-EAST-1", which is not a Region name`}},
		{"region with slash", func(c *config.Config) { c.Region = "us/east" }, []string{`"us/east"`}},
		{"region double hyphen", func(c *config.Config) { c.Region = "us--east-1" }, []string{`"us--east-1"`}},
		{"tls cert only", func(c *config.Config) { c.TLSCert = "c.pem" },
			[]string{"-tls-key (EBSD_TLS_KEY) is not set but -tls-cert is", "set both"}},
		{"tls key only", func(c *config.Config) { c.TLSKey = "k.pem" },
			[]string{"-tls-cert (EBSD_TLS_CERT) is not set but -tls-key is", "set both"}},
		{"log level", func(c *config.Config) { c.LogLevel = "verbose" },
			[]string{"-log-level (EBSD_LOG_LEVEL)", `"verbose"`, "debug, info, warn or error"}},
		{"log level warning", func(c *config.Config) { c.LogLevel = "warning" }, []string{`"warning"`}},
		{"log format", func(c *config.Config) { c.LogFormat = "xml" }, []string{"-log-format (EBSD_LOG_FORMAT)", "use text or json"}},
		{"pending zero", func(c *config.Config) { c.MaxPendingSnapshots = 0 }, []string{"-max-pending-snapshots", "at least 1"}},
		{"pending negative", func(c *config.Config) { c.MaxPendingSnapshots = -5 }, []string{"is -5"}},
		{"shutdown negative", func(c *config.Config) { c.ShutdownTimeout = -time.Second }, []string{"-shutdown-timeout (EBSD_SHUTDOWN_TIMEOUT) is -1s"}},
		{"pack negative", func(c *config.Config) { c.PackSize = -1 }, []string{"-pack-size (EBSD_PACK_SIZE) is -1 bytes", "between 1MiB and 4GiB"}},
		{"pack too small", func(c *config.Config) { c.PackSize = config.MinPackSize - 1 }, []string{"-pack-size"}},
		{"pack too big", func(c *config.Config) { c.PackSize = config.MaxPackSize + 1 }, []string{"-pack-size"}},
		{"stall zero", func(c *config.Config) { c.StallTimeout = 0 }, []string{"-stall-timeout (EBSD_STALL_TIMEOUT) is 0s", "like 30s"}},
		{"rate zero", func(c *config.Config) { c.MinTransferRate = 0 }, []string{"-min-transfer-rate (EBSD_MIN_TRANSFER_RATE) is 0", "like 4KiB"}},
		{"transfer timeout below stall", func(c *config.Config) { c.TransferTimeout = 10 * time.Second },
			[]string{"-transfer-timeout (EBSD_TRANSFER_TIMEOUT) is 10s", "at least -stall-timeout (30s)"}},
		{"in flight zero", func(c *config.Config) { c.MaxInFlight = 0 }, []string{"-max-in-flight (EBSD_MAX_IN_FLIGHT) is 0", "at least 1"}},
		{"throttle unknown", func(c *config.Config) { c.Throttle = "on" }, []string{"-throttle (EBSD_THROTTLE)", `"on"`, "use off, or aws"}},
		{"throttle empty", func(c *config.Config) { c.Throttle = "" }, []string{"-throttle (EBSD_THROTTLE)"}},
		{"compression unknown", func(c *config.Config) { c.Compression = "gzip" }, []string{"-compression (EBSD_COMPRESSION)", `"gzip"`, "use zstd, zstd-on-write or off"}},
		{"throttle config without aws", func(c *config.Config) { c.ThrottleConfig = "q.json" },
			[]string{"-throttle-config (EBSD_THROTTLE_CONFIG) is set but -throttle is off", "add -throttle aws"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := validConfig(t)
			tc.modify(&c)
			err := c.Validate()
			if err == nil {
				t.Fatal("Validate succeeded, want an error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			if n := len(strings.Split(err.Error(), "\n")); n != 1 {
				t.Errorf("error has %d lines, want 1 (one problem): %q", n, err)
			}
		})
	}
}

func TestValidateReportsEveryProblem(t *testing.T) {
	c := validConfig(t)
	c.Addr = "nope"
	c.TLSCert = "c.pem"
	c.LogLevel = "loud"
	c.PackSize = 0
	err := c.Validate()
	if err == nil {
		t.Fatal("Validate succeeded, want an error")
	}
	multi, ok := err.(interface{ Unwrap() []error })
	if !ok {
		t.Fatalf("error %T does not wrap several errors", err)
	}
	if got := len(multi.Unwrap()); got != 4 {
		t.Errorf("Validate reported %d problems, want 4:\n%v", got, err)
	}
}
