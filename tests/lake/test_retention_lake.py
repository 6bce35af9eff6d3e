"""Retention over a lake (chatlens.lake.retention.expire_lake), on a local folder and on S3
(moto): hand-counted fields blanked and partitions deleted, every other file left byte for
byte, and a crash between writing a rewritten file and deleting the old one."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pyarrow.fs as pafs
import pytest
from typer.testing import CliRunner

import chatlens.lake.rewrite as rewrite_module
from chatlens.cli import app
from chatlens.lake.compact import compact, partitions, read_events
from chatlens.lake.layout import EVENTS, Lake
from chatlens.lake.retention import LakeExpired, expire_lake
from chatlens.lake.write import write_events
from chatlens.store import open_store
from chatlens.store.settings import Settings, save_setting

NOW = dt.datetime(2026, 11, 30, 12, 0, tzinfo=dt.UTC)
# text due before 11-20 12:00, attrs before 11-10 12:00, everything before 11-05 12:00
SETTINGS = Settings(retention_text_days=10, retention_attrs_days=20, retention_events_days=25)
ATTRS = '{"email": "aino@example.com"}'


def at(day: int, hour: int) -> dt.datetime:
    return dt.datetime(2026, 11, day, hour, tzinfo=dt.UTC)


def row(event_id: str, ts: dt.datetime, **fields: Any) -> dict[str, Any]:
    base = {"event_id": event_id, "type": "message", "ts": ts, "conversation_id": "c-" + event_id}
    return {**base, "sender": "customer", **fields}


def fill(lake: Lake) -> dict[str, list[str]]:
    """Eleven events in seven files; returns the files by name."""
    return {
        "nov3": write_events(lake, [row("a1", at(3, 9), text="old"), row("a2", at(3, 23))]),
        "nov4": write_events(lake, [row("b1", at(4, 9), text="old")]),
        "nov5": write_events(
            lake,
            [
                row("c1", at(5, 9), text="hi", page_url="https://x/p?a=1", attrs=ATTRS),
                row("c2", at(5, 9), type="rating", sender=None, score=2.0, comment="meh"),
                row("c3", at(5, 15), text="there", page_url="https://x/q", attrs=ATTRS),
            ],
        ),
        "nov15": write_events(
            lake,
            [row("d1", at(15, 9), sender="bot", text="Sorry, I didn't understand", attrs=ATTRS)],
        ),
        "nov15_done": write_events(lake, [row("d2", at(15, 10), text="", attrs=ATTRS)]),
        "nov20_old": write_events(lake, [row("e1", at(20, 9), text="before noon")]),
        "nov20_new": write_events(lake, [row("e2", at(20, 15), text="after noon")]),
        "nov25": write_events(lake, [row("f1", at(25, 9), text="recent", attrs=ATTRS)]),
    }


def snapshot(lake: Lake) -> dict[str, bytes]:
    """Every events file's name and bytes."""
    found = {}
    for part in partitions(lake, EVENTS):
        for info in part.files:
            with lake.fs.open_input_stream(info.path) as stream:
                found[info.path] = stream.read()
    return found


def by_id(lake: Lake) -> dict[str, dict[str, Any]]:
    return {r["event_id"]: r for r in read_events(lake).to_pylist()}


