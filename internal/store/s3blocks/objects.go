package s3blocks

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"net/http"
	"sync/atomic"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
)

// errNoObject means the object asked for does not exist (NoSuchKey).
var errNoObject = errors.New("s3blocks: no such object")

// errObjectExists means a create-only PUT found the object there already.
var errObjectExists = errors.New("s3blocks: object exists")

// objects is the object storage the store uses: the S3 API, or a fault
// injector over it in tests.
type objects interface {
	// create uploads body as a new object; with exclusive, the server
	// refuses (errObjectExists) to replace an existing one.
	create(ctx context.Context, name string, body []byte, exclusive bool) error
	// readRange appends bytes [off, off+n) of the object to dst, fewer
	// (none) if the object ends before off+n (off); errNoObject when it
	// does not exist. n < 0 reads to the end.
	readRange(ctx context.Context, name string, off, n int64, dst []byte) ([]byte, error)
	remove(ctx context.Context, name string) error
}

// s3Objects is objects over a bucket of an S3-compatible service. It
// counts its requests.
type s3Objects struct {
	client *s3.Client
	bucket string
	stats  *requestStats
}

// requestStats counts the requests sent to object storage.
type requestStats struct {
	puts, gets, deletes atomic.Int64
	putBytes, getBytes  atomic.Int64
}

// unsignedPayload sends a group's bytes without their SHA-256 in the
// signature, which over plain HTTP the SDK computes, and the server
// verifies, for every PUT: a SHA-256 of every byte on each side. The body
// is checked on the wire by its CRC-32C instead (wireChecksum), which the
// server verifies and which costs a small fraction of that; every entry
// also carries its own CRC-32C, checked when it is read.
var unsignedPayload = s3.WithAPIOptions(v4.SwapComputePayloadSHA256ForUnsignedPayloadMiddleware)

// wireChecksum is body's CRC-32C as the x-amz-checksum-crc32c header
// carries it. The SDK computes it itself only when asked to, and then
// signs the payload's SHA-256 too.
func wireChecksum(body []byte) *string {
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], crc32.Checksum(body, castagnoli))
	return aws.String(base64.StdEncoding.EncodeToString(b[:]))
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

func (o *s3Objects) create(ctx context.Context, name string, body []byte, exclusive bool) error {
	in := &s3.PutObjectInput{
		Bucket:         aws.String(o.bucket),
		Key:            aws.String(name),
		Body:           bytes.NewReader(body),
		ContentLength:  aws.Int64(int64(len(body))),
		ChecksumCRC32C: wireChecksum(body),
	}
	if exclusive {
		in.IfNoneMatch = aws.String("*")
	}
	o.stats.puts.Add(1)
	o.stats.putBytes.Add(int64(len(body)))
	if _, err := o.client.PutObject(ctx, in, unsignedPayload); err != nil {
		if httpStatus(err) == http.StatusPreconditionFailed {
			return fmt.Errorf("%w: %s: %w", errObjectExists, name, err)
		}
		return fmt.Errorf("s3blocks: put %s: %w", name, unavailable(err))
	}
	return nil
}

func (o *s3Objects) readRange(ctx context.Context, name string, off, n int64, dst []byte) ([]byte, error) {
	in := &s3.GetObjectInput{Bucket: aws.String(o.bucket), Key: aws.String(name)}
	if n >= 0 {
		in.Range = aws.String(fmt.Sprintf("bytes=%d-%d", off, off+n-1))
	} else if off > 0 {
		in.Range = aws.String(fmt.Sprintf("bytes=%d-", off))
	}
	o.stats.gets.Add(1)
	out, err := o.client.GetObject(ctx, in)
	if err != nil {
		var nsk *types.NoSuchKey
		if errors.As(err, &nsk) || httpStatus(err) == http.StatusNotFound {
			return dst, fmt.Errorf("%w: %s", errNoObject, name)
		}
		if in.Range != nil && httpStatus(err) == http.StatusRequestedRangeNotSatisfiable {
			// The object ends at or before off: S3 servers (MinIO,
			// versitygw) answer 416 InvalidRange rather than no bytes. It
			// is a short read like any other, for the caller to check.
			return dst, nil
		}
		return dst, fmt.Errorf("s3blocks: get %s: %w", name, unavailable(err))
	}
	defer out.Body.Close()
	start := len(dst)
	if n >= 0 {
		// Straight into dst: a bytes.Buffer would grow (copy) the block
		// to look for more after the last byte.
		dst = growTo(dst, start+int(n))
		m, err := io.ReadFull(out.Body, dst[start:start+int(n)])
		o.stats.getBytes.Add(int64(m))
		if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
			return dst[:start], fmt.Errorf("s3blocks: get %s: %w", name, unavailable(err))
		}
		return dst[:start+m], nil // short if the object is: the caller checks
	}
	buf := bytes.NewBuffer(dst)
	_, err = buf.ReadFrom(out.Body)
	o.stats.getBytes.Add(int64(buf.Len() - start))
	if err != nil {
		return dst[:start], fmt.Errorf("s3blocks: get %s: %w", name, unavailable(err))
	}
	return buf.Bytes(), nil
}

// growTo returns dst with room for n bytes in all, its length unchanged.
func growTo(dst []byte, n int) []byte {
	if cap(dst) >= n {
		return dst
	}
	out := make([]byte, len(dst), n)
	copy(out, dst)
	return out
}

func (o *s3Objects) remove(ctx context.Context, name string) error {
	o.stats.deletes.Add(1)
	_, err := o.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(o.bucket), Key: aws.String(name)})
	if err != nil && httpStatus(err) != http.StatusNotFound {
		return fmt.Errorf("s3blocks: delete %s: %w", name, unavailable(err))
	}
	return nil
}

// httpStatus returns the HTTP status of an S3 error response, 0 if err is
// not one.
func httpStatus(err error) int {
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		return re.HTTPStatusCode()
	}
	var ae smithy.APIError
	if errors.As(err, &ae) && ae.ErrorCode() == "PreconditionFailed" {
		return http.StatusPreconditionFailed
	}
	return 0
}
