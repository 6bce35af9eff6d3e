"""Where things live in a lake and how a lake URL becomes a filesystem.

A lake URL is a local path (`/data/lake`, `file:///data/lake`) or an S3 URI that pyarrow
understands, e.g. `s3://bucket/prefix?endpoint_override=127.0.0.1:9000&scheme=http`
(credentials from the usual AWS environment variables). Every file name under a partition
is unique (`part-<time>-<random>.parquet`), so several writers share one lake without
coordinating."""

from __future__ import annotations

import datetime as dt
import os
import secrets
import time
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.fs as pafs

from chatlens.errors import InputError
from chatlens.store.db import ROW_SCHEMA

EVENTS = "events"
FACTS = "facts"
STINTS = "stints"
KINDS = (EVENTS, FACTS, STINTS)
PARTITION = "date"
"""The partition column: the UTC date of an event's `ts` (a fact's or stint's start)."""

EVENT_SCHEMA: pa.Schema = ROW_SCHEMA
"""The columns of an events file: the store's rows."""


@dataclass(frozen=True)
class Lake:
    """A lake: its filesystem and the root path inside it."""

    url: str
    fs: pafs.FileSystem
    root: str

    @classmethod
    def open(cls, url: str) -> Lake:
        """The lake at `url` (created if it is a local path that does not exist yet)."""
        try:
            fs, root = pafs.FileSystem.from_uri(url if "://" in url else os.path.abspath(url))
        except (pa.ArrowInvalid, OSError, ValueError) as exc:
            raise InputError(f"cannot open the lake at {url!r}: {exc}") from None
        root = root.rstrip("/")
        if isinstance(fs, pafs.LocalFileSystem):
            fs.create_dir(root, recursive=True)
        return cls(url=url, fs=fs, root=root)

    def check_reachable(self) -> None:
        """An InputError naming the lake (never its URL: it may carry a secret key) when its
        object store does not answer; a local lake always does."""
        if isinstance(self.fs, pafs.LocalFileSystem):
            return
        try:
            self.fs.get_file_info(self.root)
        except OSError as exc:
            reduced = self.fs.__reduce__()[1]
            options = reduced[0] if reduced and isinstance(reduced[0], dict) else {}
            endpoint = options.get("endpoint_override") or "AWS"
            raise InputError(
                f"cannot reach the lake at s3://{self.root} (endpoint {endpoint}): {exc}"
            ) from None

    def kind_dir(self, kind: str) -> str:
        """The folder of one kind of data (events, facts, stints)."""
        if kind not in KINDS:
            raise InputError(f"no {kind!r} in a lake; expected one of {', '.join(KINDS)}")
        return f"{self.root}/{kind}"

    def partition_dir(self, kind: str, day: dt.date) -> str:
        """The folder of one day of one kind: `ROOT/KIND/date=YYYY-MM-DD`."""
        return f"{self.kind_dir(kind)}/{PARTITION}={day.isoformat()}"

    def new_file_name(self) -> str:
        """A file name no other writer will choose: time first (files sort by age), then
        96 random bits."""
        return f"part-{time.time_ns():020d}-{secrets.token_hex(12)}.parquet"


def event_partitions(lake: Lake) -> dict[str, list[pafs.FileInfo]]:
    """The lake's events files by partition day (only whole `part-*.parquet` files)."""
    selector = pafs.FileSelector(lake.kind_dir(EVENTS), recursive=True, allow_not_found=True)
    found: dict[str, list[pafs.FileInfo]] = {}
    for info in lake.fs.get_file_info(selector):
        if info.type != pafs.FileType.File or not info.base_name.startswith("part-"):
            continue
        if not info.base_name.endswith(".parquet"):
            continue
        folder = info.path.rsplit("/", 2)[-2]
        if not folder.startswith(f"{PARTITION}="):
            continue
        found.setdefault(folder.split("=", 1)[1], []).append(info)
    return found
