// Package blockcipher encrypts 512 KiB blocks at rest under a snapshot's data
// key, deterministically, so that equal blocks still deduplicate.
//
// # Construction
//
// Three independent subkeys are derived from the 32-byte data key K as
// HMAC-SHA256(K, label), one label per purpose:
//
//	ke = HMAC(K, "ebsd blockcipher v1 encryption")   AES-256-GCM key
//	kn = HMAC(K, "ebsd blockcipher v1 nonce")        nonce PRF key
//	ks = HMAC(K, "ebsd blockcipher v1 storage key")  storage-key PRF key
//
// For a block P whose SHA-256 is D (the digest the client sent as
// x-amz-Checksum and the block mapping records):
//
//	storage key = HMAC-SHA256(ks, D)
//	nonce       = HMAC-SHA256(kn, D)[:12]
//	stored form = AES-256-GCM-Seal(ke, nonce, plaintext P, additional data D)
//
// The stored form is the ciphertext followed by GCM's 16-byte tag; the nonce
// is not stored because Open recomputes it from D. Overhead is 16 bytes per
// block.
//
// # Why the nonce derivation is safe
//
// GCM breaks if one (key, nonce) pair ever encrypts two different plaintexts:
// the XOR of the plaintexts leaks and the authentication key can be
// recovered, which allows forgeries. Here the nonce is a function of D alone.
// Equal plaintexts have equal D, so they get the same nonce, the same
// additional data and hence byte-identical ciphertexts: repeating an
// encryption reveals nothing beyond the fact that the blocks are equal. Two
// different plaintexts have different D (SHA-256 is collision resistant), and
// since HMAC-SHA256 under a secret key is a pseudorandom function, their
// nonces are independent uniform 96-bit values. They collide with probability
// at most n²/2⁹⁷ over n distinct blocks under one data key: about 2⁻⁴³ for
// every block of a 64 TiB volume (2²⁷ blocks), 2⁻³³ for 2³² distinct blocks
// (2 PiB of unique data), the bound NIST SP 800-38D sets for random nonces.
// This is the SIV idea (the IV is a keyed PRF of the message, here through
// its hash) built from the standard library's AES-GCM, which has no
// AES-GCM-SIV.
//
// The construction relies on one precondition the caller must keep: D passed
// to Seal is the SHA-256 of the plaintext. Seal does not recompute it (the
// put path has just computed it to check x-amz-Checksum, and hashing again
// would halve throughput); sealing two different plaintexts under one wrong D
// is exactly the nonce reuse described above.
//
// # Compressed blocks
//
// A block that compresses well is compressed before it is sealed
// (ciphertext does not compress), in a second stored form. The first,
// above, is the raw form: exactly ebs.BlockSize + 16 bytes, with no
// version byte, as every block was stored before. The compressed form is:
//
//	kc          = HMAC(K, "ebsd blockcipher v2 compressed nonce")
//	C           = the block P encoded by codec (1 = one zstd frame)
//	nonce       = HMAC-SHA256(kc, D | codec | C)[:12]
//	stored form = 0x02 | codec | nonce | AES-256-GCM-Seal(ke, nonce, C, D | 0x02 | codec)
//
// 14 bytes of header and the 16-byte tag around C. SealCompressed refuses
// a C that would make it as long as a raw form, so the length tells the
// forms apart (IsCompressed): a stored form of exactly ebs.BlockSize + 16
// bytes is raw, and a shorter one starts with its version byte. Blocks
// stored raw before keep reading, a block that does not compress is still
// stored raw, and one block may be stored in either form under its one
// storage key (whichever was stored first stays: both open to P).
//
// The nonce of the compressed form is synthetic (SIV) over C itself, and
// stored: the nonce of the raw form depends on D alone, which is safe
// because a given D always seals the same P, but C depends on the encoder
// (its level, its version), so one D may seal two different C over time.
// With C in the nonce, two different C get independent nonces; the same C
// gets the same nonce and the same stored form, so equal blocks still
// deduplicate. kc is its own subkey, and the version and codec are
// authenticated, so neither form can be passed off as the other. What the
// compressed form reveals beyond the raw one is its length: how well each
// block compresses (see Limits).
//
// # Limits
//
//   - Deterministic encryption leaks equality: whoever sees the block store
//     learns which blocks under one data key are equal (they have one storage
//     key), how many distinct blocks there are, and which are read. That is
//     acceptable and necessary for deduplication. Nothing is learnt across
//     data keys: equal blocks under different keys have unrelated storage
//     keys and ciphertexts.
//   - The storage key reveals nothing about the plaintext without ks; in
//     particular it is not the plaintext's SHA-256, which would let anyone
//     confirm a guessed block.
//   - Additional data D binds each ciphertext to the digest the mapping
//     records, so swapping or altering stored blocks is detected by Open. A
//     ciphertext is not bound to a snapshot or block index (one stored block
//     serves every index and every snapshot of the lineage that holds it), so
//     integrity of which block sits at which index is the metadata store's.
//   - A compressed block's stored length reveals how well it compresses,
//     which says something of its content (long runs, text, or random
//     bytes). An attacker who can also make the victim's volume hold
//     chosen bytes next to secret ones in one block, and watch the stored
//     size change, can learn those secret bytes (as CRIME did in TLS).
//     -compression off stores every block in the raw form.
//   - GCM's tag authenticates under a key the reader already trusts; GCM is
//     not key-committing, which does not matter here because the data key
//     comes from the snapshot record, not from the stored block.
package blockcipher
