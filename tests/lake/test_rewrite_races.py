"""Retention and an erasure running while a compaction merges the same day (docs/lake.md,
"Compaction"): the file a rewrite needs is merged away under it, or the merged file carries
rows read before the rewrite. Nothing erased comes back and nothing fails."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pyarrow.fs as pafs
import pytest

import chatlens.privacy.outside as outside
from chatlens.lake import retention
from chatlens.lake.compact import first_copies, partitions, read_events, read_file
from chatlens.lake.layout import EVENTS, Lake
from chatlens.lake.retention import expire_lake
from chatlens.lake.write import write_events, write_file
from chatlens.privacy.scrub import Target
from chatlens.store.settings import Settings

DAY = dt.date(2026, 11, 2)


def msg(event_id: str, customer: str, text: str, minute: int) -> dict[str, Any]:
    return {
        "event_id": event_id,
        "type": "message",
        "ts": dt.datetime.combine(DAY, dt.time(9, minute), dt.UTC),
        "conversation_id": f"c-{customer}",
        "customer_id": customer,
        "sender": "customer",
        "text": text,
    }


def two_files(lake: Lake) -> tuple[str, str]:
    """Day 2 in two files: Aino's first message, then Bo's and Aino's second."""
    [first] = write_events(lake, [msg("e1", "aino", "I am Aino", 0)])
    [second] = write_events(
        lake, [msg("e2", "bo", "I am Bo", 1), msg("e3", "aino", "aino@example.com", 2)]
    )
    return first, second


def merged_meanwhile(lake: Lake, paths: tuple[str, str]) -> Any:
    """What a compaction that read both files before the rewrite does once the first file
    is rewritten: writes its merged file (the old rows) and deletes the inputs."""
    merged = first_copies([read_file(lake, partitions(lake, EVENTS)[0].files[i]) for i in (0, 1)])

    def finish() -> None:
        write_file(lake, paths[0].rpartition("/")[0], merged)
        for path in paths:
            if lake.fs.get_file_info(path).type.name != "NotFound":
                lake.fs.delete_file(path)

    return finish


def test_an_erasure_scrubs_the_file_a_compaction_merged_under_it(
    lake: Lake, monkeypatch: pytest.MonkeyPatch
) -> None:
    paths = two_files(lake)
    finish = merged_meanwhile(lake, paths)
    rewrite = outside._rewrite
    calls: list[str] = []

    def racing(lake_: Lake, path: str, *args: Any) -> int:
        calls.append(path.rpartition("/")[2])
        changed = rewrite(lake_, path, *args)
        if len(calls) == 1:
            finish()  # the compaction ends right after the erasure's first rewrite
        return changed

    monkeypatch.setattr(outside, "_rewrite", racing)
    target = Target("customer", "aino", "tok-aino", b"k" * 32, frozenset({"c-aino"}))
    changed = outside.erase_lake(lake.url, target, Settings(), job=7)

    # pass 1: the first file (e1: 1 row), the second gone; pass 2, the new files: the first
    # file's erased copy (nothing to change) and the merged file (e1 and e3: 2 rows); pass 3:
    # the merged file's erased copy, nothing to change, nothing gone: the end
    assert changed == 3
    assert len(calls) == 5
    events = {r["event_id"]: r for r in read_events(lake).to_pylist()}
    assert {k: (r["customer_id"], r["text"]) for k, r in events.items()} == {
        "e1": ("tok-aino", ""),
        "e2": ("bo", "I am Bo"),
        "e3": ("tok-aino", ""),
    }
    files = partitions(lake, EVENTS)[0].files
    texts = {t for f in files for t in read_file(lake, f).column("text").to_pylist()}
    assert texts == {"", "I am Bo"}  # no file of the lake holds Aino's words any more


def test_retention_skips_a_file_a_compaction_merged_away(
    lake: Lake, monkeypatch: pytest.MonkeyPatch
) -> None:
    paths = two_files(lake)
    finish = merged_meanwhile(lake, paths)
    finish()  # listed by retention, gone before it is read: a new listing would see it
    assert len(partitions(lake, EVENTS)[0].files) == 1
    now = dt.datetime.combine(DAY, dt.time(), dt.UTC) + dt.timedelta(days=40)
    settings = Settings(retention_text_days=30)
    # a run whose listing still holds the two old files finds both gone and fails nothing
    stale = partitions(lake, EVENTS)
    stale[0].files = [pafs.FileInfo(path) for path in paths]
    with monkeypatch.context() as patched:
        patched.setattr(retention, "partitions", lambda *args, **kwargs: stale)
        assert expire_lake(lake, settings, now).total() == 0
    done = expire_lake(lake, settings, now)  # the next run expires the merged file
    assert (done.text, done.files) == (3, 1)
    assert {r["text"] for r in read_events(lake).to_pylist()} == {""}
