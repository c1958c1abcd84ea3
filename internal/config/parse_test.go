package config_test

import (
	"bytes"
	"errors"
	"flag"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ebsd/ebsd/internal/config"
)

func envFrom(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func mustParse(tb testing.TB, args []string, env map[string]string) config.Config {
	tb.Helper()
	var stderr bytes.Buffer
	cfg, err := config.Parse(args, envFrom(env), &stderr)
	if err != nil {
		tb.Fatalf("Parse(%q): %v\nstderr:\n%s", args, err, stderr.String())
	}
	if stderr.Len() > 0 {
		tb.Errorf("Parse(%q) wrote to stderr:\n%s", args, stderr.String())
	}
	return cfg
}

func TestParseDefaults(t *testing.T) {
	got := mustParse(t, nil, map[string]string{"HOME": "/home/u"})
	want := config.Config{
		Addr:                "127.0.0.1:8450",
		DataDir:             "/home/u/.local/share/ebsd",
		CredentialsFile:     "/home/u/.local/share/ebsd/credentials.json",
		KMSKeysFile:         "/home/u/.local/share/ebsd/kms-keys.json",
		Region:              "us-east-1",
		LogLevel:            "info",
		LogFormat:           "text",
		AccessLog:           true,
		MaxPendingSnapshots: 100,
		Throttle:            "off",
		ShutdownTimeout:     30 * time.Second,
		PackSize:            128 << 20,
		Compression:         "off",
		MinFreeSpace:        64 << 20,
		StallTimeout:        30 * time.Second,
		MinTransferRate:     4 << 10,
		TransferTimeout:     3 * time.Minute,
		MaxInFlight:         128,
		GCInterval:          time.Hour,
		GCMinLive:           0.5,
		GCCompactBytes:      8 << 30,
		GCCompactRate:       32 << 20,
	}
	if got != want {
		t.Errorf("Parse(nil) = %+v\nwant %+v", got, want)
	}
	if err := got.Validate(); err != nil {
		t.Errorf("defaults do not validate: %v", err)
	}
}

func TestParsePrecedence(t *testing.T) {
	tests := []struct {
		flag, env          string
		envValue, flagArg  string
		get                func(config.Config) any
		def, fromEnv, from any // default, with env only, with env and flag
	}{
		{"addr", "EBSD_ADDR", ":1", ":2", func(c config.Config) any { return c.Addr }, "127.0.0.1:8450", ":1", ":2"},
		{"data-dir", "EBSD_DATA_DIR", "/env", "/flag", func(c config.Config) any { return c.DataDir }, "/home/u/.local/share/ebsd", "/env", "/flag"},
		{"credentials", "EBSD_CREDENTIALS", "/env.json", "/flag.json", func(c config.Config) any { return c.CredentialsFile },
			"/home/u/.local/share/ebsd/credentials.json", "/env.json", "/flag.json"},
		{"kms-keys", "EBSD_KMS_KEYS", "/env.json", "/flag.json", func(c config.Config) any { return c.KMSKeysFile },
			"/home/u/.local/share/ebsd/kms-keys.json", "/env.json", "/flag.json"},
		{"region", "EBSD_REGION", "eu-west-1", "ap-south-2", func(c config.Config) any { return c.Region }, "us-east-1", "eu-west-1", "ap-south-2"},
		{"tls-cert", "EBSD_TLS_CERT", "env.pem", "flag.pem", func(c config.Config) any { return c.TLSCert }, "", "env.pem", "flag.pem"},
		{"tls-key", "EBSD_TLS_KEY", "env.key", "flag.key", func(c config.Config) any { return c.TLSKey }, "", "env.key", "flag.key"},
		{"log-level", "EBSD_LOG_LEVEL", "debug", "error", func(c config.Config) any { return c.LogLevel }, "info", "debug", "error"},
		{"log-format", "EBSD_LOG_FORMAT", "json", "text", func(c config.Config) any { return c.LogFormat }, "text", "json", "text"},
		{"max-pending-snapshots", "EBSD_MAX_PENDING_SNAPSHOTS", "7", "9", func(c config.Config) any { return c.MaxPendingSnapshots }, 100, 7, 9},
		{"shutdown-timeout", "EBSD_SHUTDOWN_TIMEOUT", "1m", "5s", func(c config.Config) any { return c.ShutdownTimeout },
			30 * time.Second, time.Minute, 5 * time.Second},
		{"stall-timeout", "EBSD_STALL_TIMEOUT", "10s", "1m", func(c config.Config) any { return c.StallTimeout },
			30 * time.Second, 10 * time.Second, time.Minute},
		{"min-transfer-rate", "EBSD_MIN_TRANSFER_RATE", "64KiB", "1000", func(c config.Config) any { return c.MinTransferRate },
			int64(4 << 10), int64(64 << 10), int64(1000)},
		{"transfer-timeout", "EBSD_TRANSFER_TIMEOUT", "10m", "90s", func(c config.Config) any { return c.TransferTimeout },
			3 * time.Minute, 10 * time.Minute, 90 * time.Second},
		{"max-in-flight", "EBSD_MAX_IN_FLIGHT", "64", "512", func(c config.Config) any { return c.MaxInFlight }, 128, 64, 512},
		{"pack-size", "EBSD_PACK_SIZE", "64MiB", "1GB", func(c config.Config) any { return c.PackSize }, int64(128 << 20), int64(64 << 20), int64(1e9)},
		{"compression", "EBSD_COMPRESSION", "zstd", "off", func(c config.Config) any { return c.Compression }, "off", "zstd", "off"},
		{"min-free-space", "EBSD_MIN_FREE_SPACE", "1GiB", "0", func(c config.Config) any { return c.MinFreeSpace }, int64(64 << 20), int64(1 << 30), int64(0)},
		{"gc-interval", "EBSD_GC_INTERVAL", "10m", "0", func(c config.Config) any { return c.GCInterval }, time.Hour, 10 * time.Minute, time.Duration(0)},
		{"gc-min-live", "EBSD_GC_MIN_LIVE", "0.8", "0.25", func(c config.Config) any { return c.GCMinLive }, 0.5, 0.8, 0.25},
		{"gc-compact-bytes", "EBSD_GC_COMPACT_BYTES", "1GiB", "0", func(c config.Config) any { return c.GCCompactBytes }, int64(8 << 30), int64(1 << 30), int64(0)},
		{"gc-compact-rate", "EBSD_GC_COMPACT_RATE", "64MiB", "0", func(c config.Config) any { return c.GCCompactRate }, int64(32 << 20), int64(64 << 20), int64(0)},
		{"storage-quota", "EBSD_STORAGE_QUOTA", "10GiB", "1TB", func(c config.Config) any { return c.StorageQuota }, int64(0), int64(10 << 30), int64(1e12)},
		{"throttle", "EBSD_THROTTLE", "aws", "off", func(c config.Config) any { return c.Throttle }, "off", "aws", "off"},
		{"throttle-config", "EBSD_THROTTLE_CONFIG", "/env.json", "/flag.json", func(c config.Config) any { return c.ThrottleConfig }, "", "/env.json", "/flag.json"},
	}
	for _, tc := range tests {
		t.Run(tc.flag, func(t *testing.T) {
			home := map[string]string{"HOME": "/home/u"}
			withEnv := map[string]string{"HOME": "/home/u", tc.env: tc.envValue}
			if got := tc.get(mustParse(t, nil, home)); got != tc.def {
				t.Errorf("default = %v, want %v", got, tc.def)
			}
			if got := tc.get(mustParse(t, nil, withEnv)); got != tc.fromEnv {
				t.Errorf("with %s=%s: %v, want %v", tc.env, tc.envValue, got, tc.fromEnv)
			}
			for _, args := range [][]string{{"-" + tc.flag, tc.flagArg}, {"--" + tc.flag + "=" + tc.flagArg}} {
				if got := tc.get(mustParse(t, args, withEnv)); got != tc.from {
					t.Errorf("with %s=%s and %q: %v, want %v", tc.env, tc.envValue, args, got, tc.from)
				}
				if got := tc.get(mustParse(t, args, home)); got != tc.from {
					t.Errorf("with %q: %v, want %v", args, got, tc.from)
				}
			}
		})
	}
}

func TestParseDataDirDefaults(t *testing.T) {
	tests := []struct {
		name string
		args []string
		env  map[string]string
		dir  string
		cred string
		kms  string
	}{
		{name: "XDG_DATA_HOME wins over HOME", env: map[string]string{"XDG_DATA_HOME": "/xdg", "HOME": "/home/u"},
			dir: "/xdg/ebsd", cred: "/xdg/ebsd/credentials.json", kms: "/xdg/ebsd/kms-keys.json"},
		{name: "relative XDG_DATA_HOME is ignored", env: map[string]string{"XDG_DATA_HOME": "rel", "HOME": "/home/u"},
			dir: "/home/u/.local/share/ebsd", cred: "/home/u/.local/share/ebsd/credentials.json", kms: "/home/u/.local/share/ebsd/kms-keys.json"},
		{name: "HOME only", env: map[string]string{"HOME": "/home/u"},
			dir: "/home/u/.local/share/ebsd", cred: "/home/u/.local/share/ebsd/credentials.json", kms: "/home/u/.local/share/ebsd/kms-keys.json"},
		{name: "neither", env: map[string]string{},
			dir: "ebsd-data", cred: filepath.Join("ebsd-data", "credentials.json"), kms: filepath.Join("ebsd-data", "kms-keys.json")},
		{name: "files follow -data-dir", args: []string{"-data-dir", "/d"}, env: map[string]string{"XDG_DATA_HOME": "/xdg"},
			dir: "/d", cred: "/d/credentials.json", kms: "/d/kms-keys.json"},
		{name: "files follow EBSD_DATA_DIR", env: map[string]string{"EBSD_DATA_DIR": "/e", "HOME": "/home/u"},
			dir: "/e", cred: "/e/credentials.json", kms: "/e/kms-keys.json"},
		{name: "-data-dir beats EBSD_DATA_DIR, EBSD_CREDENTIALS kept", args: []string{"-data-dir", "/d"},
			env: map[string]string{"EBSD_DATA_DIR": "/e", "EBSD_CREDENTIALS": "/c.json"},
			dir: "/d", cred: "/c.json", kms: "/d/kms-keys.json"},
		{name: "empty -credentials means default", args: []string{"-credentials", ""}, env: map[string]string{"HOME": "/h", "EBSD_CREDENTIALS": "/c.json"},
			dir: "/h/.local/share/ebsd", cred: "/h/.local/share/ebsd/credentials.json", kms: "/h/.local/share/ebsd/kms-keys.json"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := mustParse(t, tc.args, tc.env)
			if c.DataDir != tc.dir || c.CredentialsFile != tc.cred || c.KMSKeysFile != tc.kms {
				t.Errorf("DataDir, CredentialsFile, KMSKeysFile = %q, %q, %q; want %q, %q, %q",
					c.DataDir, c.CredentialsFile, c.KMSKeysFile, tc.dir, tc.cred, tc.kms)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		env        map[string]string
		want       []string // substrings of the error
		wantUsage  bool     // whether stderr shows the usage text
		wantStderr string
	}{
		{name: "unknown flag", args: []string{"-nope"}, want: []string{"-nope"}, wantUsage: true},
		{name: "bad flag number", args: []string{"-max-pending-snapshots", "ten"}, want: []string{`"ten"`, "max-pending-snapshots"}, wantUsage: true},
		{name: "bad flag duration", args: []string{"-shutdown-timeout", "30"}, want: []string{`"30"`, "like 30s"}, wantUsage: true},
		{name: "bad flag size", args: []string{"-pack-size", "64 parsecs"}, want: []string{`unknown unit "parsecs"`}, wantUsage: true},
		{name: "missing flag value", args: []string{"-addr"}, want: []string{"-addr"}, wantUsage: true},
		{name: "positional argument", args: []string{"serve"}, want: []string{`unexpected argument "serve"`}},
		{name: "bad env number", env: map[string]string{"EBSD_MAX_PENDING_SNAPSHOTS": "x"}, want: []string{"EBSD_MAX_PENDING_SNAPSHOTS", `"x"`}},
		{name: "bad env duration", env: map[string]string{"EBSD_SHUTDOWN_TIMEOUT": "soon"}, want: []string{"EBSD_SHUTDOWN_TIMEOUT", `"soon"`}},
		{name: "two bad env values", env: map[string]string{"EBSD_PACK_SIZE": "big", "EBSD_SHUTDOWN_TIMEOUT": "soon"},
			want: []string{"EBSD_PACK_SIZE", "EBSD_SHUTDOWN_TIMEOUT"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var stderr bytes.Buffer
			_, err := config.Parse(tc.args, envFrom(tc.env), &stderr)
			if err == nil {
				t.Fatal("Parse succeeded, want an error")
			}
			if errors.Is(err, flag.ErrHelp) {
				t.Fatalf("err = %v, want something other than flag.ErrHelp", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			if got := strings.Contains(stderr.String(), "Usage: ebsd"); got != tc.wantUsage {
				t.Errorf("stderr shows usage: %v, want %v; stderr:\n%s", got, tc.wantUsage, stderr.String())
			}
		})
	}
}

func TestParseFlagOverridesBadEnv(t *testing.T) {
	c := mustParse(t, []string{"-pack-size", "2MiB"}, map[string]string{"EBSD_PACK_SIZE": "garbage"})
	if c.PackSize != 2<<20 {
		t.Errorf("PackSize = %d, want %d", c.PackSize, 2<<20)
	}
}

func TestParseHelp(t *testing.T) {
	for _, arg := range []string{"-h", "-help", "--help"} {
		t.Run(arg, func(t *testing.T) {
			var stderr bytes.Buffer
			_, err := config.Parse([]string{arg}, envFrom(nil), &stderr)
			if !errors.Is(err, flag.ErrHelp) {
				t.Fatalf("err = %v, want flag.ErrHelp", err)
			}
			if got, want := stderr.String(), config.Usage(); got != want {
				t.Errorf("stderr =\n%s\nwant the usage text:\n%s", got, want)
			}
		})
	}
}

func TestUsage(t *testing.T) {
	u := config.Usage()
	for _, want := range []string{
		"Amazon EBS direct APIs",
		"-addr host:port", "EBSD_ADDR", "127.0.0.1:8450",
		"-data-dir dir", "EBSD_DATA_DIR", "$XDG_DATA_HOME/ebsd", "$HOME/.local/share/ebsd", "./ebsd-data",
		"-credentials file", "EBSD_CREDENTIALS", "<data-dir>/credentials.json",
		"-kms-keys file", "EBSD_KMS_KEYS", "<data-dir>/kms-keys.json",
		"-region region", "EBSD_REGION", "us-east-1",
		"-tls-cert file", "EBSD_TLS_CERT", "-tls-key file", "EBSD_TLS_KEY",
		"-log-level level", "EBSD_LOG_LEVEL", "debug, info, warn or error",
		"-log-format format", "EBSD_LOG_FORMAT",
		"-max-pending-snapshots n", "EBSD_MAX_PENDING_SNAPSHOTS", "Default: 100",
		"-shutdown-timeout duration", "EBSD_SHUTDOWN_TIMEOUT", "Default: 30s",
		"-pack-size size", "EBSD_PACK_SIZE", "Default: 128MiB",
		"-stall-timeout duration", "EBSD_STALL_TIMEOUT", "Default: 30s",
		"-min-transfer-rate size", "EBSD_MIN_TRANSFER_RATE", "Default: 4KiB",
		"-transfer-timeout duration", "EBSD_TRANSFER_TIMEOUT", "Default: 3m0s",
		"-max-in-flight n", "EBSD_MAX_IN_FLIGHT", "Default: 128", "503",
	} {
		if !strings.Contains(u, want) {
			t.Errorf("usage lacks %q", want)
		}
	}
	for i, line := range strings.Split(u, "\n") {
		if len(line) > 80 {
			t.Errorf("usage line %d is %d characters long, want at most 80: %q", i+1, len(line), line)
		}
	}
}

// TestParseAccessLog checks the boolean -access-log: on by default, off
// with -access-log=false or EBSD_ACCESS_LOG=false, a bare -access-log
// beating the variable, and the level it gives the access lines.
func TestParseAccessLog(t *testing.T) {
	tests := []struct {
		args      []string
		env       string
		want      bool
		wantLevel slog.Level
	}{
		{nil, "", true, slog.LevelInfo},
		{[]string{"-access-log=false"}, "", false, slog.LevelDebug},
		{[]string{"--access-log=0"}, "", false, slog.LevelDebug},
		{nil, "false", false, slog.LevelDebug},
		{nil, "true", true, slog.LevelInfo},
		{[]string{"-access-log"}, "false", true, slog.LevelInfo},
		{[]string{"-access-log=false"}, "true", false, slog.LevelDebug},
	}
	for _, tc := range tests {
		cfg := mustParse(t, tc.args, map[string]string{"HOME": "/h", "EBSD_ACCESS_LOG": tc.env})
		if cfg.AccessLog != tc.want || cfg.AccessLogLevel() != tc.wantLevel {
			t.Errorf("%q with EBSD_ACCESS_LOG=%q: AccessLog=%v level %v, want %v level %v",
				tc.args, tc.env, cfg.AccessLog, cfg.AccessLogLevel(), tc.want, tc.wantLevel)
		}
	}
	var stderr bytes.Buffer
	if _, err := config.Parse(nil, envFrom(map[string]string{"EBSD_ACCESS_LOG": "maybe"}), &stderr); err == nil ||
		!strings.Contains(err.Error(), "EBSD_ACCESS_LOG") {
		t.Errorf("EBSD_ACCESS_LOG=maybe: %v, want an error naming the variable", err)
	}
	if u := config.Usage(); !strings.Contains(u, "  -access-log\n") || !strings.Contains(u, "EBSD_ACCESS_LOG") {
		t.Errorf("usage lacks -access-log:\n%s", u)
	}
}
