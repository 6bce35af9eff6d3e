"""Retention over a lake's events (`expire_lake`): the workspace's `retention_*_days` applied
to the Parquet files as `chatlens.store.retention` applies them to the store.

- A partition (a UTC day) wholly older than `retention_events_days` is deleted: its files,
  then its folder on a local path. The store removes a conversation once its *last* event
  is older; a lake has no conversations to keep together, so a conversation crossing
  midnight may lose its first day a day before the rest.
- In the other partitions, rows older than a field's limit (or the events' limit) get that
  field blanked as the store does it (`store.retention.expire_row`: text and comment '',
  page_url '', attrs '{}'; a bot message's fallback test frozen on the row first).
- Only a file holding a row that changes is rewritten (`lake.rewrite.replace_part`, mark
  `r`): the others stay byte for byte. A crash mid-way leaves each event readable once with
  the blanked copy first; running again finishes the work.
- Facts and stints hold no text and stay.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
from dataclasses import dataclass, fields

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from chatlens.lake.compact import Partition, partitions, read_file
from chatlens.lake.layout import EVENTS, Lake
from chatlens.lake.rewrite import replace_part
from chatlens.lake.write import events_table
from chatlens.store.retention import EXPIRED, cutoffs, expire_row
from chatlens.store.settings import Settings

MARK = "r"
"""The mark of a file rewritten by retention (`<old>-r.parquet`)."""


@dataclass
class LakeExpired:
    """What one run did: rows whose field was blanked, by field; partitions deleted, with
    the rows their files held; files rewritten."""

    text: int = 0
    comment: int = 0
    page_url: int = 0
    attrs: int = 0
    partitions: int = 0
    events: int = 0
    files: int = 0

    def total(self) -> int:
        return sum(getattr(self, f.name) for f in fields(self))


def expire_lake(lake: Lake, settings: Settings, now: dt.datetime) -> LakeExpired:
    """Apply the retention settings to the lake's events partitions, as of `now`."""
    due = cutoffs(settings, now)
    done = LakeExpired()
    if not due:
        return done
    field_due = {
        name: max(filter(None, [due.get(name), due.get("events")]))
        for name in EXPIRED
        if due.get(name) or due.get("events")
    }
    last = max(due.values())  # no row of a day starting at or after it is due
    for part in partitions(lake, EVENTS, end=(last - dt.timedelta(microseconds=1)).date()):
        start = dt.datetime.combine(part.day, dt.time(), dt.UTC)
        if "events" in due and start + dt.timedelta(days=1) <= due["events"]:
            _delete_partition(lake, part, done)
            continue
        for info in part.files:
            try:
                if _has_due(lake, info, field_due):
                    _expire_file(lake, info, settings, due, done)
            except FileNotFoundError:  # merged by a compaction since the listing: the
                continue  # merged file is a new one, which the next (hourly) run expires
    return done


def _has_due(lake: Lake, info: pafs.FileInfo, field_due: dict[str, dt.datetime]) -> bool:
    """Whether a row of the file has a field due and not blank yet (reading those columns
    only: an hourly run over files already expired reads little)."""
    present_names = set(pq.read_schema(info.path, filesystem=lake.fs).names)
    names = [name for name in field_due if name in present_names]
    table = pq.read_table(info.path, filesystem=lake.fs, columns=["ts", *names])
    for name in names:
        cutoff = field_due[name]
        column = table.column(name)
        old = pc.less(table.column("ts"), pa.scalar(cutoff, table.schema.field("ts").type))
        present = pc.and_(pc.is_valid(column), pc.not_equal(column, EXPIRED[name]))
        if pc.any(pc.and_(old, present)).as_py():
            return True
    return False


def _expire_file(
    lake: Lake,
    info: pafs.FileInfo,
    settings: Settings,
    due: dict[str, dt.datetime],
    done: LakeExpired,
) -> None:
    rows = read_file(lake, info).to_pylist()
    changed = False
    for row in rows:
        before = {name: row[name] for name in EXPIRED}
        if expire_row(row, row["ts"], settings, due):
            changed = True
            for name, value in before.items():
                if row[name] != value:
                    setattr(done, name, getattr(done, name) + 1)
    if changed:
        replace_part(lake, info.path, events_table(rows), MARK)
        done.files += 1


def _delete_partition(lake: Lake, part: Partition, done: LakeExpired) -> None:
    """Delete the files listed in a partition (a file a writer adds meanwhile stays), then
    its folder if it is a local one left empty."""
    for info in part.files:
        with contextlib.suppress(FileNotFoundError, OSError):
            done.events += pq.read_metadata(info.path, filesystem=lake.fs).num_rows
    for info in [*part.files, *part.temporary]:
        with contextlib.suppress(FileNotFoundError):
            lake.fs.delete_file(info.path)
    done.partitions += 1
    if isinstance(lake.fs, pafs.LocalFileSystem):
        with contextlib.suppress(OSError):
            os.rmdir(part.folder)
