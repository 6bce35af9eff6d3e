"""Reading a lake's events and compacting its partitions.

Several writers may append the same event (a client retrying against another server, a
journal replayed after a crash), so a lake may hold an `event_id` more than once. The rule is
the store's: the first copy counts, by file age (file names start with their creation time)
then row order. `read_events` applies it to whatever it reads; `compact` applies it once and
for all to a partition, merging its files into one.

Compaction of a partition writes the merged file, then deletes its inputs. A crash between
the two leaves both, which is only duplicates (removed by the next compaction and by every
read); files written by other servers meanwhile are not inputs, so they are kept. The merged
file is named after its oldest input's time, so it keeps that input's place in the order.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import time
from dataclasses import dataclass, field

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from chatlens.errors import InputError
from chatlens.lake.layout import EVENTS, PARTITION, Lake
from chatlens.lake.write import TMP_PREFIX, events_table, is_part, write_file

STALE_SECONDS = 3600.0
"""A temporary file this old was left by a crashed writer (no write takes an hour): compaction
deletes it."""

_ORDER = "__lake_order"

RELISTS = 5
"""How many times `read_events` lists a lake again when a file it listed was deleted before
it was read (each rewrite or compaction deletes a file only after writing its successor)."""


@dataclass
class Partition:
    """One day's folder: its complete files, oldest first, and any temporary ones."""

    day: dt.date
    folder: str
    files: list[pafs.FileInfo] = field(default_factory=list)
    temporary: list[pafs.FileInfo] = field(default_factory=list)


def as_day(value: dt.date | str | None, what: str) -> dt.date | None:
    """A date from a date, a datetime (its UTC day) or an ISO string."""
    if value is None or (isinstance(value, dt.date) and not isinstance(value, dt.datetime)):
        return value
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).date() if value.tzinfo else value.date()
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise InputError(f"{what}: expected a date YYYY-MM-DD, got {value!r}") from None


def partitions(
    lake: Lake,
    kind: str = EVENTS,
    start: dt.date | str | None = None,
    end: dt.date | str | None = None,
) -> list[Partition]:
    """The partitions of one kind whose day is within [start, end] (both included, either
    open), oldest first. Anything that is not `date=YYYY-MM-DD/part-*.parquet` (or a
    temporary file being written) is ignored."""
    first, last = as_day(start, "start"), as_day(end, "end")
    found: dict[dt.date, Partition] = {}
    for info in _listing(lake, kind, first, last):
        if info.type != pafs.FileType.File:
            continue
        folder, _, name = info.path.rpartition("/")
        day = _day(folder)
        if day is None or (first and day < first) or (last and day > last):
            continue
        part = found.setdefault(day, Partition(day, folder))
        if is_part(name):
            part.files.append(info)
        elif name.startswith(TMP_PREFIX):
            part.temporary.append(info)
    for part in found.values():
        part.files.sort(key=lambda info: info.base_name)
    return [found[day] for day in sorted(found)]


def _day(folder: str) -> dt.date | None:
    """The day of a partition folder (`.../date=YYYY-MM-DD`), None for any other folder."""
    key, _, value = folder.rpartition("/")[2].partition("=")
    if key != PARTITION:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        return None


def _listing(
    lake: Lake, kind: str, first: dt.date | None, last: dt.date | None
) -> list[pafs.FileInfo]:
    """The files under a kind's folder: all of them in one recursive listing, or, when the
    days are bounded, the partition folders first and then only those in range (reading a
    day of a long history lists a day, not the history)."""
    top = lake.kind_dir(kind)
    if first is None and last is None:
        everything = pafs.FileSelector(top, recursive=True, allow_not_found=True)
        return list(lake.fs.get_file_info(everything))
    folders = lake.fs.get_file_info(pafs.FileSelector(top, allow_not_found=True))
    found = []
    for folder in folders:
        day = _day(folder.path) if folder.type == pafs.FileType.Directory else None
        if day is None or (first and day < first) or (last and day > last):
            continue
        found.extend(lake.fs.get_file_info(pafs.FileSelector(folder.path, allow_not_found=True)))
    return found


def read_file(lake: Lake, info: pafs.FileInfo, columns: list[str] | None = None) -> pa.Table:
    """One events file, in the current events schema (columns added since are null)."""
    table = pq.read_table(info.path, filesystem=lake.fs, columns=columns)
    return table if columns else events_table(table)


