#!/usr/bin/env python3
"""Regenerates the botocore_*.http fixtures of package sigv4.

Each fixture is one request exactly as botocore (the library under boto3
and the AWS CLI) builds and signs it for the EBS direct APIs, written in
HTTP/1.1 wire form. Nothing goes on the network: a before-send hook
captures the prepared request and answers it. The credentials are the
test ones of sigv4's tests; the signing time is fixed.

    python3 testdata/botocore_gen.py   # from internal/sigv4, needs botocore
"""
import base64
import datetime
import hashlib
import os
from unittest import mock

import botocore
import botocore.session
from botocore.awsrequest import AWSResponse

AKID = "AKIDEXAMPLE"
SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
ENDPOINT = "http://127.0.0.1:8080"
SIGN_TIME = datetime.datetime(2026, 1, 1, 12, 0, 0, tzinfo=datetime.timezone.utc)
HERE = os.path.dirname(os.path.abspath(__file__))
DATA = bytes(range(256)) * 16  # 4 KiB stands in for a 512 KiB block
SNAP = "snap-0123456789abcdef0"


class FakeRaw:
    def stream(self, *args, **kwargs):
        yield b"{}"


def write(name, req):
    parts = botocore.compat.urlsplit(req.url)
    target = parts.path + ("?" + parts.query if parts.query else "")
    lines = [f"{req.method} {target} HTTP/1.1", f"Host: {parts.netloc}"]
    for k, v in req.headers.items():
        lines.append(f"{k}: {v.decode() if isinstance(v, bytes) else v}")
    body = req.body or b""
    if isinstance(body, str):
        body = body.encode()
    elif hasattr(body, "read"):
        body = body.read()
    with open(os.path.join(HERE, f"botocore_{name}.http"), "wb") as f:
        f.write(("\r\n".join(lines) + "\r\n\r\n").encode() + body)


def client(name, stash=None):
    session = botocore.session.get_session()
    c = session.create_client(
        "ebs", region_name="us-east-1", endpoint_url=ENDPOINT,
        aws_access_key_id=AKID, aws_secret_access_key=SECRET)

    def before_sign(request, **kwargs):
        # Like the real-AWS experiment in radkawar/stackd signing.json:
        # leave x-amz-Checksum out of the signature, send it anyway.
        if stash is not None:
            stash["x-amz-Checksum"] = request.headers["x-amz-Checksum"]
            del request.headers["x-amz-Checksum"]

    def before_send(request, **kwargs):
        if stash:
            request.headers["x-amz-Checksum"] = stash["x-amz-Checksum"]
        write(name, request)
        return AWSResponse(request.url, 200, {"Content-Type": "application/json"}, FakeRaw())

    c.meta.events.register_first("before-sign.ebs", before_sign)
    c.meta.events.register("before-send.ebs", before_send)
    return c


def main():
    digest = base64.b64encode(hashlib.sha256(DATA).digest()).decode()
    put = dict(SnapshotId=SNAP, BlockIndex=7, BlockData=DATA, DataLength=len(DATA),
               Checksum=digest, ChecksumAlgorithm="SHA256", Progress=50)
    with mock.patch("botocore.auth.get_current_datetime", return_value=SIGN_TIME):
        client("put_snapshot_block").put_snapshot_block(**put)
        client("put_snapshot_block_unsigned_checksum", stash={}).put_snapshot_block(**put)
        client("start_snapshot").start_snapshot(
            VolumeSize=8, ClientToken="token +/= 1", Timeout=60, Description="a  b",
            Tags=[{"Key": "k", "Value": "v w"}])
        client("list_snapshot_blocks").list_snapshot_blocks(
            SnapshotId=SNAP, MaxResults=100, NextToken="abc+/=def", StartingBlockIndex=3)
        client("get_snapshot_block").get_snapshot_block(
            SnapshotId=SNAP, BlockIndex=7, BlockToken="AAUB+/Ac=")
        client("complete_snapshot").complete_snapshot(
            SnapshotId=SNAP, ChangedBlocksCount=1, Checksum=digest,
            ChecksumAlgorithm="SHA256", ChecksumAggregationMethod="LINEAR")


if __name__ == "__main__":
    main()
