package client

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/ebs"
	"github.com/aws/smithy-go/logging"
)

// SDKOptions say how to reach the service.
type SDKOptions struct {
	Endpoint string // "" = AWS's endpoint for the region (or AWS_ENDPOINT_URL_EBS)
	Region   string // "" = the default chain (AWS_REGION, profile)
	Profile  string // "" = the default chain
	Workers  int    // sizes the connection pool
}

// NewSDK returns an official EBS client with the default credential chain,
// a connection pool sized to the workers, and the SDK's own retries off:
// Client retries each call itself, so attempts never multiply (coldsnap's
// nested retries made up to 36 attempts per block).
func NewSDK(ctx context.Context, o SDKOptions) (*ebs.Client, error) {
	// The SDK's own log lines (e.g. an IMDS fallback warning while looking
	// for credentials) would interleave with the progress output; our
	// errors say what matters.
	opts := []func(*config.LoadOptions) error{config.WithLogger(logging.Nop{})}
	if o.Region != "" {
		opts = append(opts, config.WithRegion(o.Region))
	}
	if o.Profile != "" {
		opts = append(opts, config.WithSharedConfigProfile(o.Profile))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("load AWS configuration: %w", err)
	}
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
		if o.Endpoint == "" {
			return nil, fmt.Errorf("no AWS region: pass --region or set AWS_REGION")
		}
	}
	workers := o.Workers
	if workers <= 0 {
		workers = DefaultWorkers
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConns = workers * 2
	tr.MaxIdleConnsPerHost = workers
	tr.MaxConnsPerHost = workers
	tr.IdleConnTimeout = 90 * time.Second
	cfg.HTTPClient = &http.Client{Transport: tr}
	return ebs.NewFromConfig(cfg, func(eo *ebs.Options) {
		if o.Endpoint != "" {
			eo.BaseEndpoint = aws.String(o.Endpoint)
		}
		eo.RetryMaxAttempts = 1
	}), nil
}
