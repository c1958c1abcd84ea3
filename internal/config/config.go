package config

import (
	"path/filepath"
	"time"
)

// Config is the configuration of the ebsd server.
type Config struct {
	// Addr is the TCP address to listen on, host:port.
	Addr string
	// DataDir is the directory that holds the server's data.
	DataDir string
	// CredentialsFile is the JSON file of access keys (package credentials).
	CredentialsFile string
	// KMSKeysFile is the JSON file of KMS keys for encrypted snapshots.
	KMSKeysFile string
	// Region is the AWS Region the server acts as.
	Region string
	// TLSCert and TLSKey are PEM files to serve HTTPS with; both or neither.
	TLSCert, TLSKey string
	// LogLevel is debug, info, warn or error.
	LogLevel string
	// LogFormat is text or json.
	LogFormat string
	// AccessLog is whether each EBS API request is logged at info, the
	// default level; when false its line is logged at debug.
	AccessLog bool
	// MaxPendingSnapshots is how many snapshots one account may have
	// pending at once.
	MaxPendingSnapshots int
	// Throttle is ThrottleOff or ThrottleAWS: whether requests beyond
	// AWS's request-rate quotas are refused, as AWS refuses them.
	Throttle string
	// ThrottleConfig is a JSON file of quota overrides for ThrottleAWS;
	// "" keeps AWS's quotas.
	ThrottleConfig string
	// ShutdownTimeout bounds how long shutdown waits for requests in flight.
	ShutdownTimeout time.Duration
	// PackSize is the target size in bytes of a pack file of block data.
	PackSize int64
	// Compression is CompressionZstd, CompressionZstdOnWrite or
	// CompressionOff: whether blocks are stored zstd-compressed when that
	// saves space, by compaction or as they are written.
	Compression string
	// Meta and Blocks name the stores outside the data directory
	// (distributed mode): a postgres:// URL and s3://BUCKET[/PREFIX]; ""
	// for the embedded ones. S3Endpoint, S3PathStyle and S3Region
	// configure the S3 client; Node names this process in shared stores.
	Meta        string
	Blocks      string
	S3Endpoint  string
	S3PathStyle bool
	S3Region    string
	Node        string
	// MinFreeSpace is the free space in bytes below which the data
	// directory's disk counts as full: blocks are refused with a
	// retryable error until space is freed. 0 turns the check off.
	MinFreeSpace int64
	// StallTimeout, MinTransferRate and TransferTimeout bound how slowly a
	// request body may arrive and a response leave (api.TransferLimits):
	// no progress for StallTimeout, an average below MinTransferRate bytes
	// per second after StallTimeout, or more than TransferTimeout in all
	// cuts the transfer.
	StallTimeout    time.Duration
	MinTransferRate int64
	TransferTimeout time.Duration
	// MaxInFlight bounds the EBS API requests served at once.
	MaxInFlight int
	// GCInterval is how often the garbage collector runs in the server;
	// 0 turns it off. GCMinLive is the live fraction below which a pack
	// is compacted, and GCCompactBytes bounds the live bytes one
	// collection copies (0: no bound). GCCompactRate bounds compaction's
	// reads and writes, in bytes per second, while blocks are being
	// written (0: no bound).
	GCInterval     time.Duration
	GCMinLive      float64
	GCCompactBytes int64
	GCCompactRate  int64
	// StorageQuota is each account's storage quota in bytes of logical
	// data written, unless credentials.json sets the account's own; 0
	// means none.
	StorageQuota int64
}

// Defaults of the settings that do not depend on the environment.
const (
	DefaultAddr                = "127.0.0.1:8450"
	DefaultRegion              = "us-east-1"
	DefaultLogLevel            = "info"
	DefaultLogFormat           = "text"
	DefaultMaxPendingSnapshots = 100 // AWS's quota L-94D7AB7D
	DefaultShutdownTimeout     = 30 * time.Second
	DefaultPackSize            = 128 << 20
	CompressionZstd            = "zstd"
	CompressionZstdOnWrite     = "zstd-on-write"
	CompressionOff             = "off"            // the default: see the -compression flag
	DefaultMinFreeSpace        = 64 << 20         // pebblemeta.DefaultMinFreeBytes
	DefaultStallTimeout        = 30 * time.Second // api.DefaultStall
	DefaultMinTransferRate     = 4 << 10          // api.DefaultMinRate
	DefaultTransferTimeout     = 3 * time.Minute  // api.DefaultTransferMax
	DefaultMaxInFlight         = 128              // api.DefaultMaxInFlight
	DefaultGCInterval          = time.Hour
	DefaultGCMinLive           = 0.5
	DefaultGCCompactBytes      = 8 << 30
	DefaultGCCompactRate       = 32 << 20
)

// Names of the files that default to living in the data directory.
const (
	credentialsFileName = "credentials.json"
	kmsKeysFileName     = "kms-keys.json"
)

// defaults returns the Config before flags and environment are applied.
// The fields derived from the data directory stay empty until the data
// directory is known.
func defaults() Config {
	return Config{
		Addr:                DefaultAddr,
		Region:              DefaultRegion,
		LogLevel:            DefaultLogLevel,
		LogFormat:           DefaultLogFormat,
		AccessLog:           true,
		MaxPendingSnapshots: DefaultMaxPendingSnapshots,
		Throttle:            ThrottleOff,
		ShutdownTimeout:     DefaultShutdownTimeout,
		PackSize:            DefaultPackSize,
		Compression:         CompressionOff,
		MinFreeSpace:        DefaultMinFreeSpace,
		StallTimeout:        DefaultStallTimeout,
		MinTransferRate:     DefaultMinTransferRate,
		TransferTimeout:     DefaultTransferTimeout,
		MaxInFlight:         DefaultMaxInFlight,
		GCInterval:          DefaultGCInterval,
		GCMinLive:           DefaultGCMinLive,
		GCCompactBytes:      DefaultGCCompactBytes,
		GCCompactRate:       DefaultGCCompactRate,
	}
}

// fillDerived sets the paths that default to places that depend on the
// environment or on the data directory, if they are still empty.
func (c *Config) fillDerived(getenv func(string) string) {
	if c.DataDir == "" {
		c.DataDir = defaultDataDir(getenv)
	}
	if c.CredentialsFile == "" {
		c.CredentialsFile = filepath.Join(c.DataDir, credentialsFileName)
	}
	if c.KMSKeysFile == "" {
		c.KMSKeysFile = filepath.Join(c.DataDir, kmsKeysFileName)
	}
}

// defaultDataDir follows the XDG Base Directory specification: data goes
// to $XDG_DATA_HOME/ebsd, else to $HOME/.local/share/ebsd. The
// specification says to ignore a relative XDG_DATA_HOME. Without either
// variable (a bare container, say) the data goes to ./ebsd-data.
func defaultDataDir(getenv func(string) string) string {
	if xdg := getenv("XDG_DATA_HOME"); xdg != "" && filepath.IsAbs(xdg) {
		return filepath.Join(xdg, "ebsd")
	}
	if home := getenv("HOME"); home != "" {
		return filepath.Join(home, ".local", "share", "ebsd")
	}
	return "ebsd-data"
}
