package nbd

import (
	"encoding/binary"
	"fmt"
	"io"
)

// greet sends the newstyle greeting and reads the client's flags
// (proto.md §Newstyle negotiation, §Fixed newstyle negotiation).
func (ss *session) greet() error {
	var b [18]byte
	binary.BigEndian.PutUint64(b[0:], magicNBD)
	binary.BigEndian.PutUint64(b[8:], magicOption)
	binary.BigEndian.PutUint16(b[16:], flagFixedNewstyle|flagNoZeroes)
	if err := ss.w.raw(b[:]); err != nil {
		return err
	}
	var cf [4]byte
	if _, err := io.ReadFull(ss.r, cf[:]); err != nil {
		return err
	}
	flags, err := parseClientFlags(cf)
	if err != nil {
		return err
	}
	ss.noZeroes = flags&clientFlagNoZeroes != 0
	return nil
}

// parseClientFlags checks the client's flags: "the server MUST drop the
// TCP connection if the client sets an unknown flag" (§Client flags). A
// client without NBD_FLAG_C_FIXED_NEWSTYLE is served all the same, as the
// spec allows: its side of the protocol does not change.
func parseClientFlags(b [4]byte) (uint32, error) {
	flags := binary.BigEndian.Uint32(b[:])
	if flags&^clientFlagsKnown != 0 {
		return 0, fmt.Errorf("nbd: unknown client flags %#x", flags)
	}
	return flags, nil
}
