"""The ingest journal and the writer's recovery, in process."""

from __future__ import annotations

import datetime as dt

from chatlens.events import parse_event, to_row
from chatlens.server.journal import Journal
from chatlens.server.runtime import Writer
from chatlens.store import Store
from chatlens.store.sql import run


def rows(*conversations: str) -> list[dict]:
    return [
        to_row(
            parse_event(
                {
                    "type": "conversation_started",
                    "ts": "2026-11-02T08:00:00+02:00",
                    "conversation_id": cid,
                    "attrs": {"plan": "pro"},
                }
            )
        )
        for cid in conversations
    ]


def mover(store: Store) -> Store:
    return Store(store.con.cursor(), store.path)


def test_a_journal_gives_back_what_was_written_minus_a_torn_tail(tmp_path):
    path = tmp_path / "w.journal"
    journal = Journal(path)
    written = rows("a", "b")
    journal.append(written)
    journal.close()
    with path.open("ab") as file:
        file.write(b'{"event_id": "torn-by-a-cra')
    reopened = Journal(path)
    replayed = reopened.replay()
    reopened.close()
    assert replayed == written
    assert replayed[0]["ts"] == dt.datetime(2026, 11, 2, 6, 0, tzinfo=dt.UTC)


def test_the_writer_replays_a_journal_left_by_a_crash(store, tmp_path):
    store.append(rows("moved-before-the-crash"))
    path = tmp_path / "w.journal"
    journal = Journal(path)
    journal.append(rows("moved-before-the-crash"))
    journal.rotate()  # a segment the mover had not finished
    journal.append(rows("only-in-the-journal"))
    journal.close()
    writer = Writer(store, mover(store), path)
    writer.close()
    stored = run(store.con, "SELECT conversation_id, count(*) FROM events GROUP BY 1 ORDER BY 1")
    assert stored == [("moved-before-the-crash", 1), ("only-in-the-journal", 1)]
    assert path.read_bytes() == b""
    assert list(tmp_path.glob("w.journal.*")) == []


def test_acknowledged_rows_reach_the_store_and_duplicates_are_counted(store, tmp_path):
    writer = Writer(store, mover(store), tmp_path / "w.journal")
    first = writer.submit(rows("x", "y")).result()
    again = writer.submit(rows("y", "z", "z")).result()
    writer.close()
    assert (first.accepted, first.duplicates) == (2, 0)
    assert (again.accepted, again.duplicates) == (1, 2)
    stored = run(store.con, "SELECT conversation_id FROM events ORDER BY 1")
    assert stored == [("x",), ("y",), ("z",)]


def test_seen_ids_know_stored_ids_and_merge_new_ones(store, monkeypatch):
    from chatlens.server import seen as seen_module

    stored = rows("s1", "s2")
    store.append(stored)
    ids = [r["event_id"] for r in stored]
    seen = seen_module.SeenIds(store)
    known, hashes = seen.known([ids[0], "h-new", ids[1]])
    assert known == {ids[0], ids[1]}
    assert len(set(hashes)) == 3
    monkeypatch.setattr(seen_module, "MERGE_AT", 1)
    fresh = rows("s3")
    _, new_hashes = seen.known([fresh[0]["event_id"]])
    seen.add(new_hashes)  # merged into the sorted array at once (MERGE_AT = 1)
    store.append(fresh)
    assert seen.known([fresh[0]["event_id"], "h-other"])[0] == {fresh[0]["event_id"]}
