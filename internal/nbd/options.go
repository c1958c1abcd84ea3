package nbd

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// negotiate runs the option haggling (proto.md §Fixed newstyle
// negotiation) until the client enters the transmission phase (true),
// aborts, or breaks the protocol (an error: a hard disconnect).
func (ss *session) negotiate() (bool, error) {
	for {
		var h [16]byte
		if _, err := io.ReadFull(ss.r, h[:]); err != nil {
			return false, err
		}
		opt, length, err := parseOptionHeader(h)
		if err != nil {
			return false, err
		}
		if length > maxOptionData {
			// Too large to be a real option. Answer it if its data can be
			// skipped at a reasonable cost, as §Termination asks a server
			// to error options rather than disconnect; past that, the
			// client is hostile and is cut off.
			if length > maxOptionDiscard || opt == optExportName {
				return false, fmt.Errorf("nbd: option %d with %d bytes of data", opt, length)
			}
			if _, err := io.CopyN(io.Discard, ss.r, int64(length)); err != nil {
				return false, err
			}
			if err := ss.optionError(opt, repErrTooBig, "option data too large"); err != nil {
				return false, err
			}
			continue
		}
		data := make([]byte, length)
		if _, err := io.ReadFull(ss.r, data); err != nil {
			return false, err
		}
		enter, err := ss.option(opt, data)
		if err != nil || enter {
			return enter, err
		}
	}
}

// parseOptionHeader reads "IHAVEOPT, option, length" (§Newstyle
// negotiation). A wrong magic means the stream is out of step: there is
// nothing to answer.
func parseOptionHeader(h [16]byte) (opt, length uint32, err error) {
	if m := binary.BigEndian.Uint64(h[0:]); m != magicOption {
		return 0, 0, fmt.Errorf("nbd: option magic %#x, want IHAVEOPT", m)
	}
	return binary.BigEndian.Uint32(h[8:]), binary.BigEndian.Uint32(h[12:]), nil
}

// option handles one option; true means the transmission phase starts.
func (ss *session) option(opt uint32, data []byte) (bool, error) {
	ex := &ss.srv.Export
	switch opt {
	case optExportName:
		// No error can be returned to EXPORT_NAME: an unknown name ends
		// the session (§Option types).
		if !ss.known(string(data)) {
			return false, fmt.Errorf("nbd: NBD_OPT_EXPORT_NAME of unknown export %q", data)
		}
		b := make([]byte, 10, 10+124)
		binary.BigEndian.PutUint64(b[0:], uint64(ex.Backend.Size()))
		binary.BigEndian.PutUint16(b[8:], ss.transmissionFlags())
		if !ss.noZeroes {
			b = b[:10+124]
		}
		ss.selectedFor(string(data))
		return true, ss.w.raw(b)

	case optAbort:
		// The reply is owed, but the client may already be gone (§Option
		// types: both sides handle either order).
		_ = ss.w.option(opt, repAck, nil)
		return false, errAbort

	case optList:
		if len(data) != 0 {
			return false, ss.optionError(opt, repErrInvalid, "NBD_OPT_LIST takes no data")
		}
		b := binary.BigEndian.AppendUint32(nil, uint32(len(ex.Name)))
		b = append(append(b, ex.Name...), ex.Description...)
		if err := ss.w.option(opt, repServer, b); err != nil {
			return false, err
		}
		return false, ss.w.option(opt, repAck, nil)

	case optInfo, optGo:
		name, infos, err := parseInfoRequest(data)
		if err != nil {
			return false, ss.optionError(opt, repErrInvalid, err.Error())
		}
		if !ss.known(name) {
			return false, ss.optionError(opt, repErrUnknown, fmt.Sprintf("no export named %q (this server has %q)", name, ex.Name))
		}
		if err := ss.sendInfo(opt, infos); err != nil {
			return false, err
		}
		if err := ss.w.option(opt, repAck, nil); err != nil {
			return false, err
		}
		if opt == optGo {
			ss.selectedFor(name)
			return true, nil
		}
		return false, nil

	case optStructuredReply:
		switch {
		case len(data) != 0:
			return false, ss.optionError(opt, repErrInvalid, "NBD_OPT_STRUCTURED_REPLY takes no data")
		case ss.structured:
			return false, ss.optionError(opt, repErrInvalid, "structured replies are already negotiated")
		}
		ss.structured = true
		return false, ss.w.option(opt, repAck, nil)

	case optListMetaContext, optSetMetaContext:
		return false, ss.metaContext(opt, data)
	}
	// NBD_OPT_STARTTLS included: this server does not implement TLS at
	// all (§NOTLS mode allows NBD_REP_ERR_UNSUP), and nothing else.
	return false, ss.optionError(opt, repErrUnsup, fmt.Sprintf("option %d is not supported", opt))
}

