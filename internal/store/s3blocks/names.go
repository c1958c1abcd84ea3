package s3blocks

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
)

// groupName is the object name of group id: PREFIX/groups/HH/ID.grp, where
// HH is a byte of a hash of the id, so that consecutive groups spread over
// the server's partitions (S3 scales request rates per key prefix) instead
// of all landing on the prefix of the newest ids.
func (s *Store) groupName(id int64) string {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(id))
	h := sha256.Sum256(b[:])
	return fmt.Sprintf("%sgroups/%02x/%d.grp", s.opts.Prefix, h[0], id)
}
