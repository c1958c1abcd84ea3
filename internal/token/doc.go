// Package token mints and verifies the opaque block tokens and page tokens
// of the EBS direct APIs.
//
// A block token (ListSnapshotBlocks, ListChangedBlocks -> GetSnapshotBlock)
// names one block of one snapshot for one account until it expires; a page
// token (NextToken -> pageToken) resumes one listing. Both are
// self-contained: the server keeps no state per token, so a re-list issues
// new tokens while the old ones keep working until they expire, as on AWS.
//
// # Format
//
// A token is the base64 RawURLEncoding (alphabet [A-Za-z0-9_-], no padding,
// safe in a URL unescaped) of
//
//	version  1 byte  (1)
//	kind     1 byte  (1 block, 2 ListSnapshotBlocks page, 3 ListChangedBlocks page)
//	expiry   4 bytes big-endian unix seconds (uint32: until 2106)
//	payload  block: flag byte, digest (32), storage key (32, only when flag is 1)
//	         page:  next block index (4 bytes big-endian)
//	mac      16 bytes: HMAC-SHA256 truncated to 128 bits
//
// The MAC covers every byte before it followed by the fields the token is
// bound to but does not carry: the account and the snapshot ID(s), each
// prefixed with its length so that no two different sets of fields give the
// same MAC input, and for block tokens the block index. Block and page tokens
// are MACed under different keys derived from the one secret, and the kind
// byte is MACed too, so a token of one kind never verifies as another.
// The longest token (an encrypted block's) is 116 characters, well under the
// API's limit of 256.
//
// # Caveats
//
// Tokens are authenticated, not encrypted: anyone holding one can read the
// block's SHA-256 (which GetSnapshotBlock returns anyway as its checksum),
// its storage key and the expiry. They are bearer tokens within the account
// they are bound to; there is no revocation short of changing the secret,
// which invalidates every outstanding token.
//
// Expiry has one-second resolution and is rounded down: a token never lives
// longer than asked.
package token
