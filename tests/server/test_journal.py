"""The ingest journal and the writer's recovery, in process."""

from __future__ import annotations

import datetime as dt
import threading

import orjson

from chatlens.events import parse_event, to_row
from chatlens.server.runtime.journal import Journal
from chatlens.server.runtime.seen import id_hashes
from chatlens.server.runtime.workspace import Writer
from chatlens.store import Store
from chatlens.store.sql import run
from tests.waiting import wait_until


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


def test_a_group_torn_by_a_crash_is_dropped_whole(tmp_path):
    """SIGKILL mid-write leaves part of a group's bytes in the file; none of its rows come
    back (before, one row per line kept 163 of an unanswered 200-event batch)."""
    path = tmp_path / "w.journal"
    journal = Journal(path)
    kept = rows("a")
    journal.append(kept)
    journal.close()
    whole = orjson.dumps(rows("b", "c", "d")) + b"\n"
    with path.open("ab") as file:
        file.write(whole[: len(whole) * 2 // 3])
    reopened = Journal(path)
    replayed = reopened.replay()
    reopened.close()
    assert [row["conversation_id"] for row in replayed] == ["a"]


def test_a_journal_of_the_previous_format_one_row_per_line_replays(tmp_path):
    path = tmp_path / "w.journal"
    path.write_bytes(b"".join(orjson.dumps(row) + b"\n" for row in rows("old-1", "old-2")))
    journal = Journal(path)
    replayed = journal.replay()
    journal.close()
    assert [row["conversation_id"] for row in replayed] == ["old-1", "old-2"]


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


def test_seen_ids_hit_stored_ids_and_merge_new_ones(store, monkeypatch):
    from chatlens.server.runtime import seen as seen_module

    stored = rows("s1", "s2")
    store.append(stored)
    ids = [r["event_id"] for r in stored]
    seen = seen_module.SeenIds(store)
    seen.wait()
    hashes = seen_module.id_hashes([ids[0], "h-new", ids[1]])
    # the hashes Python computes are the ones DuckDB computed at load
    assert seen.hits(hashes) == [True, False, True]
    monkeypatch.setattr(seen_module, "MERGE_AT", 2)
    seen.add(seen_module.id_hashes(["h-new"]))
    assert seen.hits(seen_module.id_hashes(["h-new", "h-other"])) == [True, False]
    seen.add(seen_module.id_hashes(["h-third", "h-fourth"]))  # merged into the sorted array
    assert len(seen._sorted) == 5 and list(seen._sorted) == sorted(seen._sorted)
    assert seen.hits(seen_module.id_hashes(["h-third", "h-new", "h-other", ids[1]])) == [
        True,
        True,
        False,
        True,
    ]


class GatedMover(Store):
    """The mover's cursor, held inside its insert until the test lets it go on."""

    def __init__(self, store: Store):
        super().__init__(store.con.cursor(), store.path)
        self.inside = threading.Event()
        self.go_on = threading.Event()

    def insert(self, rows, *, check=True):
        self.inside.set()
        assert self.go_on.wait(10)
        return super().insert(rows, check=check)


def test_a_retry_racing_the_move_commit_is_a_duplicate(store, tmp_path):
    """The interleaving of issue 13 defect 2: the retry's store check runs while the mover
    has not committed, the mover then commits and lets go of the moving ids, and only then
    does the retry look for the ids in flight. It must still find them once."""
    gated = GatedMover(store)
    writer = Writer(store, gated, tmp_path / "w.journal")
    batch = rows("r1", "r2", "r3")
    first = writer.submit(batch).result()
    assert gated.inside.wait(10)  # the mover holds the batch, not yet committed
    real_known_ids = writer.store.known_ids
    checked: list[list[str]] = []

    def known_ids_then_commit(ids):
        answer = real_known_ids(ids)
        checked.append(ids)
        gated.go_on.set()  # the mover commits and clears its moving ids now
        wait_until(lambda: not writer._moving_ids, interval=0.01, what="the moving ids cleared")
        return answer

    writer.store.known_ids = known_ids_then_commit  # type: ignore[method-assign]
    writer._seen.add(id_hashes([r["event_id"] for r in batch]))  # force the store check
    again = writer.submit(batch).result()
    writer.close()
    assert (first.accepted, first.duplicates) == (3, 0)
    assert (again.accepted, again.duplicates) == (0, 3)
    assert writer.caught.moving == 3 and writer.caught.refused_by_store == 0
    stored = run(store.con, "SELECT conversation_id, count(*) FROM events GROUP BY 1 ORDER BY 1")
    assert stored == [("r1", 1), ("r2", 1), ("r3", 1)]


def test_the_store_refuses_a_second_copy_of_an_id(store):
    first = rows("c1", "c2")
    assert store.insert(first) == 0
    copies = rows("c2", "c3")  # c2 has the same content, so the same derived event_id
    assert copies[0]["event_id"] == first[1]["event_id"]
    assert store.insert(copies) == 1
    assert store.append(rows("c3", "c4", "c4")).__dict__ == {"inserted": 1, "duplicates": 2}
    stored = run(store.con, "SELECT conversation_id, count(*) FROM events GROUP BY 1 ORDER BY 1")
    assert stored == [("c1", 1), ("c2", 1), ("c3", 1), ("c4", 1)]
