package config

import (
	"flag"
	"fmt"
	"strconv"
	"time"
)

// option describes one setting: its flag, its environment variable, and
// the text of its usage entry. The table below is the single source of
// both the FlagSet and the usage text, so they cannot disagree.
type option struct {
	flag  string // flag name without the dash
	env   string // environment variable
	arg   string // placeholder for the value in the usage text
	usage string // what the setting does
	def   string // the default, as shown in the usage text
	bind  func(*Config) flag.Value
}

func options() []option {
	return []option{
		{
			flag: "addr", env: "EBSD_ADDR", arg: "host:port",
			usage: "TCP address to listen on. An empty host (:8450) listens on every interface.",
			def:   DefaultAddr,
			bind:  func(c *Config) flag.Value { return (*stringValue)(&c.Addr) },
		},
		{
			flag: "data-dir", env: "EBSD_DATA_DIR", arg: "dir",
			usage: "Directory that holds the server's data.",
			def:   "$XDG_DATA_HOME/ebsd if XDG_DATA_HOME is an absolute path, else $HOME/.local/share/ebsd, else ./ebsd-data",
			bind:  func(c *Config) flag.Value { return (*stringValue)(&c.DataDir) },
		},
		{
			flag: "credentials", env: "EBSD_CREDENTIALS", arg: "file",
			usage: "JSON file of the access keys clients sign requests with. If it does not exist, ebsd creates it with one new key.",
			def:   "<data-dir>/" + credentialsFileName,
			bind:  func(c *Config) flag.Value { return (*stringValue)(&c.CredentialsFile) },
		},
		{
			flag: "kms-keys", env: "EBSD_KMS_KEYS", arg: "file",
			usage: "JSON file of the KMS keys that encrypted snapshots use.",
			def:   "<data-dir>/" + kmsKeysFileName,
			bind:  func(c *Config) flag.Value { return (*stringValue)(&c.KMSKeysFile) },
		},
		{
			flag: "meta", env: "EBSD_META", arg: "url",
			usage: "Where snapshot records and block mappings live: empty for the embedded store in the data directory, " +
				"or a PostgreSQL (14 or later) database as postgres://user:password@host:port/db, which many ebsd " +
				"nodes can share (distributed mode: docs/distributed.md). The schema is created and migrated at start-up.",
			def:  "embedded (<data-dir>/meta)",
			bind: func(c *Config) flag.Value { return (*stringValue)(&c.Meta) },
		},
		{
			flag: "blocks", env: "EBSD_BLOCKS", arg: "url",
			usage: "Where block data lives: empty for pack files in the data directory, or s3://BUCKET[/PREFIX] on " +
				"S3-compatible object storage, in group objects indexed in the -meta database (which must then be " +
				"PostgreSQL). S3 credentials come from the AWS SDK's default chain (AWS_ACCESS_KEY_ID, ~/.aws, roles).",
			def:  "embedded (<data-dir>/blocks)",
			bind: func(c *Config) flag.Value { return (*stringValue)(&c.Blocks) },
		},
		{
			flag: "s3-endpoint", env: "EBSD_S3_ENDPOINT", arg: "url",
			usage: "URL of the S3-compatible object store of -blocks, like http://127.0.0.1:9000 for MinIO. " +
				"Default: the AWS SDK's (AWS_ENDPOINT_URL_S3, else AWS).",
			def:  "the SDK's",
			bind: func(c *Config) flag.Value { return (*stringValue)(&c.S3Endpoint) },
		},
		{
			flag: "s3-path-style", env: "EBSD_S3_PATH_STYLE", arg: "",
			usage: "Address the bucket of -blocks as ENDPOINT/BUCKET instead of BUCKET.ENDPOINT, as MinIO and most " +
				"self-hosted object stores need.",
			def:  "false",
			bind: func(c *Config) flag.Value { return (*boolValue)(&c.S3PathStyle) },
		},
		{
			flag: "s3-region", env: "EBSD_S3_REGION", arg: "region",
			usage: "Region of the S3 client of -blocks. Default: the AWS SDK's (AWS_REGION, ~/.aws/config), else us-east-1.",
			def:   "the SDK's",
			bind:  func(c *Config) flag.Value { return (*stringValue)(&c.S3Region) },
		},
		{
			flag: "node", env: "EBSD_NODE", arg: "name",
			usage: "Name of this ebsd in the shared stores of distributed mode (in the groups it uploads). Default: host name and process id.",
			def:   "host-pid",
			bind:  func(c *Config) flag.Value { return (*stringValue)(&c.Node) },
		},
		{
			flag: "region", env: "EBSD_REGION", arg: "region",
			usage: "AWS Region the server acts as, as shown in the KMS key ARNs it reports, in EC2 DescribeRegions, and as the only SourceRegion of CopySnapshot.",
			def:   DefaultRegion,
			bind:  func(c *Config) flag.Value { return (*stringValue)(&c.Region) },
		},
		{
			flag: "tls-cert", env: "EBSD_TLS_CERT", arg: "file",
			usage: "PEM certificate chain for HTTPS. Set both -tls-cert and -tls-key to serve HTTPS, or neither to serve plain HTTP.",
			def:   "none",
			bind:  func(c *Config) flag.Value { return (*stringValue)(&c.TLSCert) },
		},
		{
			flag: "tls-key", env: "EBSD_TLS_KEY", arg: "file",
			usage: "PEM private key of the -tls-cert certificate.",
			def:   "none",
			bind:  func(c *Config) flag.Value { return (*stringValue)(&c.TLSKey) },
		},
		{
			flag: "log-level", env: "EBSD_LOG_LEVEL", arg: "level",
			usage: "Least severe log level written: debug, info, warn or error.",
			def:   DefaultLogLevel,
			bind:  func(c *Config) flag.Value { return (*stringValue)(&c.LogLevel) },
		},
		{
			flag: "log-format", env: "EBSD_LOG_FORMAT", arg: "format",
			usage: "Log format: text (key=value) or json (one object per line).",
			def:   DefaultLogFormat,
			bind:  func(c *Config) flag.Value { return (*stringValue)(&c.LogFormat) },
		},
		{
			flag: "access-log", env: "EBSD_ACCESS_LOG", arg: "",
			usage: "Log one info line per EBS API request: operation, status, AWS error type, account, bytes, " +
				"duration, request ID, client address, and why authentication failed (unknown access key ID, " +
				"bad signature, clock skew, missing or malformed Authorization). No secret, signature or token " +
				"is logged. -access-log=false logs these lines at debug only; server errors are logged at error either way.",
			def:  "true",
			bind: func(c *Config) flag.Value { return (*boolValue)(&c.AccessLog) },
		},
		{
			flag: "max-pending-snapshots", env: "EBSD_MAX_PENDING_SNAPSHOTS", arg: "n",
			usage: "Most snapshots one account may have pending at once; StartSnapshot beyond it is refused.",
			def:   strconv.Itoa(DefaultMaxPendingSnapshots) + " (AWS's quota)",
			bind:  func(c *Config) flag.Value { return (*intValue)(&c.MaxPendingSnapshots) },
		},
		{
			flag: "shutdown-timeout", env: "EBSD_SHUTDOWN_TIMEOUT", arg: "duration",
			usage: "How long shutdown waits for requests in flight before closing their connections, like 30s or 2m.",
			def:   DefaultShutdownTimeout.String(),
			bind:  func(c *Config) flag.Value { return (*durationValue)(&c.ShutdownTimeout) },
		},
		{
			flag: "stall-timeout", env: "EBSD_STALL_TIMEOUT", arg: "duration",
			usage: "Longest a request body or a response may go without a byte moving; also the grace before " +
				"-min-transfer-rate applies. The request line and headers have 30s of their own.",
			def:  DefaultStallTimeout.String(),
			bind: func(c *Config) flag.Value { return (*durationValue)(&c.StallTimeout) },
		},
		{
			flag: "min-transfer-rate", env: "EBSD_MIN_TRANSFER_RATE", arg: "size",
			usage: "Slowest average rate, in bytes per second, that a request body or a response must keep once " +
				"-stall-timeout has passed; a slower one is cut (4KiB/s moves a 512 KiB block in 128s).",
			def:  FormatSize(DefaultMinTransferRate),
			bind: func(c *Config) flag.Value { return (*sizeValue)(&c.MinTransferRate) },
		},
		{
			flag: "transfer-timeout", env: "EBSD_TRANSFER_TIMEOUT", arg: "duration",
			usage: "Longest that reading one request body, or writing one response, may take whatever its progress.",
			def:   DefaultTransferTimeout.String(),
			bind:  func(c *Config) flag.Value { return (*durationValue)(&c.TransferTimeout) },
		},
		{
			flag: "max-in-flight", env: "EBSD_MAX_IN_FLIGHT", arg: "n",
			usage: "Most EBS API requests served at once; more are refused at once, unread, with 503 " +
				"ServiceUnavailableException, which the SDKs retry. Each block read or written holds up to 1 MiB " +
				"of memory until it is done.",
			def:  strconv.Itoa(DefaultMaxInFlight),
			bind: func(c *Config) flag.Value { return (*intValue)(&c.MaxInFlight) },
		},
		{
			flag: "gc-interval", env: "EBSD_GC_INTERVAL", arg: "duration",
			usage: "How often the garbage collector gives back the space of blocks no snapshot reads any more " +
				"(deleted, failed and timed-out snapshots, overwritten blocks), while the server runs; the first run " +
				"is a minute after start-up, or one interval if that is shorter. 0 turns it off ('ebsd gc' collects offline). In distributed mode every " +
				"node runs it and one collects at a time.",
			def:  DefaultGCInterval.String(),
			bind: func(c *Config) flag.Value { return (*durationValue)(&c.GCInterval) },
		},
		{
			flag: "gc-min-live", env: "EBSD_GC_MIN_LIVE", arg: "fraction",
			usage: "Live fraction below which the garbage collector rewrites a pack file to give back its dead bytes, " +
				"between 0 and 1. Higher reclaims more space and rewrites more data.",
			def:  strconv.FormatFloat(DefaultGCMinLive, 'g', -1, 64),
			bind: func(c *Config) flag.Value { return (*floatValue)(&c.GCMinLive) },
		},
		{
			flag: "gc-compact-bytes", env: "EBSD_GC_COMPACT_BYTES", arg: "size",
			usage: "Most live data one garbage collection rewrites while compacting pack files; the rest waits for " +
				"the next run. 0 means no bound.",
			def:  FormatSize(DefaultGCCompactBytes),
			bind: func(c *Config) flag.Value { return (*sizeValue)(&c.GCCompactBytes) },
		},
		{
			flag: "gc-compact-rate", env: "EBSD_GC_COMPACT_RATE", arg: "size",
			usage: "Most bytes per second that compaction reads and writes while blocks are being uploaded, so that a " +
				"collection leaves the disk to the uploads; with no upload running it goes at the disk's speed. " +
				"0 means no bound.",
			def:  FormatSize(DefaultGCCompactRate),
			bind: func(c *Config) flag.Value { return (*sizeValue)(&c.GCCompactRate) },
		},
		{
			flag: "storage-quota", env: "EBSD_STORAGE_QUOTA", arg: "size",
			usage: "Most data each account's snapshots may hold, counted as the logical bytes of the non-zero blocks they " +
				"wrote (512 KiB each; what a snapshot inherits is its parent's). Beyond it PutSnapshotBlock and " +
				"StartSnapshot get 402 ServiceQuotaExceededException; deleted snapshots count until the next garbage " +
				"collection. A \"storage_quota\" in credentials.json overrides it per account. 0 means none.",
			def:  "0",
			bind: func(c *Config) flag.Value { return (*sizeValue)(&c.StorageQuota) },
		},
		{
			flag: "pack-size", env: "EBSD_PACK_SIZE", arg: "size",
			usage: "Target size of the pack files that hold block data, in bytes or with a unit: KiB, MiB, GiB (powers of 1024) or KB, MB, GB (powers of 1000).",
			def:   FormatSize(DefaultPackSize),
			bind:  func(c *Config) flag.Value { return (*sizeValue)(&c.PackSize) },
		},
		{
			flag: "compression", env: "EBSD_COMPRESSION", arg: "mode",
			usage: "How blocks are stored: zstd has the garbage collector's compaction compress them (each block that " +
				"zstd shrinks by at least 1/16; a pack of them is rewritten once, at a collection after it is written, " +
				"whether or not it holds garbage), so that writes cost no more than with off; zstd-on-write compresses " +
				"each block as it is written instead, which saves the space at once but costs about 2.6 times the " +
				"server CPU per block written; off stores blocks as they are. Either zstd compresses an encrypted " +
				"snapshot's blocks before they are sealed, as they are written. Blocks stored any way stay readable when " +
				"it changes. An OS image takes about 30% of the space compressed; reading a compressed block costs " +
				"about 2 times the server CPU, which on a machine with few cores lowers the read rate: hence off by " +
				"default. The S3 block store (-blocks) compresses each block as it is written under either zstd setting " +
				"(its compaction does not rewrite group objects to compress them).",
			def:  CompressionOff,
			bind: func(c *Config) flag.Value { return (*stringValue)(&c.Compression) },
		},
		{
			flag: "min-free-space", env: "EBSD_MIN_FREE_SPACE", arg: "size",
			usage: "Free space to keep on the data directory's disk. Below it, PutSnapshotBlock gets a retryable 503 " +
				"ServiceUnavailableException saying the storage is full (below half of it, every write does); reads go on, " +
				"and writes resume by themselves once space is freed. A quarter of it is kept in <data-dir>/space-reserve, " +
				"deleted to let ebsd start and stop on a disk filled to the last byte. 0 turns this off.",
			def:  FormatSize(DefaultMinFreeSpace),
			bind: func(c *Config) flag.Value { return (*sizeValue)(&c.MinFreeSpace) },
		},
		{
			flag: "throttle", env: "EBSD_THROTTLE", arg: "mode",
			usage: "Request-rate quotas: off, or aws to refuse requests beyond AWS's per-second quotas with AWS's errors " +
				"(PutSnapshotBlock and GetSnapshotBlock 1000/s per snapshot and per account, ListSnapshotBlocks and " +
				"ListChangedBlocks 50/s, StartSnapshot and CompleteSnapshot 10/s per account; EC2's token buckets for " +
				"DescribeSnapshots, CopySnapshot and the other EC2 actions), which the SDKs retry.",
			def:  ThrottleOff,
			bind: func(c *Config) flag.Value { return (*stringValue)(&c.Throttle) },
		},
		{
			flag: "throttle-config", env: "EBSD_THROTTLE_CONFIG", arg: "file",
			usage: `JSON file that overrides quotas of -throttle aws, by operation and scope, e.g. {"version": 1, "quotas": ` +
				`{"PutSnapshotBlock": {"snapshot": {"rate": 100, "burst": 10}}}}; a rate of 0 lifts a quota.`,
			def:  "none",
			bind: func(c *Config) flag.Value { return (*stringValue)(&c.ThrottleConfig) },
		},
	}
}

