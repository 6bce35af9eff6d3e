"""Reading and compacting a lake, on a local folder and on S3 (moto): hand-counted rows and
duplicates, the first copy of an event_id kept, partial files never read."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pyarrow as pa
import pyarrow.fs as pafs
import pytest

import chatlens.lake.compact as compact_module
from chatlens.lake.compact import compact, partitions, read_events, read_file
from chatlens.lake.info import lake_info
from chatlens.lake.layout import EVENTS, Lake
from chatlens.lake.rewrite import replace_part
from chatlens.lake.write import write_events

DAY2 = dt.date(2026, 11, 2)
DAY3 = dt.date(2026, 11, 3)
DAY4 = dt.date(2026, 11, 4)


def msg(event_id: str, day: dt.date, text: str, second: int = 0) -> dict:
    ts = dt.datetime.combine(day, dt.time(9, 0, second), dt.UTC)
    return {
        "event_id": event_id,
        "type": "message",
        "ts": ts,
        "conversation_id": "c1",
        "sender": "customer",
        "text": text,
    }


def fill(lake: Lake) -> None:
    """Three writes, six files, nine rows, three of them second copies (b, c, a)."""
    write_events(
        lake, [msg("a", DAY2, "first"), msg("b", DAY2, "first", 1), msg("c", DAY3, "first")]
    )
    write_events(
        lake,
        [
            msg("b", DAY2, "second", 1),
            msg("d", DAY2, "first", 2),
            msg("c", DAY3, "second"),
            msg("e", DAY4, "first"),
        ],
    )
    write_events(lake, [msg("a", DAY2, "second"), msg("f", DAY2, "first", 3)])


def texts(table) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return dict(
        zip(table.column("event_id").to_pylist(), table.column("text").to_pylist(), strict=True)
    )


def test_reading_keeps_the_first_copy_of_each_event(lake: Lake) -> None:
    fill(lake)
    events = read_events(lake)
    assert events.column("event_id").to_pylist() == ["a", "b", "c", "d", "e", "f"]
    assert set(texts(events).values()) == {"first"}
    assert read_events(lake, DAY3, DAY3).column("event_id").to_pylist() == ["c"]
    assert read_events(lake, start="2026-11-03").column("event_id").to_pylist() == ["c", "e"]
    assert read_events(lake, end=DAY2).column("event_id").to_pylist() == ["a", "b", "d", "f"]


def test_compaction_merges_each_partition_and_drops_second_copies(lake: Lake) -> None:
    fill(lake)
    info = lake_info(lake)
    assert (info.partitions, info.files, info.rows, info.duplicates) == (3, 6, 9, 3)
    assert (info.first_day, info.last_day) == (DAY2, DAY4)

    done = compact(lake)
    # day 2: three files (6 rows: a b | b d | a f) into one of 4; day 3: two files (c | c)
    # into one; day 4 holds one file without duplicates and is left alone
    assert (done.partitions, done.files_in, done.files_out) == (2, 5, 2)
    assert (done.rows_in, done.rows_out, done.duplicates) == (8, 5, 3)
    counts = {p.day: len(p.files) for p in partitions(lake)}
    assert counts == {DAY2: 1, DAY3: 1, DAY4: 1}
    after = read_events(lake)
    assert after.column("event_id").to_pylist() == ["a", "b", "d", "f", "c", "e"]
    assert set(texts(after).values()) == {"first"}
    info = lake_info(lake)
    assert (info.partitions, info.files, info.rows, info.duplicates) == (3, 3, 6, 0)

    assert compact(lake).partitions == 0  # nothing left to do


def test_compaction_since_a_day_leaves_older_partitions(lake: Lake) -> None:
    fill(lake)
    done = compact(lake, since="2026-11-03")
    assert (done.partitions, done.files_in, done.rows_in, done.rows_out) == (1, 2, 2, 1)
    assert {p.day: len(p.files) for p in partitions(lake)} == {DAY2: 3, DAY3: 1, DAY4: 1}


def test_a_compaction_cut_short_leaves_only_duplicates(
    lake: Lake, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A crash after the merged file is written and before the inputs are deleted: the next
    read and the next compaction still see each event once, the first copy."""
    fill(lake)

    def killed(lake: Lake, path: str) -> None:
        raise KeyboardInterrupt("killed before deleting the inputs")

    monkeypatch.setattr(compact_module, "_delete", killed)
    with pytest.raises(KeyboardInterrupt):
        compact(lake, since=DAY2)
    monkeypatch.undo()
    # day 2 now holds the merged file (a b d f) and its three inputs (a b | b d | a f)
    assert len(partitions(lake, EVENTS, DAY2, DAY2)[0].files) == 4
    assert read_events(lake, DAY2, DAY2).column("event_id").to_pylist() == ["a", "b", "d", "f"]
    assert set(texts(read_events(lake)).values()) == {"first"}
    done = compact(lake, since=DAY2)
    assert (done.files_in, done.rows_in, done.rows_out) == (4 + 2, 4 + 6 + 2, 4 + 1)
    assert {p.day: len(p.files) for p in partitions(lake)} == {DAY2: 1, DAY3: 1, DAY4: 1}
    assert read_events(lake).column("event_id").to_pylist() == ["a", "b", "d", "f", "c", "e"]
    assert set(texts(read_events(lake)).values()) == {"first"}


