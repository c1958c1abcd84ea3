// Drives a cluster of three ebsd nodes (one PostgreSQL database, one
// bucket) with @aws-sdk/client-ebs, one client per node, and sends each step
// to another node than the one before, as a client behind a load balancer
// would: whatever a node hands out (snapshot IDs, block and page tokens,
// idempotency records, encryption keys) must work on every other node.
// Uses @aws-sdk/client-ec2 for DescribeSnapshots and DeleteSnapshot when it
// is installed. Reads EBSD_ENDPOINTS (three URLs, comma-separated),
// AWS_REGION and the AWS_* credentials from the environment (run by
// tests/cluster/js_test.go); exits non-zero on the first failed check.
import {
  EBSClient, StartSnapshotCommand, PutSnapshotBlockCommand, CompleteSnapshotCommand,
  ListSnapshotBlocksCommand, GetSnapshotBlockCommand, ListChangedBlocksCommand,
} from "@aws-sdk/client-ebs";
import { createHash } from "node:crypto";
import assert from "node:assert/strict";

const endpoints = (process.env.EBSD_ENDPOINTS ?? "").split(",").filter((e) => e !== "");
assert.equal(endpoints.length, 3, `EBSD_ENDPOINTS names ${endpoints.length} nodes, want 3`);
const region = process.env.AWS_REGION;
const cfg = (endpoint) => ({ endpoint, region, maxAttempts: 1 });
const nodes = endpoints.map((e) => new EBSClient(cfg(e)));
const [n1, n2, n3] = nodes;
// The EC2 client is optional: without it the snapshots' completion is
// awaited through CompleteSnapshot and nothing is deleted.
const ec2mod = await import("@aws-sdk/client-ec2").catch(() => null);
const ec2 = ec2mod && endpoints.map((e) => new ec2mod.EC2Client(cfg(e)));

const BLOCK = 524288;
const digest = (b) => createHash("sha256").update(b).digest();
const sha = (b) => digest(b).toString("base64");
// data is a block whose content names its snapshot and index, so that a
// block read from the wrong snapshot or index cannot pass for the right one.
const data = (tag, index) => {
  const b = Buffer.alloc(BLOCK, (index * 31 + tag.length) & 0xff);
  b.write(`${tag} block ${index}`);
  return b;
};
// linear is the LINEAR aggregate of CompleteSnapshot: SHA-256 over the raw
// digests of the written blocks in ascending index order (spec §7.6).
const linear = (blocks) => sha(Buffer.concat([...blocks.keys()].sort((a, b) => a - b).map((i) => digest(blocks.get(i)))));
// pool runs fn over items with n calls in flight.
const pool = async (items, n, fn) => {
  let next = 0;
  await Promise.all(Array.from({ length: n }, async () => {
    while (next < items.length) {
      const k = next++;
      await fn(items[k], k);
    }
  }));
};
const rejects = (p, name, status, reason) => assert.rejects(p, (e) => {
  assert.equal(e.name, name, `${e.name}: ${e.message}`);
  assert.equal(e.$metadata.httpStatusCode, status);
  if (reason) assert.equal(e.Reason, reason);
  return true;
});

