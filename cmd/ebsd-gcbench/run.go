package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ebs"
	"github.com/aws/aws-sdk-go-v2/service/ec2"

	"github.com/ebsd/ebsd/internal/benchserver"
)

// clients are the SDK clients of one server.
type clients struct {
	ebs *ebs.Client
	ec2 *ec2.Client
}

func newClients(endpoint string, workers int) clients {
	cfg := aws.Config{
		Region:      "us-east-1",
		Credentials: credentials.NewStaticCredentialsProvider(benchserver.KeyID, benchserver.Secret, ""),
		HTTPClient:  &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: workers, MaxConnsPerHost: workers}},
	}
	return clients{
		ebs: ebs.NewFromConfig(cfg, func(o *ebs.Options) { o.BaseEndpoint = aws.String(endpoint); o.RetryMaxAttempts = 1 }),
		ec2: ec2.NewFromConfig(cfg, func(o *ec2.Options) { o.BaseEndpoint = aws.String(endpoint); o.RetryMaxAttempts = 1 }),
	}
}

func run(ctx context.Context, o options) error {
	dir := o.dir
	if dir == "" {
		var err error
		if dir, err = os.MkdirTemp("", "ebsd-gcbench-"); err != nil {
			return err
		}
		if !o.keep {
			defer os.RemoveAll(dir)
		}
	}
	dataDir := filepath.Join(dir, "server")
	fillBlocks := int(o.fill / blockSize)
	c := content{nonce: rand.Uint64()}
	fmt.Printf("ebsd-gcbench: fill %.2f GiB (%d blocks) into %d snapshots, delete half; U = %d blocks with %d workers; data in %s\n",
		gib(int64(fillBlocks)*blockSize), fillBlocks, o.snapshots, o.blocks, o.workers, dataDir)

	t := time.Now()
	// The control, which does not collect, runs U faster over the same
	// seconds: it may take twice the rounds.
	n := roundDuring + o.rounds
	if o.control {
		n += o.rounds
	}
	sums := make([][]string, n)
	for r := range sums {
		sums[r] = c.sums(uint64(streamRound+r), o.blocks)
	}
	fmt.Printf("checksums of %d rounds of U computed in %v\n", len(sums), time.Since(t).Round(time.Millisecond))

	// 1. Fill, on a server that does not collect.
	srv, err := benchserver.StartWith(ctx, o.ebsd, dataDir, benchserver.Options{Args: append([]string{"-gc-interval", "0"}, o.serverArgs()...)})
	if err != nil {
		return err
	}
	cl := newClients(srv.Endpoint, o.fillWorkers)
	f, err := fill(ctx, cl.ebs, cl.ec2, c, fillBlocks, o.snapshots, o.fillWorkers)
	srv.Stop()
	if err != nil {
		return fmt.Errorf("fill: %w", err)
	}
	fmt.Printf("fill: %d blocks in %v (%.0f blocks/s); deleted %d of %d snapshots through EC2 DeleteSnapshot\n",
		f.blocks, f.took.Round(time.Millisecond), float64(f.blocks)/f.took.Seconds(), len(f.deleted), o.snapshots)
	if o.cold {
		if err := evictPacks(dataDir); err != nil {
			return fmt.Errorf("drop the packs from the page cache: %w", err)
		}
	}

	// 2 and 3: U with and without the collection.
	res, err := measureCollection(ctx, o, dataDir, c, sums)
	if err != nil {
		return err
	}
	var ctl *control
	if o.control {
		if !o.keep {
			if err := os.RemoveAll(dataDir); err != nil {
				return err
			}
		}
		fmt.Printf("control: the same fill and timeline on %s, with no collection\n", filepath.Join(dir, "control"))
		r, err := runControl(ctx, o, filepath.Join(dir, "control"), c, sums, res)
		if err != nil {
			return err
		}
		ctl = &r
	}
	res.print(o, ctl)
	return nil
}

// serverArgs are the server flags of both servers.
func (o options) serverArgs() []string {
	var args []string
	if o.packSize != "" {
		args = append(args, "-pack-size", o.packSize)
	}
	if o.compactRate != "" {
		args = append(args, "-gc-compact-rate", o.compactRate)
	}
	return args
}

func gib(n int64) float64 { return float64(n) / (1 << 30) }