// known reports whether name is the export's (or the default export).
func (ss *session) known(name string) bool {
	return name == "" || name == ss.srv.Export.Name
}

// selectedFor keeps the metadata context selection only if it was made
// for the export the client now uses (§Metadata querying: BLOCK_STATUS
// needs SET_META_CONTEXT with the same export name).
func (ss *session) selectedFor(name string) {
	if ss.meta && ss.canonical(name) != ss.metaName {
		ss.meta = false
	}
}

func (ss *session) canonical(name string) string {
	if name == "" {
		return ss.srv.Export.Name
	}
	return name
}

// transmissionFlags are the flags of the export for this session
// (§Transmission flags).
func (ss *session) transmissionFlags() uint16 {
	ex := &ss.srv.Export
	f := uint16(flagHasFlags | flagSendFlush)
	if ex.MultiConn {
		f |= flagCanMultiConn
	}
	if ss.structured {
		f |= flagSendDF
	}
	if ex.Writable {
		f |= flagSendFUA | flagSendTrim | flagSendWriteZeroes
	} else {
		f |= flagReadOnly
	}
	return f
}

// sendInfo sends the NBD_REP_INFO replies of INFO and GO: always
// NBD_INFO_EXPORT, and the name, description and block sizes when asked
// for (§Option reply types).
func (ss *session) sendInfo(opt uint32, infos []uint16) error {
	ex := &ss.srv.Export
	b := make([]byte, 12)
	binary.BigEndian.PutUint16(b[0:], infoExport)
	binary.BigEndian.PutUint64(b[2:], uint64(ex.Backend.Size()))
	binary.BigEndian.PutUint16(b[10:], ss.transmissionFlags())
	if err := ss.w.option(opt, repInfo, b); err != nil {
		return err
	}
	for _, info := range infos {
		var b []byte
		switch info {
		case infoName:
			b = append(binary.BigEndian.AppendUint16(nil, infoName), ex.Name...)
		case infoDescription:
			b = append(binary.BigEndian.AppendUint16(nil, infoDescription), ex.Description...)
		case infoBlockSize:
			// Minimum 1: any alignment works (the backend does the
			// read-modify-write); maximum payload the spec's default.
			b = binary.BigEndian.AppendUint16(nil, infoBlockSize)
			b = binary.BigEndian.AppendUint32(b, 1)
			b = binary.BigEndian.AppendUint32(b, preferredBlock)
			b = binary.BigEndian.AppendUint32(b, MaxPayload)
		default:
			continue // "The server MUST ignore any information requests it does not understand"
		}
		if err := ss.w.option(opt, repInfo, b); err != nil {
			return err
		}
	}
	return nil
}

