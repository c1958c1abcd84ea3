"""Drives a throttled ebsd with boto3 in botocore's legacy retry mode.

Legacy is the default of boto3 and AWS CLI v1. It retries
RequestThrottledException and ThrottlingException only when they come with
status 400 (botocore/data/_retry.json), so this shows that ebsd's throttling
errors are the ones botocore retries. Run by cmd/ebsd/throttle_sdk_test.go
against an ebsd with low PutSnapshotBlock and GetSnapshotBlock per-snapshot
quotas and a low ListSnapshotBlocks per-account quota. Reads EBSD_ENDPOINT
and the AWS_* credentials from the environment; exits non-zero on the first
failed check.
"""

import base64
import hashlib
import os
from concurrent.futures import ThreadPoolExecutor

import boto3
from botocore.config import Config

BLOCK = 524288
N, WORKERS = 12, 4

client = boto3.client(
    "ebs",
    endpoint_url=os.environ["EBSD_ENDPOINT"],
    region_name=os.environ["AWS_REGION"],
    # Ten retries rather than legacy's default four: the test keeps the
    # quotas far below what the workers ask for.
    config=Config(retries={"mode": "legacy", "max_attempts": 10}, max_pool_connections=WORKERS),
)

# Every error a retry was decided on, as (code, status, Reason).
seen = set()


def record(response=None, **_):
    if response is not None:
        http, parsed = response
        err = parsed.get("Error", {})
        if err:
            seen.add((err.get("Code"), http.status_code, parsed.get("Reason")))
    return None  # leave the decision to botocore's own handler


client.meta.events.register("needs-retry.ebs", record)


def sha(b):
    return hashlib.sha256(b).digest()


def b64(b):
    return base64.b64encode(b).decode()


snap = client.start_snapshot(VolumeSize=1)["SnapshotId"]
blocks = [bytes([i + 1]) * BLOCK for i in range(N)]


def put(i):
    out = client.put_snapshot_block(
        SnapshotId=snap, BlockIndex=i, BlockData=blocks[i], DataLength=BLOCK,
        Checksum=b64(sha(blocks[i])), ChecksumAlgorithm="SHA256")
    assert out["Checksum"] == b64(sha(blocks[i])), out


with ThreadPoolExecutor(WORKERS) as pool:
    list(pool.map(put, range(N)))

# The server checks that every block landed: the count and the LINEAR
# checksum over all of them.
done = client.complete_snapshot(
    SnapshotId=snap, ChangedBlocksCount=N, Checksum=b64(sha(b"".join(sha(b) for b in blocks))),
    ChecksumAlgorithm="SHA256", ChecksumAggregationMethod="LINEAR")
assert done["Status"] == "pending", done
done = client.complete_snapshot(SnapshotId=snap, ChangedBlocksCount=N)
assert done["Status"] == "completed", done

# 2/s with a burst of 1: the second listing is throttled and retried.
for _ in range(2):
    listed = client.list_snapshot_blocks(SnapshotId=snap)["Blocks"]
    assert [b["BlockIndex"] for b in listed] == list(range(N)), listed


def get(b):
    out = client.get_snapshot_block(SnapshotId=snap, BlockIndex=b["BlockIndex"], BlockToken=b["BlockToken"])
    data = out["BlockData"].read()
    assert data == blocks[b["BlockIndex"]], b["BlockIndex"]


with ThreadPoolExecutor(WORKERS) as pool:
    list(pool.map(get, listed))

for want in [("RequestThrottledException", 400, "RESOURCE_LEVEL_THROTTLE"), ("ThrottlingException", 400, None)]:
    assert want in seen, f"botocore never retried {want}; it retried {seen}"
print(f"boto3 legacy retries: {N} blocks put and read back; retried {sorted(seen, key=str)}")
