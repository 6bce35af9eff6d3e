"""API sync interrupted and resumed: the cursor moves only after a page's events are stored,
so a sync stopped by a failing platform, or by a crash between storing and moving the
cursor, continues where it stopped and stores every event exactly once."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from chatlens.app.models import Connection, ConnectionSync
from chatlens.cli.sync import StoreWriter
from chatlens.connect.sync import PlatformError, Syncer, clients
from tests.connect import synckit
from tests.fakes.apis import Fault, IntercomFake, LiveChatFake, Served


def syncer(store: Path, writer: StoreWriter, submit: Any = None) -> tuple[Syncer, int]:
    factory = synckit.sessions(store)
    with factory() as db:
        conn_id = db.query(Connection).one().id
    return Syncer(factory, store.parent, submit or writer.submit, sleep=lambda s: None), conn_id


def ids_of(store: Path) -> list[str]:
    return synckit.stored(store)[1]


def test_a_platform_failing_midway_then_a_rerun_continues_there(tmp_path, monkeypatch):
    monkeypatch.setattr(clients, "PER_PAGE", 2)  # 6 conversations: 3 pages
    everything = synckit.export_ids(tmp_path, "intercom")
    store = tmp_path / "chatlens.duckdb"
    fake = IntercomFake()
    fake.faults.append(Fault("list", nth=2, status=503, times=100))  # page 2 never comes
    with Served(fake) as served:
        synckit.connect(store, "intercom", served.url)
        writer = StoreWriter()
        run, conn_id = syncer(store, writer)
        with pytest.raises(PlatformError, match="still failing after 6 retries"):
            run.run(conn_id)
        writer.close()
        first = ids_of(store)
        # page 1 (conversations 101 and 102, the least recently updated) is stored, whole
        assert {i.split(":")[1] for i in first} == {"101", "102"}
        assert first == [i for i in everything if i.split(":")[1] in ("101", "102")]
        with synckit.sessions(store)() as db:
            state = db.get(ConnectionSync, conn_id)
            assert state.page is not None and state.high_water is None
            assert "503" in state.last_error
        fake.faults.clear()
        seen = len(fake.requests)
        writer = StoreWriter()
        run, _ = syncer(store, writer)
        done = run.run(conn_id)
        writer.close()
    assert done.resumed and done.conversations == 4 and done.pages == 2
    resumed = [r for r in fake.requests[seen:] if r.kind == "list"]
    assert resumed[0].body["pagination"]["starting_after"] is not None  # not page 1 again
    assert done.events == len(everything) - len(first)
    assert ids_of(store) == everything
    assert synckit.stored(store)[0] == synckit.exported(tmp_path, "intercom")


class Crash(Exception):
    """The process dying between a conversation's events being stored and the cursor."""


def test_a_crash_after_storing_before_the_cursor_counts_nothing_twice(tmp_path, monkeypatch):
    monkeypatch.setattr(clients, "PER_PAGE", 2)  # 5 threads: 3 pages
    everything = synckit.export_ids(tmp_path, "livechat")
    store = tmp_path / "chatlens.duckdb"
    with Served(LiveChatFake()) as served:
        synckit.connect(store, "livechat", served.url)
        writer = StoreWriter()
        calls = []

        def dies_on_page_two(workspace: str, path: Path, rows: list[dict[str, Any]]) -> int:
            stored = writer.submit(workspace, path, rows)
            calls.append(stored)
            if len(calls) == 2:  # page 2 is in the store, its cursor not yet
                raise Crash
            return stored

        run, conn_id = syncer(store, writer, dies_on_page_two)
        with pytest.raises(Crash):
            run.run(conn_id)
        writer.close()
        before = ids_of(store)
        # pages 1 and 2: threads 01-04 (the oldest first)
        assert {i.split(":")[2] for i in before} == {f"QX1A0THR0{n}" for n in range(1, 5)}
        assert len(before) == sum(calls) and len(calls) == 2
        writer = StoreWriter()
        run, _ = syncer(store, writer)
        done = run.run(conn_id)
        writer.close()
    # page 2 pulled again: its threads store nothing the second time
    assert done.resumed and done.conversations == 3 and done.pages == 2
    assert done.events == len([i for i in everything if ":QX1A0THR05:" in i])
    assert sum(calls) + done.events == len(everything)
    assert ids_of(store) == everything
    assert synckit.stored(store)[0] == synckit.exported(tmp_path, "livechat")
