package main

import (
	"context"
	"fmt"
	"os"

	"github.com/ebsd/ebsd/internal/client"
)

const infoSummary = `Show a snapshot's volume size, block size and written blocks (own and
inherited), counted by listing them: the EBS direct APIs have no describe
call. They read only completed snapshots: a snapshot that does not exist,
is still pending or failed gives the same "not found", which they cannot
tell apart (EC2 DescribeSnapshots can).

The image size is the size of the image the snapshot was uploaded from,
which 'ebs download' cuts the file to: from the snapshot's manifest in
--state-dir, else from its ebs:image-size tag (read with EC2
DescribeSnapshots, where the service has that API).

Output: key/value lines; with --json, an object with snapshot_id, status,
volume_size_gib, block_size, blocks, written_bytes, image_size_bytes (0:
not known), image_size_source (manifest, tag or "") and manifest (whether
--state-dir keeps the snapshot's block digests, which lets 'ebs upload
--parent' find changed blocks without reading the snapshot).`

// infoOutput is the --json result of ebs info.
type infoOutput struct {
	*client.Info
	ImageSize       int64  `json:"image_size_bytes"`
	ImageSizeSource string `json:"image_size_source"`
	Manifest        bool   `json:"manifest"`
}

func runInfo(ctx context.Context, m *Main, args []string) error {
	var g Globals
	fs := newFlagSet(m, "info", "[flags] SNAPSHOT", infoSummary, &g)
	pos, err := parse(fs, args, 1)
	if err != nil {
		return err
	}
	c, err := m.client(ctx, &g, nil)
	if err != nil {
		return err
	}
	info, err := c.Info(ctx, pos[0])
	if err != nil {
		return err
	}
	_, serr := os.Stat(client.ManifestPath(g.StateDir, info.SnapshotID))
	out := infoOutput{Info: info, Manifest: serr == nil}
	out.ImageSize, out.ImageSizeSource = c.ImageSize(ctx, info.SnapshotID, info.VolumeSize)
	if g.JSON {
		return printJSON(m.Stdout, out)
	}
	manifest := "no"
	if out.Manifest {
		manifest = "yes, in " + g.StateDir
	}
	image := "not known (the whole volume; no manifest in --state-dir, no " + client.ImageSizeTag + " tag)"
	switch out.ImageSizeSource {
	case client.SizeFromManifest:
		image = fmt.Sprintf("%d bytes (%s, from the manifest)", out.ImageSize, mib(out.ImageSize))
	case client.SizeFromTag:
		image = fmt.Sprintf("%d bytes (%s, from the tag %s)", out.ImageSize, mib(out.ImageSize), client.ImageSizeTag)
	}
	return table(m.Stdout, []string{"SNAPSHOT", info.SnapshotID}, [][]string{
		{"STATUS", info.Status},
		{"VOLUME SIZE", fmt.Sprintf("%d GiB", info.VolumeSize)},
		{"BLOCK SIZE", fmt.Sprintf("%d", info.BlockSize)},
		{"BLOCKS", fmt.Sprintf("%d written (%s, %.1f%% of the volume)", info.Blocks, mib(info.WrittenBytes), 100*float64(info.WrittenBytes)/float64(max(info.VolumeSize<<30, 1)))},
		{"IMAGE SIZE", image},
		{"MANIFEST", manifest},
	})
}