// metaContext answers LIST_META_CONTEXT and SET_META_CONTEXT. The only
// context is base:allocation; queries of other namespaces, and unknown
// leaves of base:, are ignored, as the spec requires (§Option types,
// §The base: metadata namespace).
func (ss *session) metaContext(opt uint32, data []byte) error {
	set := opt == optSetMetaContext
	if set {
		// "Issuing this command replaces all previously-set metadata
		// contexts (including when this command fails)".
		ss.meta = false
		if !ss.structured {
			return ss.optionError(opt, repErrInvalid, "NBD_OPT_SET_META_CONTEXT needs structured replies first")
		}
	}
	name, queries, err := parseMetaRequest(data)
	if err != nil {
		return ss.optionError(opt, repErrInvalid, err.Error())
	}
	if !ss.known(name) {
		return ss.optionError(opt, repErrUnknown, fmt.Sprintf("no export named %q", name))
	}
	match := !set && len(queries) == 0 // LIST with no query: everything
	for _, q := range queries {
		switch {
		case q == metaAllocation:
			match = true
		case q == "base:" && !set: // the wildcard, for LIST only
			match = true
		}
	}
	if match {
		id := uint32(0) // "reserved and SHOULD be set to zero" in LIST replies
		if set {
			id = contextAllocation
			ss.meta, ss.metaName = true, ss.canonical(name)
		}
		b := append(binary.BigEndian.AppendUint32(nil, id), metaAllocation...)
		if err := ss.w.option(opt, repMetaContext, b); err != nil {
			return err
		}
	}
	return ss.w.option(opt, repAck, nil)
}

// optionError sends an error reply with a message for the user.
func (ss *session) optionError(opt, typ uint32, msg string) error {
	if len(msg) > maxString {
		msg = msg[:maxString]
	}
	return ss.w.option(opt, typ, []byte(msg))
}

// parseInfoRequest parses the data of NBD_OPT_INFO and NBD_OPT_GO: name
// length, name, count of information requests, the requests (§Option
// types). The data must be exactly that long.
func parseInfoRequest(data []byte) (name string, infos []uint16, err error) {
	name, rest, err := parseString(data)
	if err != nil {
		return "", nil, err
	}
	if len(rest) < 2 {
		return "", nil, errors.New("no count of information requests")
	}
	n := int(binary.BigEndian.Uint16(rest))
	rest = rest[2:]
	if len(rest) != 2*n {
		return "", nil, fmt.Errorf("%d information requests announced, %d bytes of them sent", n, len(rest))
	}
	infos = make([]uint16, n)
	for i := range infos {
		infos[i] = binary.BigEndian.Uint16(rest[2*i:])
	}
	return name, infos, nil
}

// parseMetaRequest parses the data of LIST_META_CONTEXT and
// SET_META_CONTEXT: export name, count of queries, each a length and a
// string that starts with a namespace and a colon.
func parseMetaRequest(data []byte) (name string, queries []string, err error) {
	name, rest, err := parseString(data)
	if err != nil {
		return "", nil, err
	}
	if len(rest) < 4 {
		return "", nil, errors.New("no count of queries")
	}
	n := binary.BigEndian.Uint32(rest)
	rest = rest[4:]
	if uint64(n)*4 > uint64(len(rest)) {
		return "", nil, fmt.Errorf("%d queries announced in %d bytes", n, len(rest))
	}
	for range n {
		var q string
		if q, rest, err = parseString(rest); err != nil {
			return "", nil, fmt.Errorf("query: %w", err)
		}
		if !strings.Contains(q, ":") {
			return "", nil, fmt.Errorf("query %q has no namespace", q)
		}
		queries = append(queries, q)
	}
	if len(rest) != 0 {
		return "", nil, fmt.Errorf("%d bytes after the last query", len(rest))
	}
	return name, queries, nil
}

// parseString reads a 32-bit length and that many bytes of a string as
// §Conventions defines strings: UTF-8, no NUL, at most 4096 bytes.
func parseString(b []byte) (string, []byte, error) {
	if len(b) < 4 {
		return "", nil, errors.New("string length cut short")
	}
	n := binary.BigEndian.Uint32(b)
	b = b[4:]
	switch {
	case n > maxString:
		return "", nil, fmt.Errorf("string of %d bytes: at most %d", n, maxString)
	case uint64(n) > uint64(len(b)):
		return "", nil, fmt.Errorf("string of %d bytes, %d sent", n, len(b))
	}
	s := string(b[:n])
	if !utf8.ValidString(s) || strings.IndexByte(s, 0) >= 0 {
		return "", nil, errors.New("string is not UTF-8 without NUL")
	}
	return s, b[n:], nil
}
