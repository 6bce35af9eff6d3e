"""Replacing a lake file by a changed copy of it (an erasure, retention), safe at any crash.

The copy is written beside the old file under the old name plus a mark
(`<old>-<mark>.parquet`, atomically: `write.write_file`), then the old file is deleted. A
crash between the two leaves both; the copy's name sorts just before the old one's (`-`
sorts before `.`), so it keeps the old file's place in the age order and is the first copy
of each of its events: readers and compaction, which keep the first copy of an event_id,
see the changed rows, never the old ones. Run again, the step writes the same copy under the
same name (an overwrite) and deletes the old file."""

from __future__ import annotations

import contextlib

import pyarrow as pa

from chatlens.lake.layout import Lake
from chatlens.lake.write import write_file


def copy_name(path: str, mark: str) -> str:
    """The name of the copy of the file at `path` carrying `mark`."""
    stem = path.rpartition("/")[2].removesuffix(".parquet")
    return f"{stem}-{mark}.parquet"


def replace_part(lake: Lake, path: str, table: pa.Table, mark: str) -> str:
    """Write `table` as the copy of the file at `path` marked `mark`, then delete the old
    file; returns the copy's path."""
    folder = path.rpartition("/")[0]
    written = write_file(lake, folder, table, copy_name(path, mark))
    delete_old(lake, path)
    return written


def delete_old(lake: Lake, path: str) -> None:
    """Delete a replaced file (gone already when another run got there first)."""
    with contextlib.suppress(FileNotFoundError):
        lake.fs.delete_file(path)