def test_retention_blanks_due_fields_and_deletes_old_partitions(lake: Lake) -> None:
    files = fill(lake)
    before = snapshot(lake)

    done = expire_lake(lake, SETTINGS, NOW)

    # texts c1 c3 d1 e1; comment c2; page_url c1; attrs c1 c3; nov 3 and 4 gone (3 rows);
    # files rewritten: nov5, nov15 (d1), nov20_old
    assert done == LakeExpired(
        text=4, comment=1, page_url=1, attrs=2, partitions=2, events=3, files=3
    )
    days = [part.day.day for part in partitions(lake, EVENTS)]
    assert days == [5, 15, 20, 25]
    if isinstance(lake.fs, pafs.LocalFileSystem):
        gone = lake.fs.get_file_info(lake.partition_dir(EVENTS, dt.date(2026, 11, 3)))
        assert gone.type == pafs.FileType.NotFound  # the folder too

    events = by_id(lake)
    assert sorted(events) == ["c1", "c2", "c3", "d1", "d2", "e1", "e2", "f1"]
    fields = ("text", "comment", "page_url", "attrs", "fallback")
    got = {key: tuple(events[key][f] for f in fields) for key in events}
    assert got == {
        "c1": ("", None, "", "{}", None),  # before the events' limit: every field
        "c2": (None, "", None, None, None),  # the comment goes, the rating stays
        "c3": ("", None, "https://x/q", "{}", None),  # text and attrs only
        "d1": ("", None, None, ATTRS, True),  # fallback frozen before its text went
        "d2": ("", None, None, ATTRS, None),
        "e1": ("", None, None, None, None),
        "e2": ("after noon", None, None, None, None),
        "f1": ("recent", None, None, ATTRS, None),
    }
    assert events["c2"]["score"] == 2.0

    after = snapshot(lake)
    untouched = [*files["nov15_done"], *files["nov20_new"], *files["nov25"]]
    for path in untouched:
        assert after[path] == before[path]  # not rewritten
    rewritten = [*files["nov5"], *files["nov15"], *files["nov20_old"]]
    for path in rewritten:
        assert path not in after
        assert path.removesuffix(".parquet") + "-r.parquet" in after
    assert len(after) == len(untouched) + len(rewritten)

    # run again: nothing is due any more and nothing is touched
    assert expire_lake(lake, SETTINGS, NOW) == LakeExpired()
    assert snapshot(lake) == after


def test_no_retention_set_touches_nothing(lake: Lake) -> None:
    fill(lake)
    before = snapshot(lake)
    assert expire_lake(lake, Settings(), NOW) == LakeExpired()
    assert snapshot(lake) == before


def test_a_crash_before_the_old_file_is_deleted_leaves_the_blanked_copy_first(
    lake: Lake, monkeypatch
) -> None:
    """The rewritten copy is written, the deletion of the old file never happens: both
    files are there, yet every reader and compaction see each event once, blanked; the next
    run deletes the old file and writes nothing twice."""
    first = write_events(lake, [row("x1", at(18, 9), text="secret one")])
    write_events(lake, [row("x1", at(18, 9), text="second copy"), row("x2", at(18, 10))])

    class Crash(Exception):
        pass

    def crash(lake: Lake, path: str) -> None:
        raise Crash(path)

    monkeypatch.setattr(rewrite_module, "delete_old", crash)
    with pytest.raises(Crash):
        expire_lake(lake, SETTINGS, NOW)
    monkeypatch.undo()

    names = sorted(info.base_name for p in partitions(lake, EVENTS) for info in p.files)
    old = first[0].rpartition("/")[2]
    assert old in names and old.removesuffix(".parquet") + "-r.parquet" in names
    assert len(names) == 3  # the old file, its blanked copy, the second write
    events = by_id(lake)
    assert {k: v["text"] for k, v in events.items()} == {"x1": "", "x2": None}

    done = expire_lake(lake, SETTINGS, NOW)
    # the old file is rewritten again (the same copy, overwritten) and deleted; the second
    # write's copy of x1 is blanked too
    assert (done.text, done.files) == (2, 2)
    names = sorted(info.base_name for p in partitions(lake, EVENTS) for info in p.files)
    assert old not in names and len(names) == 2
    compacted = compact(lake)
    assert (compacted.rows_in, compacted.rows_out) == (3, 2)
    assert {k: v["text"] for k, v in by_id(lake).items()} == {"x1": "", "x2": None}


def test_privacy_expire_with_lake_expires_the_lake(tmp_path, lake: Lake) -> None:
    """`chatlens privacy expire --lake URL`: the store's settings applied to the lake."""
    db = tmp_path / "w.duckdb"
    with open_store(db) as store:
        for key in ("retention_text_days", "retention_attrs_days", "retention_events_days"):
            save_setting(store.con, key, getattr(SETTINGS, key))
    fill(lake)
    result = CliRunner().invoke(
        app,
        ["privacy", "expire", "--db", str(db), "--now", NOW.isoformat(), "--lake", lake.url],
    )
    assert result.exit_code == 0, result.output
    assert (
        "Lake: 4 message texts, 1 comments, 1 page URLs, 2 attrs blanked in 3 files rewritten; "
        "2 partitions of 3 events deleted." in " ".join(result.output.split())
    )
    assert by_id(lake)["c1"]["text"] == ""
