// Drives a running ebsd with @aws-sdk/client-ebs. The JS SDK differs from
// the Go SDK and botocore on the wire: it signs PutSnapshotBlock with a real
// hex payload hash, sends x-amz-content-sha256 on every request and
// lowercases header names. Reads EBSD_ENDPOINT and the AWS_* credentials
// from the environment; exits non-zero on the first failed check.
import {
  EBSClient, StartSnapshotCommand, PutSnapshotBlockCommand, CompleteSnapshotCommand,
  ListSnapshotBlocksCommand, GetSnapshotBlockCommand, ListChangedBlocksCommand,
} from "@aws-sdk/client-ebs";
import { createHash } from "node:crypto";
import assert from "node:assert/strict";

const c = new EBSClient({ endpoint: process.env.EBSD_ENDPOINT, region: "us-east-1", maxAttempts: 1 });
const sha = (b) => createHash("sha256").update(b).digest();

const s = await c.send(new StartSnapshotCommand({ VolumeSize: 1, Description: "js", Tags: [{ Key: "k", Value: "v" }] }));
assert.equal(s.Status, "pending");
assert.ok(s.StartTime instanceof Date);
assert.equal(s.BlockSize, 524288);
assert.deepEqual(s.Tags, [{ Key: "k", Value: "v" }]);

const block = Buffer.alloc(524288, 7);
const sum = sha(block).toString("base64");
const put = await c.send(new PutSnapshotBlockCommand({
  SnapshotId: s.SnapshotId, BlockIndex: 3, BlockData: block, DataLength: 524288, Checksum: sum, ChecksumAlgorithm: "SHA256",
}));
assert.equal(put.Checksum, sum);

await assert.rejects(c.send(new PutSnapshotBlockCommand({
  SnapshotId: s.SnapshotId, BlockIndex: 4, BlockData: block, DataLength: 524288,
  Checksum: sha("other").toString("base64"), ChecksumAlgorithm: "SHA256",
})), (e) => e.name === "InvalidSignatureException" && e.$metadata.httpStatusCode === 403);

const agg = sha(sha(block)).toString("base64");
let done = await c.send(new CompleteSnapshotCommand({
  SnapshotId: s.SnapshotId, ChangedBlocksCount: 1, Checksum: agg, ChecksumAlgorithm: "SHA256", ChecksumAggregationMethod: "LINEAR",
}));
assert.equal(done.Status, "pending");
done = await c.send(new CompleteSnapshotCommand({ SnapshotId: s.SnapshotId, ChangedBlocksCount: 1 }));
assert.equal(done.Status, "completed");

const list = await c.send(new ListSnapshotBlocksCommand({ SnapshotId: s.SnapshotId }));
assert.equal(list.Blocks.length, 1);
assert.equal(list.Blocks[0].BlockIndex, 3);
assert.ok(list.ExpiryTime instanceof Date);
assert.equal(list.NextToken, undefined);

const got = await c.send(new GetSnapshotBlockCommand({ SnapshotId: s.SnapshotId, BlockIndex: 3, BlockToken: list.Blocks[0].BlockToken }));
assert.ok(Buffer.from(await got.BlockData.transformToByteArray()).equals(block));
assert.equal(got.Checksum, sum);
assert.equal(got.DataLength, 524288);

await assert.rejects(c.send(new ListChangedBlocksCommand({ SecondSnapshotId: s.SnapshotId })),
  (e) => e.name === "ValidationException" && e.Reason === "INVALID_SNAPSHOT_ID");
await assert.rejects(c.send(new ListSnapshotBlocksCommand({ SnapshotId: "snap-0123456789abcdef0" })),
  (e) => e.name === "ResourceNotFoundException" && e.Reason === "SNAPSHOT_NOT_FOUND" && e.$metadata.httpStatusCode === 404);
await assert.rejects(c.send(new ListSnapshotBlocksCommand({ SnapshotId: s.SnapshotId, MaxResults: 50 })),
  (e) => e.name === "ValidationException" && /greater than or equal to 100/.test(e.message));
console.log("js sdk: all checks passed");