// put writes blocks (index → data) round-robin over the nodes from node
// `first` on, six at a time, and checks each answer's checksum.
const put = async (id, blocks, first) => {
  await pool([...blocks.entries()], 6, async ([i, b], k) => {
    const out = await nodes[(first + k) % 3].send(new PutSnapshotBlockCommand({
      SnapshotId: id, BlockIndex: i, BlockData: b, DataLength: BLOCK, Checksum: sha(b), ChecksumAlgorithm: "SHA256",
    }));
    assert.equal(out.Checksum, sha(b), `put ${id} ${i}`);
    assert.equal(out.ChecksumAlgorithm, "SHA256");
  });
};
// complete sends CompleteSnapshot with the count and LINEAR aggregate of
// blocks to node c, then waits until the snapshot is completed, asking
// node w (EC2's waiter, or CompleteSnapshot again without EC2).
const complete = async (c, id, blocks, w) => {
  const out = await nodes[c].send(new CompleteSnapshotCommand({
    SnapshotId: id, ChangedBlocksCount: blocks.size, Checksum: linear(blocks), ChecksumAlgorithm: "SHA256",
    ChecksumAggregationMethod: "LINEAR",
  }));
  assert.equal(out.Status, "pending");
  if (ec2) {
    const r = await ec2mod.waitUntilSnapshotCompleted({ client: ec2[w], minDelay: 1, maxDelay: 1, maxWaitTime: 10 }, { SnapshotIds: [id] });
    assert.equal(r.state, "SUCCESS", `${id}: ${JSON.stringify(r.reason)}`);
    return;
  }
  for (let i = 0; ; i++) {
    const again = await nodes[w].send(new CompleteSnapshotCommand({ SnapshotId: id, ChangedBlocksCount: blocks.size }));
    if (again.Status === "completed") return;
    assert.equal(again.Status, "pending", `${id} went to ${again.Status}`);
    assert.ok(i < 100, `${id} still pending after 10 s`);
    await new Promise((r) => setTimeout(r, 100));
  }
};
// pages lists every page of a List* call, page k from node (first + k) % 3
// with the NextToken of the page before, and returns the pages.
const pages = async (Command, input, first) => {
  const out = [];
  let NextToken;
  do {
    const page = await nodes[(first + out.length) % 3].send(new Command({ ...input, MaxResults: 100, NextToken }));
    assert.equal(page.VolumeSize, 1);
    assert.equal(page.BlockSize, BLOCK);
    assert.ok(page.ExpiryTime instanceof Date);
    out.push(page);
    NextToken = page.NextToken;
    assert.ok(out.length <= 10, "more than 10 pages");
  } while (NextToken);
  return out;
};
// get reads a block from node c and checks its data and checksum headers.
const get = async (c, id, index, token, want, what) => {
  const got = await nodes[c].send(new GetSnapshotBlockCommand({ SnapshotId: id, BlockIndex: index, BlockToken: token }));
  const body = Buffer.from(await got.BlockData.transformToByteArray());
  assert.ok(body.equals(want), `${what}: block ${index} of ${id} read from node ${c + 1} differs`);
  assert.equal(got.DataLength, BLOCK);
  assert.equal(got.Checksum, sha(want), what);
  assert.equal(got.ChecksumAlgorithm, "SHA256");
};
// lap notes the time since the start for the last line, which says where
// a slow run spent it.
const t0 = Date.now();
const laps = [];
const lap = (what) => laps.push(`${what} ${((Date.now() - t0) / 1000).toFixed(1)}s`);
const range = (n, f) => Array.from({ length: n }, (_, i) => f(i));

// The parent: started on node 1 (a retry with its ClientToken on node 3
// replays it, another request with that token on node 2 conflicts), 101
// blocks written through all three nodes, one of them rewritten on another
// node than its first write (the last write wins), completed on node 2.
const start = { VolumeSize: 1, Description: "js across nodes", Tags: [{ Key: "k", Value: "v" }], ClientToken: `js-cluster-${Date.now()}` };
const p = await n1.send(new StartSnapshotCommand(start));
assert.match(p.SnapshotId, /^snap-[0-9a-f]{17}$/);
assert.equal(p.Status, "pending");
assert.equal(p.VolumeSize, 1);
assert.equal(p.BlockSize, BLOCK);
assert.deepEqual(p.Tags, [{ Key: "k", Value: "v" }]);
const replay = await n3.send(new StartSnapshotCommand(start));
assert.equal(replay.SnapshotId, p.SnapshotId);
assert.equal(replay.StartTime.getTime(), p.StartTime.getTime());
await rejects(n2.send(new StartSnapshotCommand({ ...start, Description: "another" })), "ConflictException", 409);

