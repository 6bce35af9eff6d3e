"""Retries of acknowledged batches while the mover takes the journal into the store (issue
13, defect 2): several connections re-send what was just acknowledged, over and over, while
fresh batches keep the mover busy. Every id must be stored exactly once, every retry answered
as all duplicates, and the server must report retries that met their events mid-move (the
window is exercised, not just hoped for)."""

from __future__ import annotations

import ast
import re
import threading
import time

import pytest

from chatlens.store import open_store
from chatlens.store.sql import run
from tests.serverkit import LiveServer, numbered_chat, provision
from tests.waiting import wait_until

pytestmark = pytest.mark.server

SENDERS = 2
RETRIERS = 3
BATCH = 500
SECONDS = 6.0


def batch(sender: int, number: int) -> list[dict]:
    return numbered_chat(
        f"race-{sender}-{number}", BATCH, day="2026-11-03T09", channel="chat", text="retry me"
    )


def test_retries_during_the_journal_move_are_stored_once(tmp_path):
    store = tmp_path / "chatlens.duckdb"
    seats = provision(store, {"race": {"keys": {"in": "ingest"}}})
    server = LiveServer(store, refresh_seconds=0.5).start()
    acked: list[list[dict]] = []
    retry_answers: list[tuple[int, int]] = []
    failures: list[str] = []
    stop = threading.Event()

    def send(sender: int) -> None:
        with server.client(seats.keys["in"]) as http:
            number = 0
            while not stop.is_set():
                events = batch(sender, number)
                answer = http.post("/api/v1/events", json=events)
                if answer.status_code != 200 or answer.json() != {
                    "accepted": BATCH,
                    "duplicates": 0,
                }:
                    failures.append(f"send {answer.status_code} {answer.text[:200]}")
                    return
                acked.append(events)
                number += 1

    def retry() -> None:
        with server.client(seats.keys["in"]) as http:  # a connection of its own
            while not stop.is_set():
                if not acked:
                    time.sleep(0.001)  # nothing acknowledged yet: this retrier idles
                    continue
                answer = http.post("/api/v1/events", json=acked[-1])  # the latest acknowledged
                if answer.status_code != 200:
                    failures.append(f"retry {answer.status_code} {answer.text[:200]}")
                    return
                body = answer.json()
                retry_answers.append((body["accepted"], body["duplicates"]))

    threads = [threading.Thread(target=send, args=(n,)) for n in range(SENDERS)]
    threads += [threading.Thread(target=retry) for _ in range(RETRIERS)]
    for thread in threads:
        thread.start()
    # the scenario: senders and retriers race for SECONDS at least, and until enough went
    # through (a count, not a time: a loaded machine answers slower)
    started = time.monotonic()
    wait_until(
        lambda: (
            failures
            or (
                len(acked) >= 20
                and len(retry_answers) >= 50
                and time.monotonic() - started >= SECONDS
            )
        ),
        timeout=240,
        what="20 batches sent and 50 retried",
    )
    stop.set()
    for thread in threads:
        thread.join(timeout=60)
    server.stop()  # a clean stop: the writer logs the duplicates it turned away, by path

    assert not failures, failures[:3]
    sent = {event["event_id"] for events in acked for event in events}
    assert len(sent) == len(acked) * BATCH >= 20 * BATCH, "the senders should have got through"
    assert len(retry_answers) >= 50
    assert set(retry_answers) == {(0, BATCH)}, "every retry is all duplicates"
    with open_store(tmp_path / "chatlens.race.duckdb", read_only=True) as workspace:
        counts = dict(run(workspace.con, "SELECT event_id, count(*) FROM events GROUP BY 1"))
    assert counts.keys() == sent
    assert set(counts.values()) == {1}, "an event was stored twice"

    found = re.findall(r"ingest duplicates turned away: (\{.*\})", server.log.read_text())
    assert found, "the writer logs what it turned away when it closes"
    caught = ast.literal_eval(found[-1])
    assert caught["moving"] > 0, f"no retry met its events mid-move: {caught}"
    assert caught["refused_by_store"] == 0, "the writer let a second copy through"
    # every retried event was turned away by one of the writer's checks
    assert caught["moving"] + caught["pending"] + caught["stored"] == len(retry_answers) * BATCH
