// Drives the EC2 Query API and STS of a running ebsd with @aws-sdk/client-ec2
// and @aws-sdk/client-sts, making the snapshots with @aws-sdk/client-ebs.
// The JS SDK differs from Go and botocore on this wire (docs/ec2-api.md §0):
// it sends a space as %20, lists in model order, an X-Amz-Content-Sha256
// header, and reads the request ID only from the x-amzn-requestid header.
// Reads EBSD_ENDPOINT, AWS_REGION and the AWS_* credentials from the
// environment; exits non-zero on the first failed check.
import { EBSClient, StartSnapshotCommand, PutSnapshotBlockCommand, CompleteSnapshotCommand,
  ListSnapshotBlocksCommand, GetSnapshotBlockCommand } from "@aws-sdk/client-ebs";
import { EC2Client, DescribeSnapshotsCommand, DeleteSnapshotCommand, CopySnapshotCommand,
  CreateTagsCommand, DeleteTagsCommand, DescribeTagsCommand, DescribeRegionsCommand,
  paginateDescribeSnapshots, paginateDescribeTags, waitUntilSnapshotCompleted } from "@aws-sdk/client-ec2";
import { STSClient, GetCallerIdentityCommand } from "@aws-sdk/client-sts";
import { createHash } from "node:crypto";
import assert from "node:assert/strict";

const endpoint = process.env.EBSD_ENDPOINT;
const region = process.env.AWS_REGION;
const cfg = { endpoint, region, maxAttempts: 1 };
const ebs = new EBSClient(cfg);
const ec2 = new EC2Client(cfg);
const sts = new STSClient(cfg);
const BLOCK = 524288;
const sha = (b) => createHash("sha256").update(b).digest("base64");
const sorted = (a) => [...a].sort();

// The request ID reaches a JS user only through the x-amzn-requestid header.
const send = async (client, cmd) => {
  const out = await client.send(cmd);
  assert.match(out.$metadata.requestId ?? "", /\S/, `${cmd.constructor.name}: no request ID`);
  return out;
};
// rejects checks an EC2 error as a JS user sees it: the exception's name
// and Code are the EC2 error code.
const rejects = (p, code, status, msg = "") => assert.rejects(p, (e) => {
  assert.equal(e.name, code, `${e.name}: ${e.message}`);
  assert.equal(e.Code, code);
  assert.equal(e.$metadata.httpStatusCode, status);
  assert.match(e.$metadata.requestId ?? "", /\S/);
  assert.ok(e.message.includes(msg), `message ${JSON.stringify(e.message)} lacks ${JSON.stringify(msg)}`);
  return true;
});

// waitCompleted waits with the SDK's SnapshotCompleted waiter, which
// asks DescribeSnapshots at once and then every second.
const waitCompleted = async (id) => {
  const w = await waitUntilSnapshotCompleted({ client: ec2, minDelay: 1, maxDelay: 1, maxWaitTime: 10 }, { SnapshotIds: [id] });
  assert.equal(w.state, "SUCCESS", `${id}: ${JSON.stringify(w.reason)}`);
};
// snapshot makes a snapshot through EBS direct with blocks (index → fill
// byte), completed unless blocks is null.
const snapshot = async (input, blocks) => {
  const { SnapshotId: id } = await ebs.send(new StartSnapshotCommand({ VolumeSize: 1, ...input }));
  if (blocks === null) return id;
  for (const [i, b] of Object.entries(blocks)) {
    const data = Buffer.alloc(BLOCK, b);
    await ebs.send(new PutSnapshotBlockCommand({ SnapshotId: id, BlockIndex: Number(i), BlockData: data,
      DataLength: BLOCK, Checksum: sha(data), ChecksumAlgorithm: "SHA256" }));
  }
  // CompleteSnapshot answers pending, as on AWS; a JS user waits.
  const done = await ebs.send(new CompleteSnapshotCommand({ SnapshotId: id, ChangedBlocksCount: Object.keys(blocks).length }));
  assert.equal(done.Status, "pending");
  await waitCompleted(id);
  return id;
};
// readAll reads every block of a snapshot as index → SHA-256.
const readAll = async (id) => {
  const list = await ebs.send(new ListSnapshotBlocksCommand({ SnapshotId: id }));
  const got = {};
  for (const b of list.Blocks) {
    const r = await ebs.send(new GetSnapshotBlockCommand({ SnapshotId: id, BlockIndex: b.BlockIndex, BlockToken: b.BlockToken }));
    got[b.BlockIndex] = sha(Buffer.from(await r.BlockData.transformToByteArray()));
  }
  return got;
};
const describe = async (input) => (await send(ec2, new DescribeSnapshotsCommand(input))).Snapshots ?? [];
const ids = (snaps) => sorted(snaps.map((s) => s.SnapshotId));

