package nbd

import "strconv"

// Magic numbers (proto.md §Newstyle negotiation, §Request message,
// §Simple reply message, §Structured reply chunk message).
const (
	magicNBD             = 0x4e42444d41474943 // "NBDMAGIC"
	magicOption          = 0x49484156454F5054 // "IHAVEOPT"
	magicOptionReply     = 0x3e889045565a9
	magicRequest         = 0x25609513
	magicSimpleReply     = 0x67446698
	magicStructuredReply = 0x668e33ef
)

// Handshake flags, sent by the server, and client flags (§Handshake flags,
// §Client flags).
const (
	flagFixedNewstyle = 1 << 0
	flagNoZeroes      = 1 << 1

	clientFlagFixedNewstyle = 1 << 0
	clientFlagNoZeroes      = 1 << 1
	clientFlagsKnown        = clientFlagFixedNewstyle | clientFlagNoZeroes
)

// Transmission flags (§Transmission flags).
const (
	flagHasFlags         = 1 << 0
	flagReadOnly         = 1 << 1
	flagSendFlush        = 1 << 2
	flagSendFUA          = 1 << 3
	flagSendTrim         = 1 << 5
	flagSendWriteZeroes  = 1 << 6
	flagSendDF           = 1 << 7
	flagCanMultiConn     = 1 << 8
	flagSendCache        = 1 << 10
	transmissionFlagsAll = 0xffff
)

// Option types (§Option types).
const (
	optExportName      = 1
	optAbort           = 2
	optList            = 3
	optStartTLS        = 5
	optInfo            = 6
	optGo              = 7
	optStructuredReply = 8
	optListMetaContext = 9
	optSetMetaContext  = 10
)

// Option reply types (§Option reply types). Errors have bit 31 set.
const (
	repAck         = 1
	repServer      = 2
	repInfo        = 3
	repMetaContext = 4

	repErrUnsup   = 1<<31 + 1
	repErrPolicy  = 1<<31 + 2
	repErrInvalid = 1<<31 + 3
	repErrUnknown = 1<<31 + 6
	repErrTooBig  = 1<<31 + 9
)

// Information types of NBD_REP_INFO (§Option reply types).
const (
	infoExport      = 0
	infoName        = 1
	infoDescription = 2
	infoBlockSize   = 3
)

// Request types (§Request types).
const (
	cmdRead        = 0
	cmdWrite       = 1
	cmdDisc        = 2
	cmdFlush       = 3
	cmdTrim        = 4
	cmdCache       = 5
	cmdWriteZeroes = 6
	cmdBlockStatus = 7
)

// Command flags (§Command flags).
const (
	cmdFlagFUA      = 1 << 0
	cmdFlagNoHole   = 1 << 1
	cmdFlagDF       = 1 << 2
	cmdFlagReqOne   = 1 << 3
	cmdFlagFastZero = 1 << 4
)

// Structured reply flags and types (§Structured reply flags,
// §Structured reply types).
const (
	replyFlagDone = 1 << 0

	replyTypeNone        = 0
	replyTypeOffsetData  = 1
	replyTypeOffsetHole  = 2
	replyTypeBlockStatus = 5
	replyTypeError       = 1<<15 + 1
)

// Errno is an NBD error value (§Error values): the protocol fixes the
// numbers, which happen to be Linux's errno values.
type Errno uint32

// The error values a server may send.
const (
	EPERM     Errno = 1
	EIO       Errno = 5
	ENOMEM    Errno = 12
	EINVAL    Errno = 22
	ENOSPC    Errno = 28
	EOVERFLOW Errno = 75
	ENOTSUP   Errno = 95
	ESHUTDOWN Errno = 108
)

func (e Errno) String() string {
	switch e {
	case EPERM:
		return "EPERM"
	case EIO:
		return "EIO"
	case ENOMEM:
		return "ENOMEM"
	case EINVAL:
		return "EINVAL"
	case ENOSPC:
		return "ENOSPC"
	case EOVERFLOW:
		return "EOVERFLOW"
	case ENOTSUP:
		return "ENOTSUP"
	case ESHUTDOWN:
		return "ESHUTDOWN"
	}
	return "errno " + strconv.FormatUint(uint64(e), 10)
}

// Size limits.
const (
	// MaxPayload is the largest READ or WRITE this server takes (the
	// maximum payload size of §Size constraints): the default every
	// client assumes.
	MaxPayload = 32 << 20
	// preferredBlock is the preferred block size advertised.
	preferredBlock = 4096
	// maxString is the longest string the protocol allows (§Conventions).
	maxString = 4096
	// maxOptionData bounds the data of one option: the largest legitimate
	// one (SET_META_CONTEXT with a few queries) is far smaller.
	maxOptionData = 64 << 10
	// maxOptionDiscard is how much data of an oversized option is read
	// and dropped, to answer NBD_REP_ERR_TOO_BIG, before the client is
	// cut off instead (§Termination of the session during option
	// haggling: a server MAY hard-disconnect a client it believes hostile).
	maxOptionDiscard = 16 << 20
	// contextAllocation is the ID of base:allocation, the only metadata
	// context (§The base: metadata namespace).
	contextAllocation = 1
	metaAllocation    = "base:allocation"
)
