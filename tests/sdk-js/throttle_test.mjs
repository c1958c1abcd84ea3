// Drives a throttled ebsd with @aws-sdk/client-ebs and its standard retry
// strategy, which retries RequestThrottledException and ThrottlingException
// (THROTTLING_ERROR_CODES in @smithy/service-error-classification). Run by
// cmd/ebsd/throttle_sdk_test.go against an ebsd with low PutSnapshotBlock
// and GetSnapshotBlock per-snapshot quotas and a low ListSnapshotBlocks
// per-account quota. Reads EBSD_ENDPOINT and the AWS_* credentials from the
// environment; exits non-zero on the first failed check.
import {
  EBSClient, StartSnapshotCommand, PutSnapshotBlockCommand, CompleteSnapshotCommand,
  ListSnapshotBlocksCommand, GetSnapshotBlockCommand,
} from "@aws-sdk/client-ebs";
import { createHash } from "node:crypto";
import assert from "node:assert/strict";

const N = 12, WORKERS = 4, BLOCK = 524288;
// Ten attempts rather than the default three: the test keeps the quotas
// far below what the workers ask for.
const c = new EBSClient({ endpoint: process.env.EBSD_ENDPOINT, region: "us-east-1", maxAttempts: 10 });
const sha = (b) => createHash("sha256").update(b).digest();

// Every error an attempt failed with, as "code status Reason". The
// middleware runs inside the retry middleware, once per attempt.
const seen = new Set();
c.middlewareStack.add((next) => async (args) => {
  try {
    return await next(args);
  } catch (e) {
    seen.add(`${e.name} ${e.$metadata?.httpStatusCode} ${e.Reason ?? "-"}`);
    throw e;
  }
}, { step: "finalizeRequest", priority: "low", name: "recordAttemptErrors" });

// runAll runs fn on every item with WORKERS in flight.
async function runAll(items, fn) {
  let next = 0;
  await Promise.all(Array.from({ length: WORKERS }, async () => {
    while (next < items.length) await fn(items[next++]);
  }));
}

const { SnapshotId } = await c.send(new StartSnapshotCommand({ VolumeSize: 1 }));
const blocks = Array.from({ length: N }, (_, i) => Buffer.alloc(BLOCK, i + 1));
await runAll([...blocks.keys()], async (i) => {
  const out = await c.send(new PutSnapshotBlockCommand({
    SnapshotId, BlockIndex: i, BlockData: blocks[i], DataLength: BLOCK,
    Checksum: sha(blocks[i]).toString("base64"), ChecksumAlgorithm: "SHA256",
  }));
  assert.equal(out.Checksum, sha(blocks[i]).toString("base64"));
});

// The server checks that every block landed: the count and the LINEAR
// checksum over all of them.
const agg = sha(Buffer.concat(blocks.map(sha))).toString("base64");
let done = await c.send(new CompleteSnapshotCommand({
  SnapshotId, ChangedBlocksCount: N, Checksum: agg, ChecksumAlgorithm: "SHA256", ChecksumAggregationMethod: "LINEAR",
}));
assert.equal(done.Status, "pending");
done = await c.send(new CompleteSnapshotCommand({ SnapshotId, ChangedBlocksCount: N }));
assert.equal(done.Status, "completed");

// 2/s with a burst of 1: the second listing is throttled and retried.
let listed;
for (let i = 0; i < 2; i++) {
  listed = (await c.send(new ListSnapshotBlocksCommand({ SnapshotId }))).Blocks;
  assert.deepEqual(listed.map((b) => b.BlockIndex), [...blocks.keys()]);
}
await runAll(listed, async (b) => {
  const out = await c.send(new GetSnapshotBlockCommand({ SnapshotId, BlockIndex: b.BlockIndex, BlockToken: b.BlockToken }));
  assert.ok(Buffer.from(await out.BlockData.transformToByteArray()).equals(blocks[b.BlockIndex]));
});

for (const want of ["RequestThrottledException 400 RESOURCE_LEVEL_THROTTLE", "ThrottlingException 400 -"]) {
  assert.ok(seen.has(want), `the SDK never retried ${want}; it retried ${[...seen]}`);
}
console.log(`js sdk retries: ${N} blocks put and read back; retried ${[...seen].sort().join(", ")}`);
