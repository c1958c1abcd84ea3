package pebblemeta

import (
	"encoding/binary"
	"fmt"

	"github.com/ebsd/ebsd/internal/store"
)

// The first byte of every key names its keyspace (see the package doc).
const (
	spaceSnapshot    = 'S'
	spaceState       = 'P'
	spacePending     = 'O'
	spaceList        = 'D'
	spaceIdempotency = 'I'
	spaceWrite       = 'W'
	spaceLayout      = 'L'
	spaceActivity    = 'A'
	spaceSecret      = 'K'
	spaceVersion     = 'V'
	spaceUsage       = 'U'
	spaceReplaced    = 'R'
)

// formatVersion is the version of the keyspaces, stored under the V key.
// Open upgrades a store of an older version (see upgrade.go) and refuses
// one of a newer version. Version 2 added the O keys; version 3 the D
// keys, and P keys for deleted and copying snapshots; version 4 the U keys;
// version 5 the R keys (replaced.go), which the upgrade does not write:
// snapshots completed before have none and are read as before. A version
// 4 binary must not open a version 5 store: its purge would leave R keys
// behind.
const formatVersion = 5

// formatUsage is the first format version with U keys. A store of an
// older version that could not be upgraded (it was opened read-only)
// counts usage by scanning its W keys instead.
const formatUsage = 4

// formatListed is the first format version with D keys. A store of an
// older version that could not be upgraded (it was opened read-only) lists
// snapshots by scanning their records instead.
const formatListed = 3

func snapshotKey(id string) []byte { return append([]byte{spaceSnapshot}, id...) }

func stateKey(state store.State, id string) []byte {
	return append([]byte{spaceState, byte(state)}, id...)
}

// pendingPrefix is the prefix of the O keys of owner's pending snapshots.
func pendingPrefix(owner string) []byte { return appendString([]byte{spacePending}, owner) }

func pendingKey(owner, id string) []byte { return append(pendingPrefix(owner), id...) }

// listPrefix is the prefix of the D keys of owner's snapshots that are not
// deleted, which ListSnapshots walks in ID order.
func listPrefix(owner string) []byte { return appendString([]byte{spaceList}, owner) }

func listKey(owner, id string) []byte { return append(listPrefix(owner), id...) }

func idempotencyKey(owner, token string) []byte {
	k := append([]byte{spaceIdempotency}, owner...)
	k = append(k, 0)
	return append(k, token...)
}

func activityKey(id string) []byte { return append([]byte{spaceActivity}, id...) }

func secretKey(name string) []byte { return append([]byte{spaceSecret}, name...) }

// usageKey is the key of owner's usage counter (usage.go).
func usageKey(owner string) []byte { return appendString([]byte{spaceUsage}, owner) }

// appendString appends s, length-prefixed so that no ID is a prefix of
// another's key.
func appendString(k []byte, s string) []byte {
	k = binary.AppendUvarint(k, uint64(len(s)))
	return append(k, s...)
}

// appendIndex appends a block index so that byte order is numeric order.
func appendIndex(k []byte, index int32) []byte {
	return binary.BigEndian.AppendUint32(k, uint32(index)^1<<31)
}

func decodeIndex(b []byte) int32 { return int32(binary.BigEndian.Uint32(b) ^ 1<<31) }

// writePrefix is the prefix of the W keys of snapshot id.
func writePrefix(id string) []byte { return appendString([]byte{spaceWrite}, id) }

func writeKey(id string, index int32) []byte { return appendIndex(writePrefix(id), index) }

// layoutPrefix is the prefix of the L keys of the lineage tree of root.
func layoutPrefix(root string) []byte { return appendString([]byte{spaceLayout}, root) }

// appendLayoutSeek appends the index and depth of an L key to its tree's
// prefix: the key at which the entries of index at depth or above start.
// Depths are inverted so that deeper snapshots sort first.
func appendLayoutSeek(prefix []byte, index int32, depth int) []byte {
	return binary.BigEndian.AppendUint32(appendIndex(prefix, index), ^uint32(depth))
}

func layoutKey(root string, index int32, depth int, id string) []byte {
	return append(appendLayoutSeek(layoutPrefix(root), index, depth), id...)
}

// layoutEntry is a decoded L key, without its tree's prefix.
type layoutEntry struct {
	index int32
	depth int
	id    []byte // aliases the key
}

// decodeLayout decodes an L key whose tree prefix is prefixLen bytes long.
func decodeLayout(key []byte, prefixLen int) (layoutEntry, error) {
	rest := key[prefixLen:]
	if len(rest) < 8 {
		return layoutEntry{}, fmt.Errorf("pebblemeta: layout key %x: %w", key, store.ErrCorrupt)
	}
	return layoutEntry{
		index: decodeIndex(rest),
		depth: int(^binary.BigEndian.Uint32(rest[4:])),
		id:    rest[8:],
	}, nil
}

// prefixEnd returns the first key after every key that starts with p.
func prefixEnd(p []byte) []byte {
	end := append([]byte(nil), p...)
	for i := len(end) - 1; i >= 0; i-- {
		end[i]++
		if end[i] != 0 {
			return end[:i+1]
		}
	}
	return nil // p is all 0xff: no upper bound
}
