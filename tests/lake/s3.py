"""An S3-compatible object store on loopback for the lake: moto's server mode as a child
process (used by tests/lake and bench/bench_lake.py)."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import boto3
import httpx

from tests.serverkit import free_port
from tests.waiting import wait_until

CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "lake-test-key",
    "AWS_SECRET_ACCESS_KEY": "lake-test-secret",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
}
"""moto accepts any credentials; pyarrow and boto3 read these from the environment (the
tests set them in os.environ, so servers started as children inherit them)."""


class MotoS3:
    """`python -m moto.server` on 127.0.0.1:PORT; `bucket()` makes a new, empty bucket and
    returns its lake URL."""

    def __init__(self, log: Path):
        self.port = free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 90.0) -> MotoS3:
        command = [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)]
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(command, stdout=log, stderr=log)
        process = self.process

        def up() -> bool:
            if process.poll() is not None:
                raise RuntimeError(f"moto exited: {self.log.read_text()[-2000:]}")
            try:
                return httpx.get(self.endpoint + "/moto-api/", timeout=1).status_code < 500
            except httpx.TransportError:
                return False

        try:
            wait_until(up, timeout, interval=0.1, what="moto server up")
        except BaseException:
            self.stop()
            raise
        return self

    def client(self):  # type: ignore[no-untyped-def]
        return boto3.client("s3", endpoint_url=self.endpoint, region_name="us-east-1")

    def bucket(self, prefix: str = "lake") -> str:
        """A new bucket; the lake URL of `prefix` inside it."""
        name = f"lake-{secrets.token_hex(6)}"
        self.client().create_bucket(Bucket=name)
        return self.url(name, prefix)

    def url(self, bucket: str, prefix: str = "lake") -> str:
        return (
            f"s3://{bucket}/{prefix}?endpoint_override=127.0.0.1:{self.port}"
            "&scheme=http&region=us-east-1"
        )

    def keys(self, url: str) -> list[str]:
        """Every object key under a lake URL's bucket (sorted)."""
        bucket = url.removeprefix("s3://").split("/", 1)[0]
        pages = self.client().get_paginator("list_objects_v2").paginate(Bucket=bucket)
        return sorted(item["Key"] for page in pages for item in page.get("Contents", []))

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def use_credentials() -> dict[str, str | None]:
    """Put the test credentials in os.environ; returns what was there (for restore)."""
    before = {name: os.environ.get(name) for name in CREDENTIALS}
    os.environ.update(CREDENTIALS)
    return before


def restore(before: dict[str, str | None]) -> None:
    for name, value in before.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
