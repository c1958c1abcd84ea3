package s3blocks

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/ebsd/ebsd/internal/store"
)

func TestUnavailable(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want bool
	}{
		{"refused", &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}, true},
		{"reset", fmt.Errorf("read: %w", syscall.ECONNRESET), true},
		{"cut short", io.ErrUnexpectedEOF, true},
		{"canceled", context.Canceled, false},
		{"deadline", fmt.Errorf("op: %w", context.DeadlineExceeded), false},
		{"other", errors.New("AccessDenied"), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := errors.Is(unavailable(tc.err), store.ErrUnavailable); got != tc.want {
				t.Errorf("unavailable(%v) is ErrUnavailable: %v, want %v", tc.err, got, tc.want)
			}
		})
	}
}

// TestObjectStoreDownIsUnavailable: an upload to an object store that is
// not listening fails with store.ErrUnavailable, through the SDK.
func TestObjectStoreDownIsUnavailable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens there now
	client := s3.New(s3.Options{
		Region: "us-east-1", BaseEndpoint: aws.String("http://" + addr), UsePathStyle: true,
		Credentials:      credentials.NewStaticCredentialsProvider("k", "s", ""),
		RetryMaxAttempts: 1,
	})
	o := &s3Objects{client: client, bucket: "b", stats: &requestStats{}}
	err = o.create(t.Context(), "x", []byte("x"), false)
	if !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("create on a closed port = %v, want store.ErrUnavailable", err)
	}
}