def first_copies(tables: list[pa.Table]) -> pa.Table:
    """The tables concatenated, keeping the first row of each event_id (tables in age order,
    then row order)."""
    if not tables:
        return events_table([])
    table = pa.concat_tables(tables)
    table = table.append_column(_ORDER, pa.array(range(table.num_rows), pa.int64()))
    firsts = table.group_by("event_id", use_threads=False).aggregate([(_ORDER, "min")])
    keep = pc.sort_indices(firsts.column(f"{_ORDER}_min"))
    order = pc.take(firsts.column(f"{_ORDER}_min"), keep)
    return table.take(order).drop_columns([_ORDER])


def read_events(
    lake: Lake, start: dt.date | str | None = None, end: dt.date | str | None = None
) -> pa.Table:
    """The lake's events on the days [start, end] (both included; None: no bound), each
    event_id once (its first copy), in file age then row order. Partial files are never
    read. A file deleted between the listing and its reading (replaced by retention or an
    erasure, merged by a compaction: its rows are in a file written before it was deleted)
    sends the read back to a new listing, up to `RELISTS` times."""
    for attempt in range(RELISTS + 1):
        infos = [info for part in partitions(lake, EVENTS, start, end) for info in part.files]
        infos.sort(key=lambda info: info.base_name)
        try:
            return first_copies([read_file(lake, info) for info in infos])
        except FileNotFoundError:
            if attempt == RELISTS:
                raise
    raise AssertionError("unreachable")


@dataclass
class Compacted:
    """What one compaction did."""

    partitions: int = 0
    files_in: int = 0
    files_out: int = 0
    rows_in: int = 0
    rows_out: int = 0
    stale_removed: int = 0

    @property
    def duplicates(self) -> int:
        return self.rows_in - self.rows_out


def compact(lake: Lake, since: dt.date | str | None = None) -> Compacted:
    """Merge each events partition (from `since` on) into one file without duplicate
    event_ids; a partition already in that state is left alone."""
    done = Compacted()
    for part in partitions(lake, EVENTS, since):
        done.stale_removed += _remove_stale(lake, part)
        for attempt in range(RELISTS + 1):
            if _merge(lake, part, done):
                break
            if attempt == RELISTS:
                raise InputError(
                    f"compaction of {part.folder}: its files kept being replaced while it ran "
                    "(a retention or erasure run at the same time?); run it again later"
                )
            again = partitions(lake, EVENTS, part.day, part.day)
            part = again[0] if again else Partition(part.day, part.folder)
    return done


def _merge(lake: Lake, part: Partition, done: Compacted) -> bool:
    """Merge one partition's files into one (counted in `done`); False, with nothing
    deleted, when one of them was replaced or deleted meanwhile (retention, an erasure,
    another compaction): the partition must be listed again. An input replaced after
    the check is the one window left (docs/lake.md, "Compaction")."""
    if not part.files:
        return True
    try:
        tables = [read_file(lake, info) for info in part.files]
    except FileNotFoundError:
        return False
    rows_in = sum(t.num_rows for t in tables)
    merged = first_copies(tables)
    if len(part.files) == 1 and merged.num_rows == rows_in:
        return True
    written = None
    if merged.num_rows:
        written = write_file(lake, part.folder, merged, _merged_name(lake, part.files[0]))
    inputs = lake.fs.get_file_info([info.path for info in part.files])
    if any(info.type == pafs.FileType.NotFound for info in inputs):
        if written:
            _delete(lake, written)
        return False
    done.partitions += 1
    done.files_in += len(part.files)
    done.rows_in += rows_in
    done.rows_out += merged.num_rows
    done.files_out += 1 if written else 0
    for info in part.files:
        _delete(lake, info.path)
    return True


def _merged_name(lake: Lake, oldest: pafs.FileInfo) -> str:
    """A new unique name carrying the oldest input's time (`part-<time>-<random>`)."""
    fresh = lake.new_file_name().split("-", 2)[2]
    stamp = oldest.base_name.split("-")[1] if oldest.base_name.count("-") >= 2 else ""
    return f"part-{stamp}-{fresh}" if stamp.isdigit() else lake.new_file_name()


def _remove_stale(lake: Lake, part: Partition) -> int:
    """Delete temporary files left by crashed writers (older than STALE_SECONDS)."""
    removed = 0
    for info in part.temporary:
        mtime = info.mtime.timestamp() if info.mtime else time.time()
        if time.time() - mtime > STALE_SECONDS:
            _delete(lake, info.path)
            removed += 1
    return removed


def _delete(lake: Lake, path: str) -> None:
    """Delete a file another compactor may have deleted already."""
    with contextlib.suppress(FileNotFoundError):
        lake.fs.delete_file(path)