// The first calls tools make: who am I, which regions.
const me = await send(sts, new GetCallerIdentityCommand({}));
assert.match(me.Account, /^\d{12}$/);
assert.equal(me.Arn, `arn:aws:iam::${me.Account}:root`);
assert.equal(me.UserId, me.Account);
const regions = await send(ec2, new DescribeRegionsCommand({}));
assert.deepEqual(regions.Regions.map((r) => [r.RegionName, r.Endpoint]), [[region, new URL(endpoint).host]]);
await rejects(ec2.send(new DescribeRegionsCommand({ RegionNames: ["xx-nowhere-1"] })), "InvalidParameterValue", 400, "xx-nowhere-1");

// An EBS-direct snapshot as DescribeSnapshots shows it (§5.1.3). The
// description and tags hold characters the JS SDK encodes its own way.
const before = Date.now() - 1000;
const web = await snapshot({ Description: "nightly web+db * 1", Tags: [{ Key: "Name", Value: "web 1" }] }, { 0: 1, 5: 2 });
const [d] = await describe({ SnapshotIds: [web] });
assert.equal(d.SnapshotId, web);
assert.equal(d.VolumeId, "vol-ffffffff");
assert.equal(d.State, "completed");
assert.equal(d.Progress, "100%");
assert.equal(d.OwnerId, me.Account);
assert.equal(d.VolumeSize, 1);
assert.equal(d.Description, "nightly web+db * 1");
assert.equal(d.Encrypted, false);
assert.equal(d.KmsKeyId, undefined);
assert.deepEqual(d.Tags, [{ Key: "Name", Value: "web 1" }]);
assert.ok(d.StartTime instanceof Date && d.StartTime.getTime() >= before);
assert.ok(d.CompletionTime instanceof Date && d.CompletionTime >= d.StartTime);
assert.equal(d.FullSnapshotSizeInBytes, 2 * BLOCK);
assert.equal(d.StorageTier, "standard");

// Filters: by field and tag, with wildcards; OR within a filter, AND across.
const db = await snapshot({ VolumeSize: 4, Description: "nightly db", Tags: [{ Key: "Name", Value: "db 1" }] }, {});
const pend = await snapshot({ Tags: [{ Key: "role", Value: "scratch" }] }, null);
const f = (Name, ...Values) => ({ Name, Values });
const filterCases = [
  [[f("status", "completed")], [web, db]],
  [[f("status", "pending", "error")], [pend]],
  [[f("tag:Name", "web *")], [web]],
  [[f("tag:Name", "??? 1", "db ?")], [web, db]],
  [[f("tag-key", "ro*")], [pend]],
  [[f("description", "nightly web+db \\* 1")], [web]],
  [[f("description", "nightly*")], [web, db]],
  [[f("volume-size", "4"), f("status", "completed")], [db]],
  [[f("volume-id", "vol-ffffffff"), f("encrypted", "false"), f("progress", "100%")], [web, db]],
  [[f("owner-id", me.Account), f("snapshot-id", db)], [db]],
  [[f("start-time", new Date().toISOString().slice(0, 10) + "T*")], [web, db, pend]],
];
for (const [Filters, want] of filterCases) {
  assert.deepEqual(ids(await describe({ Filters })), sorted(want), JSON.stringify(Filters));
}
assert.deepEqual(ids(await describe({ OwnerIds: ["self"] })), sorted([web, db, pend]));
await rejects(ec2.send(new DescribeSnapshotsCommand({ Filters: [f("colour", "red")] })), "InvalidParameterValue", 400, "colour");

// Pagination: MaxResults 5 over 12 snapshots through the SDK's paginator,
// then by hand with NextToken; a token is refused under other filters.
const paged = [];
for (let i = 0; i < 12; i++) paged.push(await snapshot({ Tags: [{ Key: "n", Value: String(i) }] }, null));
// The paginator writes NextToken into its input object: it gets a copy.
const pageInput = { OwnerIds: ["self"], Filters: [f("tag-key", "n")] };
const sizes = [];
const seen = [];
for await (const page of paginateDescribeSnapshots({ client: ec2, pageSize: 5 }, { ...pageInput })) {
  sizes.push(page.Snapshots.length);
  seen.push(...page.Snapshots.map((s) => s.SnapshotId));
}
assert.deepEqual(sizes, [5, 5, 2]);
assert.deepEqual(seen, sorted(paged));
const first = await send(ec2, new DescribeSnapshotsCommand({ ...pageInput, MaxResults: 5 }));
assert.ok(first.NextToken, `${first.Snapshots.length} snapshots, no NextToken`);
await rejects(ec2.send(new DescribeSnapshotsCommand({ ...pageInput, Filters: [f("tag-key", "m")], MaxResults: 5, NextToken: first.NextToken })),
  "InvalidPaginationToken", 400);
await rejects(ec2.send(new DescribeSnapshotsCommand({ MaxResults: 4 })), "InvalidParameterValue", 400, "maxResults");

