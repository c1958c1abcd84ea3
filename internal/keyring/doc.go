// Package keyring keeps ebsd's master keys: locally configured stand-ins for
// AWS KMS keys, each named by a KMS key ARN.
//
// A snapshot that is encrypted gets a fresh 256-bit data key. The keyring
// wraps it under the master key the snapshot names (its KmsKeyArn), and only
// the wrapped form is stored with the snapshot, as with KMS's
// GenerateDataKey and Decrypt. Each account has a default key, created on
// first use with the ARN form of a real KMS key,
// arn:aws:kms:<region>:<account>:key/<uuid>; further keys are added by ARN.
//
// # Wrapping
//
// A wrapped data key is AES-256-GCM under the master key with a random
// 96-bit nonce prepended and the key's ARN as additional data, so a wrapped
// key only unwraps under the ARN it was made for: 12 + 32 + 16 = 60 bytes.
// Random nonces allow about 2³² wraps per master key before the chance of a
// nonce collision reaches 2⁻³²; a wrap happens once per snapshot lineage.
//
// # File
//
// Keys live in one JSON file, written with mode 0600 by replacing it
// atomically (temporary file, fsync, rename, fsync of the directory):
//
//	{"version": 1, "keys": [{"arn": "...", "material": "<base64>", "default_for_account": "111122223333"}]}
//
// Open refuses a file that group or others may access, a file of another
// version, and malformed entries. Losing the file loses every encrypted
// snapshot: back it up, and keep it apart from the data it protects.
//
// # Caveats
//
// Several processes may share the file (a server and 'ebsd kms-key add'):
// every writer holds an exclusive flock on <file>.lock while it re-reads
// the file, merges its change into it and replaces it, so no writer drops
// a key it did not know (without flock, on other systems, concurrent
// writers may). A Keyring adopts keys added by others on Reload and when
// a lookup misses, and never forgets a key it holds. Key material is never logged and
// never part of an error; Keyring's String method prints no material either.
// There is no rotation or deletion.
package keyring