CRASH_LOCAL = """
import datetime as dt, os, signal
from chatlens.lake.layout import Lake
from chatlens.lake.write import write_events
os.rename = lambda src, dst: os.kill(os.getpid(), signal.SIGKILL)
ts = dt.datetime(2026, 11, 2, 10, tzinfo=dt.UTC)
write_events(Lake.open({url!r}), [{{"event_id": "lost", "type": "message", "ts": ts}}])
"""

CRASH_S3 = """
import datetime as dt, os, signal
import pyarrow as pa
from chatlens.lake.layout import Lake
from chatlens.lake.write import write_events

class Halfway:
    '''A real upload stream that is killed after half of the file (several 5 MB parts).'''
    def __init__(self, stream):
        self.stream = stream
    def __enter__(self):
        return self
    def __exit__(self, *exc):
        return False
    def write(self, data):
        self.stream.write(memoryview(data)[: len(data) // 2])
        self.stream.flush()
        os.kill(os.getpid(), signal.SIGKILL)

class Filesystem:
    def __init__(self, fs):
        self.fs = fs
    def create_dir(self, *args, **kw):
        return self.fs.create_dir(*args, **kw)
    def open_output_stream(self, path):
        return Halfway(self.fs.open_output_stream(path))

lake = Lake.open({url!r})
lake = Lake(lake.url, Filesystem(lake.fs), lake.root)
ts = dt.datetime(2026, 11, 2, 10, tzinfo=dt.UTC)
rows = [
    {{"event_id": f"lost-{{n}}", "type": "message", "ts": ts, "text": os.urandom(1024).hex()}}
    for n in range(12_000)
]
write_events(lake, rows)
"""


def crash(code: str, url: str) -> None:
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code.format(url=url))], check=False
    )
    assert done.returncode == -signal.SIGKILL


def test_a_writer_killed_before_its_rename_leaves_nothing_readable(tmp_path: Path) -> None:
    url = str(tmp_path / "lake")
    lake = Lake.open(url)
    write_events(lake, [msg("kept", DAY2, "first")])
    crash(CRASH_LOCAL, url)
    folder = tmp_path / "lake/events/date=2026-11-02"
    names = sorted(os.listdir(folder))
    assert len(names) == 2 and names[0].startswith(".tmp-part-") and names[1].startswith("part-")
    assert read_events(lake).column("event_id").to_pylist() == ["kept"]
    info = lake_info(lake)
    assert (info.files, info.rows, info.temporary) == (1, 1, 1)
    # a fresh temporary file may belong to a live writer: kept; an hour-old one is removed
    assert compact(lake).stale_removed == 0
    old = (tmp_path / "lake/events/date=2026-11-02" / names[0]).stat().st_mtime - 7200
    os.utime(folder / names[0], (old, old))
    assert compact(lake).stale_removed == 1
    assert os.listdir(folder) == [names[1]]