// Tags: CreateTags on two snapshots overwrites, DeleteTags's key-only,
// key+value and all-tags cases, DescribeTags lists and pages them.
const tag = (Key, Value) => ({ Key, Value });
await send(ec2, new CreateTagsCommand({ Resources: [web, db], Tags: [tag("k", "0"), tag("empty", ""), tag("c", "v w"), tag("d", "x")] }));
await send(ec2, new CreateTagsCommand({ Resources: [web], Tags: [tag("k", "1")] }));
// k: any value; empty: only if empty (it is); c: only if "w" (it is not);
// d: only if "x" (it is).
await send(ec2, new DeleteTagsCommand({ Resources: [web], Tags: [{ Key: "k" }, tag("empty", ""), tag("c", "w"), tag("d", "x")] }));
const tagsOf = async (id) => {
  const out = await send(ec2, new DescribeTagsCommand({ Filters: [f("resource-id", id)] }));
  for (const t of out.Tags) {
    assert.equal(t.ResourceId, id);
    assert.equal(t.ResourceType, "snapshot");
  }
  return sorted(out.Tags.map((t) => `${t.Key}=${t.Value}`));
};
assert.deepEqual(await tagsOf(web), ["Name=web 1", "c=v w"]);
assert.deepEqual(await tagsOf(db), ["Name=db 1", "c=v w", "d=x", "empty=", "k=0"]);
await send(ec2, new DeleteTagsCommand({ Resources: [db] }));
assert.deepEqual(await tagsOf(db), []);
let tagCount = 0;
for await (const page of paginateDescribeTags({ client: ec2, pageSize: 5 }, { Filters: [f("key", "n")] })) {
  assert.ok(page.Tags.length <= 5);
  tagCount += page.Tags.length;
}
assert.equal(tagCount, 12);

// The waiter: it polls a pending snapshot until EBS direct completes it.
const later = await snapshot({}, null);
const waited = waitUntilSnapshotCompleted({ client: ec2, minDelay: 1, maxDelay: 1, maxWaitTime: 10 }, { SnapshotIds: [later] });
await new Promise((r) => setTimeout(r, 300));
await ebs.send(new CompleteSnapshotCommand({ SnapshotId: later, ChangedBlocksCount: 0 }));
assert.equal((await waited).state, "SUCCESS");

// CopySnapshot: the copy has the request's description and tags, completes,
// reads as its source, and keeps reading after the source is deleted.
const want = await readAll(web);
assert.equal(Object.keys(want).length, 2);
const cp = await send(ec2, new CopySnapshotCommand({ SourceRegion: region, SourceSnapshotId: web, Description: "the copy",
  TagSpecifications: [{ ResourceType: "snapshot", Tags: [tag("copy", "yes")] }] }));
assert.match(cp.SnapshotId, /^snap-[0-9a-f]{17}$/);
assert.notEqual(cp.SnapshotId, web);
assert.deepEqual(cp.Tags, [tag("copy", "yes")]);
await waitCompleted(cp.SnapshotId);
const [c] = await describe({ SnapshotIds: [cp.SnapshotId] });
assert.equal(c.Description, "the copy");
assert.deepEqual(c.Tags, [tag("copy", "yes")]);
assert.equal(c.FullSnapshotSizeInBytes, 2 * BLOCK);
assert.deepEqual(await readAll(cp.SnapshotId), want);

// DeleteSnapshot: completed and pending snapshots go, from EC2 and from
// EBS direct; the copy still reads.
for (const id of [web, pend]) {
  await send(ec2, new DeleteSnapshotCommand({ SnapshotId: id }));
  await rejects(ec2.send(new DeleteSnapshotCommand({ SnapshotId: id })), "InvalidSnapshot.NotFound", 400, id);
}
assert.deepEqual(await readAll(cp.SnapshotId), want);
await assert.rejects(ebs.send(new ListSnapshotBlocksCommand({ SnapshotId: web })),
  (e) => e.name === "ResourceNotFoundException" && e.$metadata.httpStatusCode === 404);
await rejects(ec2.send(new CopySnapshotCommand({ SourceRegion: region, SourceSnapshotId: web })), "InvalidSnapshot.NotFound", 400, web);

// The documented errors, as a JS user sees them.
await rejects(ec2.send(new DescribeSnapshotsCommand({ SnapshotIds: [web] })), "InvalidSnapshot.NotFound", 400,
  `The snapshot '${web}' does not exist.`);
await rejects(ec2.send(new DeleteSnapshotCommand({ SnapshotId: "snap-0123" })), "InvalidSnapshotID.Malformed", 400, 'Invalid id: "snap-0123"');
await rejects(ec2.send(new CreateTagsCommand({ Resources: ["vol-0123456789abcdef0"], Tags: [tag("a", "b")] })), "InvalidID", 400);
await rejects(ec2.send(new DescribeSnapshotsCommand({ SnapshotIds: [db], DryRun: true })), "DryRunOperation", 412);
const wrong = new STSClient({ ...cfg, credentials: { accessKeyId: process.env.AWS_ACCESS_KEY_ID, secretAccessKey: "wrong" } });
await assert.rejects(wrong.send(new GetCallerIdentityCommand({})),
  (e) => e.name === "SignatureDoesNotMatch" && e.$metadata.httpStatusCode === 403);
console.log(`js ec2/sts sdk: all checks passed (${filterCases.length} filter cases, pages ${sizes.join("+")})`);
