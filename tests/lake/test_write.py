"""write_events: one file per UTC day touched, rows in order, never a partial file."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from chatlens.errors import InputError
from chatlens.lake.layout import EVENT_SCHEMA, Lake
from chatlens.lake.write import write_events


def row(event_id: str, ts: dt.datetime, conversation: str = "c1") -> dict:
    return {"event_id": event_id, "type": "message", "ts": ts, "conversation_id": conversation}


def at(day: int, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(2026, 11, day, hour, minute, tzinfo=dt.UTC)


def test_rows_are_split_by_the_utc_day_of_ts_in_their_order(tmp_path: Path) -> None:
    lake = Lake.open(str(tmp_path / "lake"))
    # 23:30 at UTC-5 on the 2nd is 04:30 UTC on the 3rd: the UTC day decides
    late_evening = dt.datetime(2026, 11, 2, 23, 30, tzinfo=dt.timezone(dt.timedelta(hours=-5)))
    rows = [
        row("a", at(2, 10)),
        row("b", at(3, 1)),
        row("c", at(2, 9)),
        row("d", late_evening),
        row("e", at(2, 23, 59)),
    ]
    paths = write_events(lake, rows)
    assert [Path(p).parent.name for p in paths] == ["date=2026-11-02", "date=2026-11-03"]
    assert all(Path(p).name.startswith("part-") for p in paths)
    assert pq.read_table(paths[0]).column("event_id").to_pylist() == ["a", "c", "e"]
    assert pq.read_table(paths[1]).column("event_id").to_pylist() == ["b", "d"]
    assert pq.read_table(paths[0]).schema.names == EVENT_SCHEMA.names
    # a second call adds new files, never rewrites
    again = write_events(lake, [row("f", at(2, 12))])
    assert again[0] not in paths
    assert len(os.listdir(tmp_path / "lake/events/date=2026-11-02")) == 2
    assert write_events(lake, []) == []


def test_an_event_without_ts_is_refused(tmp_path: Path) -> None:
    lake = Lake.open(str(tmp_path / "lake"))
    with pytest.raises(InputError, match="ts is required"):
        write_events(lake, [row("a", at(2, 10)), {"event_id": "b", "type": "message"}])
    assert not (tmp_path / "lake/events").exists()


def test_a_crash_before_the_rename_leaves_no_visible_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lake = Lake.open(str(tmp_path / "lake"))
    write_events(lake, [row("a", at(2, 10))])

    def crash(src: str, dst: str) -> None:
        raise KeyboardInterrupt("killed between write and rename")

    monkeypatch.setattr(os, "rename", crash)
    with pytest.raises(KeyboardInterrupt):
        write_events(lake, [row("b", at(2, 11))])
    monkeypatch.undo()
    folder = tmp_path / "lake/events/date=2026-11-02"
    names = os.listdir(folder)
    assert len(names) == 1 and names[0].startswith("part-")