const parent = new Map(range(101, (i) => [i * 20, data("parent", i * 20)])); // 0, 20, …, 2000
await put(p.SnapshotId, new Map([[0, data("first write", 0)]]), 2);
await put(p.SnapshotId, parent, 0);
await rejects(n3.send(new PutSnapshotBlockCommand({
  SnapshotId: p.SnapshotId, BlockIndex: 20, BlockData: parent.get(40), DataLength: BLOCK, Checksum: sha(parent.get(20)), ChecksumAlgorithm: "SHA256",
})), "InvalidSignatureException", 403);
await complete(1, p.SnapshotId, parent, 2);
lap("parent written");

// Its blocks in two pages of a page token's round trip: page 1 from node 1,
// page 2 from node 2 with node 1's token; block tokens of both pages read
// on node 3. Node 3 refuses the page token for another snapshot below.
const pp = await pages(ListSnapshotBlocksCommand, { SnapshotId: p.SnapshotId }, 0);
assert.deepEqual(pp.map((pg) => pg.Blocks.length), [100, 1]);
const pBlocks = pp.flatMap((pg) => pg.Blocks);
assert.deepEqual(pBlocks.map((b) => b.BlockIndex), [...parent.keys()]);
for (const b of [pBlocks[0], pBlocks[1], pBlocks[57], pBlocks[99], pBlocks[100]]) {
  await get(2, p.SnapshotId, b.BlockIndex, b.BlockToken, parent.get(b.BlockIndex), "parent");
}

// The child: started on node 2 from the parent, rewrites 10 of the
// parent's blocks and writes 100 new ones through all three nodes, is
// completed on node 3 with the LINEAR aggregate of its own writes.
const c = await n2.send(new StartSnapshotCommand({ VolumeSize: 1, ParentSnapshotId: p.SnapshotId }));
assert.equal(c.ParentSnapshotId, p.SnapshotId);
const child = new Map([
  ...range(10, (i) => [i * 20, data("child", i * 20)]), // 0, 20, …, 180: rewritten
  ...range(100, (i) => [i * 20 + 10, data("child", i * 20 + 10)]), // 10, 30, …, 1990: new
]);
await put(c.SnapshotId, child, 2);
await complete(2, c.SnapshotId, child, 0);
lap("child written");
// The parent's page token names the parent: another node refuses it for the child.
await rejects(n3.send(new ListSnapshotBlocksCommand({ SnapshotId: c.SnapshotId, MaxResults: 100, NextToken: pp[0].NextToken })),
  "ValidationException", 400, "INVALID_PAGE_TOKEN");

// The child's view, 201 blocks (its 110 writes over the parent's 101) in
// three pages, one from each node; an inherited block and a rewritten one
// read through the child's tokens on node 1.
const view = new Map([...parent, ...child]);
const cp = await pages(ListSnapshotBlocksCommand, { SnapshotId: c.SnapshotId }, 1);
assert.deepEqual(cp.map((pg) => pg.Blocks.length), [100, 100, 1]);
const cBlocks = cp.flatMap((pg) => pg.Blocks);
assert.deepEqual(cBlocks.map((b) => b.BlockIndex), [...view.keys()].sort((a, b) => a - b));
for (const b of cBlocks.filter((b) => [0, 10, 180, 200, 1990, 2000].includes(b.BlockIndex))) {
  await get(0, c.SnapshotId, b.BlockIndex, b.BlockToken, view.get(b.BlockIndex), "child view");
}

// ListChangedBlocks from parent to child: the 110 indexes the child wrote,
// in two pages from nodes 3 and 1; the rewritten ones with both tokens,
// the new ones with the second only. Tokens of either side read on node 2.
const ch = await pages(ListChangedBlocksCommand, { FirstSnapshotId: p.SnapshotId, SecondSnapshotId: c.SnapshotId }, 2);
assert.deepEqual(ch.map((pg) => pg.ChangedBlocks.length), [100, 10]);
const changed = ch.flatMap((pg) => pg.ChangedBlocks);
assert.deepEqual(changed.map((b) => b.BlockIndex), [...child.keys()].sort((a, b) => a - b));
for (const b of changed) {
  assert.ok(b.SecondBlockToken, `changed block ${b.BlockIndex} lacks SecondBlockToken`);
  assert.equal(b.FirstBlockToken !== undefined, parent.has(b.BlockIndex), `changed block ${b.BlockIndex}: FirstBlockToken ${b.FirstBlockToken}`);
}
for (const b of changed.filter((b) => [0, 180, 10, 1990].includes(b.BlockIndex))) {
  await get(1, c.SnapshotId, b.BlockIndex, b.SecondBlockToken, child.get(b.BlockIndex), "changed, second");
  if (b.FirstBlockToken) await get(1, p.SnapshotId, b.BlockIndex, b.FirstBlockToken, parent.get(b.BlockIndex), "changed, first");
}