def test_an_upload_killed_halfway_is_never_visible(moto) -> None:  # type: ignore[no-untyped-def]
    url = moto.bucket()
    lake = Lake.open(url)
    write_events(lake, [msg("kept", DAY2, "first")])
    crash(CRASH_S3, url)
    keys = moto.keys(url)
    assert len(keys) == 1 and keys[0].startswith("lake/events/date=2026-11-02/part-")
    assert read_events(lake).column("event_id").to_pylist() == ["kept"]
    listed = lake.fs.get_file_info(pafs.FileSelector(lake.root, recursive=True))
    assert [i.base_name for i in listed if i.type == pafs.FileType.File] == [
        keys[0].rsplit("/")[-1]
    ]


def test_a_file_replaced_while_it_is_read_sends_the_read_to_a_new_listing(
    lake: Lake, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Retention replaces a file between read_events' listing and its reading (the race
    the hourly retention job runs against every reader): the read lists again and returns
    the replaced rows, never an error."""
    fill(lake)
    replaced: list[str] = []

    def racing(lake_: Lake, info: pafs.FileInfo, columns: list[str] | None = None):  # type: ignore[no-untyped-def]
        if not replaced:
            replaced.append(blank(lake_, info.path))
        return read_file(lake_, info, columns)

    monkeypatch.setattr(compact_module, "read_file", racing)
    events = read_events(lake)
    assert len(replaced) == 1
    # the first file read (of the first write: a and b on day 2, or c on day 3) was blanked:
    # its copy is read, never the old file's text
    blanked = {"a": "", "b": ""} if "date=2026-11-02" in replaced[0] else {"c": ""}
    assert texts(events) == {k: "first" for k in "abcdef"} | blanked


def blank(lake: Lake, path: str) -> str:
    """What retention does to a file: its copy with every text blanked, then it is gone."""
    table = read_file(lake, pafs.FileInfo(path))
    column = table.schema.get_field_index("text")
    return replace_part(
        lake, path, table.set_column(column, "text", pa.array([""] * table.num_rows)), "r"
    )


@pytest.mark.parametrize("moment", ["before its read", "after its read"])
def test_a_compaction_racing_a_rewrite_keeps_the_rewritten_rows(
    lake: Lake, monkeypatch: pytest.MonkeyPatch, moment: str
) -> None:
    """Retention replaces day 2's newest file (b d) while compaction works on day 2, before
    compaction reads it or after (between its read and the merged file): compaction lists
    the partition again and merges the blanked copy; the old text never comes back."""
    fill(lake)
    [day2] = partitions(lake, EVENTS, DAY2, DAY2)
    target = day2.files[1].path  # the second write's day-2 file: b (second copy), d
    replaced: list[str] = []
    if moment == "before its read":

        def racing_read(lake_: Lake, info: pafs.FileInfo, columns: list[str] | None = None):  # type: ignore[no-untyped-def]
            if info.path == target and not replaced:
                replaced.append(blank(lake_, target))
            return read_file(lake_, info, columns)

        monkeypatch.setattr(compact_module, "read_file", racing_read)
    else:
        write_file = compact_module.write_file

        def racing_write(lake_: Lake, folder: str, table, name=None):  # type: ignore[no-untyped-def]
            if folder == day2.folder and not replaced:
                replaced.append(blank(lake_, target))
            return write_file(lake_, folder, table, name)

        monkeypatch.setattr(compact_module, "write_file", racing_write)

    done = compact(lake)
    assert len(replaced) == 1
    # day 2 merged once, from a b | b d blanked | a f: a b first, d blanked, f first
    assert (done.partitions, done.files_in, done.rows_in, done.rows_out) == (2, 5, 8, 5)
    assert {p.day: len(p.files) for p in partitions(lake)} == {DAY2: 1, DAY3: 1, DAY4: 1}
    assert texts(read_events(lake, DAY2, DAY2)) == {
        "a": "first",
        "b": "first",
        "d": "",
        "f": "first",
    }