// The flag.Value types below parse into a Config field. Their String
// methods must work on a nil receiver: package flag calls them on zero
// values to tell defaults apart.

type stringValue string

func (v *stringValue) Set(s string) error { *v = stringValue(s); return nil }
func (v *stringValue) String() string {
	if v == nil {
		return ""
	}
	return string(*v)
}

// boolValue is a flag that may be given alone (-access-log) or with a
// value (-access-log=false).
type boolValue bool

func (v *boolValue) Set(s string) error {
	b, err := strconv.ParseBool(s)
	if err != nil {
		return fmt.Errorf("invalid boolean %q: want true or false", s)
	}
	*v = boolValue(b)
	return nil
}
func (v *boolValue) String() string   { return strconv.FormatBool(v != nil && bool(*v)) }
func (v *boolValue) IsBoolFlag() bool { return true }

type intValue int

func (v *intValue) Set(s string) error {
	n, err := strconv.Atoi(s)
	if err != nil {
		return fmt.Errorf("invalid number %q: want a whole number like 100", s)
	}
	*v = intValue(n)
	return nil
}
func (v *intValue) String() string {
	if v == nil {
		return "0"
	}
	return strconv.Itoa(int(*v))
}

type floatValue float64

func (v *floatValue) Set(s string) error {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return fmt.Errorf("invalid number %q: want a decimal number like 0.5", s)
	}
	*v = floatValue(f)
	return nil
}
func (v *floatValue) String() string {
	if v == nil {
		return "0"
	}
	return strconv.FormatFloat(float64(*v), 'g', -1, 64)
}

type durationValue time.Duration

func (v *durationValue) Set(s string) error {
	d, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("invalid duration %q: want a number with a unit, like 30s, 1m30s or 500ms", s)
	}
	*v = durationValue(d)
	return nil
}
func (v *durationValue) String() string {
	if v == nil {
		return "0s"
	}
	return time.Duration(*v).String()
}

type sizeValue int64

func (v *sizeValue) Set(s string) error {
	n, err := ParseSize(s)
	if err != nil {
		return err
	}
	*v = sizeValue(n)
	return nil
}
func (v *sizeValue) String() string {
	if v == nil {
		return "0"
	}
	return FormatSize(int64(*v))
}
