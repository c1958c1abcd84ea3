package config

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
)

// Bounds on PackSize. A pack smaller than two blocks gains nothing over a
// file per block; a pack above 4 GiB makes one lost or damaged file cost a
// lot of data and slows its repacking.
const (
	MinPackSize = 1 << 20
	MaxPackSize = 4 << 30
)

// Validate checks every setting and returns all the problems it finds,
// joined with errors.Join, each naming the flag and environment variable,
// what is wrong, and how to fix it. It does no I/O: whether files exist
// and the address is free is checked when the server opens them.
func (c Config) Validate() error {
	var errs []error
	bad := func(flagName, env, format string, args ...any) {
		errs = append(errs, fmt.Errorf("-%s (%s) %s", flagName, env, fmt.Sprintf(format, args...)))
	}

	if err := checkAddr(c.Addr); err != nil {
		bad("addr", "EBSD_ADDR", "is %q: %v; use host:port, like 127.0.0.1:8450, or :8450 for every interface", c.Addr, err)
	}
	for _, p := range []struct{ flag, env, value, what string }{
		{"data-dir", "EBSD_DATA_DIR", c.DataDir, "the directory for the server's data"},
		{"credentials", "EBSD_CREDENTIALS", c.CredentialsFile, "the credentials file"},
		{"kms-keys", "EBSD_KMS_KEYS", c.KMSKeysFile, "the KMS keys file"},
	} {
		if strings.TrimSpace(p.value) == "" {
			bad(p.flag, p.env, "is empty; set it to the path of %s", p.what)
		}
	}
	if !validRegion(c.Region) {
		bad("region", "EBSD_REGION", "is %q, which is not a Region name; use lower-case letters, digits and single hyphens, like us-east-1", c.Region)
	}
	switch {
	case c.TLSCert != "" && c.TLSKey == "":
		bad("tls-key", "EBSD_TLS_KEY", "is not set but -tls-cert is; set both to serve HTTPS, or neither to serve plain HTTP")
	case c.TLSCert == "" && c.TLSKey != "":
		bad("tls-cert", "EBSD_TLS_CERT", "is not set but -tls-key is; set both to serve HTTPS, or neither to serve plain HTTP")
	}
	if _, ok := parseLevel(c.LogLevel); !ok {
		bad("log-level", "EBSD_LOG_LEVEL", "is %q, which is not a log level; use debug, info, warn or error", c.LogLevel)
	}
	if !strings.EqualFold(c.LogFormat, "text") && !strings.EqualFold(c.LogFormat, "json") {
		bad("log-format", "EBSD_LOG_FORMAT", "is %q, which is not a log format; use text or json", c.LogFormat)
	}
	if c.Compression != CompressionZstd && c.Compression != CompressionZstdOnWrite && c.Compression != CompressionOff {
		bad("compression", "EBSD_COMPRESSION", "is %q; use zstd, zstd-on-write or off", c.Compression)
	}
	if c.MaxPendingSnapshots < 1 {
		bad("max-pending-snapshots", "EBSD_MAX_PENDING_SNAPSHOTS", "is %d; it must be at least 1 (AWS allows %d)",
			c.MaxPendingSnapshots, DefaultMaxPendingSnapshots)
	}
	if c.ShutdownTimeout < 0 {
		bad("shutdown-timeout", "EBSD_SHUTDOWN_TIMEOUT", "is %v; it must not be negative (0 stops without waiting)", c.ShutdownTimeout)
	}
	if c.StallTimeout <= 0 {
		bad("stall-timeout", "EBSD_STALL_TIMEOUT", "is %v; it must be positive, like %v", c.StallTimeout, DefaultStallTimeout)
	}
	if c.MinTransferRate < 1 {
		bad("min-transfer-rate", "EBSD_MIN_TRANSFER_RATE", "is %d; it must be at least 1 byte per second, like %s",
			c.MinTransferRate, FormatSize(DefaultMinTransferRate))
	}
	if c.StallTimeout > 0 && c.TransferTimeout < c.StallTimeout {
		bad("transfer-timeout", "EBSD_TRANSFER_TIMEOUT", "is %v; it must be at least -stall-timeout (%v)", c.TransferTimeout, c.StallTimeout)
	}
	if c.MaxInFlight < 1 {
		bad("max-in-flight", "EBSD_MAX_IN_FLIGHT", "is %d; it must be at least 1, like %d", c.MaxInFlight, DefaultMaxInFlight)
	}
	if c.GCInterval < 0 {
		bad("gc-interval", "EBSD_GC_INTERVAL", "is %v; it must not be negative (0 turns the collector off), like %v", c.GCInterval, DefaultGCInterval)
	}
	if c.GCMinLive < 0 || c.GCMinLive > 1 {
		bad("gc-min-live", "EBSD_GC_MIN_LIVE", "is %v; it must be between 0 and 1, like %v", c.GCMinLive, DefaultGCMinLive)
	}
	if c.GCCompactBytes < 0 {
		bad("gc-compact-bytes", "EBSD_GC_COMPACT_BYTES", "is %d; it must not be negative (0 means no bound)", c.GCCompactBytes)
	}
	if c.GCCompactRate < 0 {
		bad("gc-compact-rate", "EBSD_GC_COMPACT_RATE", "is %d; it must not be negative (0 means no bound), like %s", c.GCCompactRate, FormatSize(DefaultGCCompactRate))
	}
	if c.PackSize < MinPackSize || c.PackSize > MaxPackSize {
		bad("pack-size", "EBSD_PACK_SIZE", "is %d bytes; it must be between %s and %s, like %s",
			c.PackSize, FormatSize(MinPackSize), FormatSize(MaxPackSize), FormatSize(DefaultPackSize))
	}
	switch {
	case !strings.EqualFold(c.Throttle, ThrottleOff) && !strings.EqualFold(c.Throttle, ThrottleAWS):
		bad("throttle", "EBSD_THROTTLE", "is %q; use off, or aws to enforce AWS's request-rate quotas", c.Throttle)
	case c.ThrottleConfig != "" && !strings.EqualFold(c.Throttle, ThrottleAWS):
		bad("throttle-config", "EBSD_THROTTLE_CONFIG", "is set but -throttle is off; add -throttle aws, whose quotas the file overrides")
	}
	return errors.Join(errs...)
}

// checkAddr accepts what net.Listen("tcp", addr) accepts, except service
// names for the port: "host:port", "[ipv6]:port", ":port".
func checkAddr(addr string) error {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		var addrErr *net.AddrError
		if errors.As(err, &addrErr) {
			return errors.New(addrErr.Err) // AddrError repeats the address
		}
		return err
	}
	if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		return fmt.Errorf("port %q is not a number from 0 to 65535", port)
	}
	return nil
}

// validRegion accepts names shaped like AWS Regions (us-east-1,
// us-gov-west-1) and local ones (home-lab): lower-case letters and digits
// in hyphen-separated words. Region names appear in SigV4 credential
// scopes, which are separated by slashes.
func validRegion(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, word := range strings.Split(s, "-") {
		if word == "" {
			return false
		}
		for _, r := range word {
			if (r < 'a' || r > 'z') && (r < '0' || r > '9') {
				return false
			}
		}
	}
	return true
}
