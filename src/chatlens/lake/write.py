"""Appending events to a lake: one Parquet file per day touched, each appearing whole or not
at all, durable before the call returns.

Atomicity: on a local path a file is written as `.tmp-part-...parquet`, synced, renamed to
its final `part-...parquet` name and its folder synced; on S3 an object becomes visible only
when its upload completes (a single PUT, or the multipart upload's final request), so it is
written under its final name directly. Readers list `part-*.parquet` only, so a temporary
file left by a crash is never read (`chatlens lake compact` removes stale ones).

Nothing is deduplicated here: a retried batch may be written twice, and reading
(`chatlens.lake.compact.read_events`) and compaction keep the first copy of each `event_id`.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Sequence
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from chatlens.errors import InputError
from chatlens.lake.layout import EVENT_SCHEMA, EVENTS, Lake

TMP_PREFIX = ".tmp-"
"""Names of files being written (never read; removed by compaction once stale)."""
COMPRESSION = "zstd"


def is_part(name: str) -> bool:
    """Whether a file name is a complete data file (`part-*.parquet`)."""
    return name.startswith("part-") and name.endswith(".parquet")


def events_table(rows: Sequence[dict[str, Any]] | pa.Table) -> pa.Table:
    """Rows (store rows, from `to_row`) or a table, as a table of the events schema (columns
    in the schema's order, missing ones null)."""
    if isinstance(rows, pa.Table):
        missing = [name for name in EVENT_SCHEMA.names if name not in rows.column_names]
        for name in missing:
            rows = rows.append_column(
                EVENT_SCHEMA.field(name), pa.nulls(rows.num_rows, EVENT_SCHEMA.field(name).type)
            )
        try:
            return rows.select(EVENT_SCHEMA.names).cast(EVENT_SCHEMA)
        except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError) as exc:
            raise InputError(f"the table does not fit the events schema: {exc}") from None
    try:
        return pa.Table.from_pylist(list(rows), schema=EVENT_SCHEMA)
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:  # rows not from to_row
        raise InputError(f"the rows do not fit the events schema: {exc}") from None


def write_events(lake: Lake, rows: Sequence[dict[str, Any]] | pa.Table) -> list[str]:
    """Append events to the lake: one new file per UTC day of `ts`, rows in their given
    order; returns the paths written (inside the lake's filesystem), oldest day first. Every
    file is complete and durable when this returns."""
    table = events_table(rows)
    if table.num_rows == 0:
        return []
    if table.column("ts").null_count:
        raise InputError("an event without ts cannot be placed in the lake (ts is required)")
    days = pc.cast(table.column("ts"), pa.date32())
    written = []
    for day in sorted(pc.unique(days).to_pylist()):
        part = table.filter(pc.equal(days, pa.scalar(day, pa.date32())))
        written.append(write_file(lake, lake.partition_dir(EVENTS, day), part))
    return written


def write_file(lake: Lake, folder: str, table: pa.Table, name: str | None = None) -> str:
    """Write one table as a new file in `folder` (named `name`, by default a new unique
    one), atomically and durably; returns its path."""
    name = name or lake.new_file_name()
    final = f"{folder}/{name}"
    if isinstance(lake.fs, pafs.LocalFileSystem):
        os.makedirs(folder, exist_ok=True)
        temporary = f"{folder}/{TMP_PREFIX}{name}"
        try:
            with open(temporary, "wb") as fh:
                pq.write_table(table, fh, compression=COMPRESSION)
                fh.flush()
                os.fsync(fh.fileno())
            os.rename(temporary, final)
        except BaseException:
            _remove_quietly(temporary)
            raise
        sync_folder(folder)
    else:
        # the whole file is encoded first and sent in one write: an object store shows the
        # object only once its upload completes, and a failure mid-upload leaves none (no
        # folder is created: on S3 that would be an empty marker object)
        buffer = pa.BufferOutputStream()
        pq.write_table(table, buffer, compression=COMPRESSION)
        with lake.fs.open_output_stream(final) as out:
            out.write(buffer.getvalue())
    return final


def sync_folder(folder: str) -> None:
    """Make the files created or renamed in a local folder durable (its directory entries)."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _remove_quietly(path: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.remove(path)
