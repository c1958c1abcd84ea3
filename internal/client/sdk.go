package client

import (
	"bytes"
	"context"
	"crypto/x509"
	"fmt"
	"net/http"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
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
	// CABundle is a PEM file of the certificates to trust, instead of the
	// system's, for an endpoint with a self-signed or private-CA
	// certificate; "" = AWS_CA_BUNDLE, else the profile's ca_bundle, else
	// the system's roots.
	CABundle string
}

// NewSDK returns an official EBS client with the default credential chain,
// a connection pool sized to the workers, and the SDK's own retries off:
// Client retries each call itself, so attempts never multiply (coldsnap's
// nested retries made up to 36 attempts per block).
//
// The HTTP client is the SDK's own buildable one, tuned, not a
// replacement: the SDK adds the CA bundle of AWS_CA_BUNDLE or ca_bundle
// to it, and a plain *http.Client made that setting silently ineffective
// (issue 16: ebs could not talk to a TLS ebsd with a self-signed
// certificate at all).
func NewSDK(ctx context.Context, o SDKOptions) (*ebs.Client, error) {
	workers := o.Workers
	if workers <= 0 {
		workers = DefaultWorkers
	}
	hc := awshttp.NewBuildableClient().WithTransportOptions(func(tr *http.Transport) {
		tr.MaxIdleConns = workers * 2
		tr.MaxIdleConnsPerHost = workers
		tr.MaxConnsPerHost = workers
		tr.IdleConnTimeout = 90 * time.Second
	})
	cfg, err := loadConfig(ctx, o, hc)
	if err != nil {
		return nil, err
	}
	return ebs.NewFromConfig(cfg, func(eo *ebs.Options) {
		if o.Endpoint != "" {
			eo.BaseEndpoint = aws.String(o.Endpoint)
		}
		eo.RetryMaxAttempts = 1
	}), nil
}

// loadConfig loads the shared AWS configuration for o with HTTP client
// hc: credentials, region, profile and CA bundle, the same for every
// service ebs talks to (EBS direct, EC2).
func loadConfig(ctx context.Context, o SDKOptions, hc *awshttp.BuildableClient) (aws.Config, error) {
	// The SDK's own log lines (e.g. an IMDS fallback warning while looking
	// for credentials) would interleave with the progress output; our
	// errors say what matters.
	opts := []func(*config.LoadOptions) error{config.WithLogger(logging.Nop{}), config.WithHTTPClient(hc)}
	if o.Region != "" {
		opts = append(opts, config.WithRegion(o.Region))
	}
	if o.Profile != "" {
		opts = append(opts, config.WithSharedConfigProfile(o.Profile))
	}
	if o.CABundle != "" {
		pem, err := readCABundle(o.CABundle)
		if err != nil {
			return aws.Config{}, err
		}
		// Given explicitly, it wins over AWS_CA_BUNDLE and ca_bundle.
		opts = append(opts, config.WithCustomCABundle(bytes.NewReader(pem)))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return aws.Config{}, fmt.Errorf("load AWS configuration: %w", err)
	}
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
		if o.Endpoint == "" {
			return aws.Config{}, fmt.Errorf("no AWS region: pass --region or set AWS_REGION")
		}
	}
	return cfg, nil
}

// readCABundle reads a PEM file of certificates, refusing one that holds
// none: the SDK would accept it and trust nothing.
func readCABundle(path string) ([]byte, error) {
	pem, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("CA bundle: %w", err)
	}
	if !x509.NewCertPool().AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("CA bundle %s holds no PEM certificate", path)
	}
	return pem, nil
}
