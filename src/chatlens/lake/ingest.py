"""Event files into a lake (`chatlens lake write`): read and validated as `chatlens import`
does (chatlens/ingest/files.py, the events' models), then written with `write_events`.

A lake is append-only and has no quarantine, so a file is written whole or not at all: a
file holding a bad record is refused, naming the first bad records and their fields, and
nothing of it is written; the other files are written. Every file becomes one new Parquet
file per day it touches."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa

from chatlens.app.service import DEFAULT_WORKSPACE
from chatlens.errors import EventError, FieldError, InputError
from chatlens.events import parse_event, to_row
from chatlens.ingest.files import read_records
from chatlens.lake.layout import Lake
from chatlens.lake.write import events_table, write_events

CHUNK = 50_000
"""Validated rows are kept as Arrow tables of this many rows (compact) until the file is
known to be wholly valid."""
SHOWN_ERRORS = 5


class RefusedFile(InputError):
    """A file with bad records: none of it was written."""

    def __init__(self, path: Path, bad: int, first: list[str]):
        self.bad = bad
        shown = "; ".join(first)
        more = f" (and {bad - len(first)} more)" if bad > len(first) else ""
        super().__init__(
            f"{path}: {bad} bad record{'s' if bad != 1 else ''}, nothing of this file written: "
            f"{shown}{more}"
        )


@dataclass
class Written:
    """One file written to the lake."""

    source: Path
    events: int
    files: list[str]


def validated(path: Path) -> pa.Table:
    """Every record of a file as event rows; RefusedFile naming the first bad records (where
    they are and which field) if any is bad, InputError if the file cannot be read."""
    chunks: list[pa.Table] = []
    rows: list[dict[str, Any]] = []
    bad = 0
    first: list[str] = []
    for record in read_records(path):  # InputError when unreadable at all
        try:
            if record.data is None:
                raise EventError([FieldError("(event)", record.problem or "unreadable")])
            rows.append(to_row(parse_event(record.data, record.controls_checked)))
        except EventError as exc:
            bad += 1
            if len(first) < SHOWN_ERRORS:
                first.append(f"{record.where}: {exc}")
            continue
        if len(rows) >= CHUNK:
            chunks.append(events_table(rows))
            rows = []
    if bad:
        raise RefusedFile(path, bad, first)
    chunks.append(events_table(rows))
    return pa.concat_tables(chunks)


def write_file_events(lake: Lake, path: Path) -> Written:
    """Validate a whole file, then write it to the lake."""
    table = validated(path)
    return Written(path, table.num_rows, write_events(lake, table))


@dataclass(frozen=True)
class LakeSink:
    """Where `chatlens serve --lake URL` puts each workspace's events: the default workspace
    at the URL, workspace NAME in a lake of its own at `URL/workspaces/NAME` (workspaces never
    share a lake). `store_too`: the events also go to the workspace's DuckDB store."""

    url: str
    store_too: bool = False

    def lake_of(self, workspace: str) -> Lake:
        return Lake.open(workspace_lake_url(self.url, workspace))


def workspace_lake_url(url: str, workspace: str) -> str:
    """The lake of `workspace` under a server's lake URL: the URL itself for the default
    workspace, `URL/workspaces/NAME` for workspace NAME (an S3 URL keeps its query)."""
    if workspace == DEFAULT_WORKSPACE:
        return url
    path, mark, query = url.partition("?")
    return f"{path.rstrip('/')}/workspaces/{workspace}{mark}{query}"