lap("read");

// An encrypted snapshot: started on node 3 with the account's default key
// (made by that node, which the others must find), one block written on
// each node, completed on node 1, every block read on another node than
// the one that wrote it.
const e = await n3.send(new StartSnapshotCommand({ VolumeSize: 1, Encrypted: true }));
assert.match(e.KmsKeyArn ?? "", /^arn:aws:kms:/);
const enc = new Map([[1, data("sealed", 1)], [2, data("sealed", 2)], [3, data("sealed", 3)]]);
await put(e.SnapshotId, enc, 0);
await complete(0, e.SnapshotId, enc, 1);
const ep = await pages(ListSnapshotBlocksCommand, { SnapshotId: e.SnapshotId }, 1);
assert.deepEqual(ep.flatMap((pg) => pg.Blocks.map((b) => b.BlockIndex)), [1, 2, 3]);
for (const [k, b] of ep[0].Blocks.entries()) {
  await get((k + 1) % 3, e.SnapshotId, b.BlockIndex, b.BlockToken, enc.get(b.BlockIndex), "encrypted");
}
lap("encrypted");

// EC2: node 1 describes the three, each deleted on another node; then no
// node knows them.
let ec2Checks = "no EC2 client";
if (ec2) {
  const { DescribeSnapshotsCommand, DeleteSnapshotCommand } = ec2mod;
  const ids = [p.SnapshotId, c.SnapshotId, e.SnapshotId];
  const d = (await ec2[0].send(new DescribeSnapshotsCommand({ SnapshotIds: ids }))).Snapshots;
  const byId = new Map(d.map((s) => [s.SnapshotId, s]));
  assert.deepEqual([...byId.keys()].sort(), [...ids].sort());
  for (const [id, encrypted, description, size] of [[p.SnapshotId, false, "js across nodes", 101], [c.SnapshotId, false, "", 201],
    [e.SnapshotId, true, "", 3]]) {
    const s = byId.get(id);
    assert.equal(s.State, "completed", id);
    assert.equal(s.Progress, "100%");
    assert.equal(s.VolumeSize, 1);
    assert.equal(s.Encrypted, encrypted, id);
    assert.equal(s.Description, description, id);
    assert.equal(s.FullSnapshotSizeInBytes, size * BLOCK, id);
  }
  assert.deepEqual(byId.get(p.SnapshotId).Tags, [{ Key: "k", Value: "v" }]);
  assert.equal(byId.get(e.SnapshotId).KmsKeyId, e.KmsKeyArn);
  for (const [k, id] of ids.entries()) await ec2[(k + 1) % 3].send(new DeleteSnapshotCommand({ SnapshotId: id }));
  for (const [k, id] of ids.entries()) {
    await rejects(nodes[k].send(new ListSnapshotBlocksCommand({ SnapshotId: id })), "ResourceNotFoundException", 404, "SNAPSHOT_NOT_FOUND");
  }
  assert.deepEqual((await ec2[2].send(new DescribeSnapshotsCommand({ OwnerIds: ["self"] }))).Snapshots ?? [], []);
  ec2Checks = "3 described and deleted";
}
lap("EC2");
console.log(`js sdk on ${endpoints.length} nodes: all checks passed (pages ${[pp, cp, ch].map((x) => x.length).join("/")}, ` +
  `${parent.size + child.size + enc.size + 1} blocks written, EC2: ${ec2Checks}; ${laps.join(", ")})`);
