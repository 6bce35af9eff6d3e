"""Nothing acknowledged is lost, nothing counts twice: clients ingest in a loop, and others
re-send batches already acknowledged, while the server is killed with SIGKILL and restarted,
several times."""

from __future__ import annotations

import random
import threading
import time

import httpx
import pytest

from chatlens.store import open_store
from chatlens.store.sql import run
from tests.serverkit import LiveServer, numbered_chat, provision
from tests.waiting import wait_until

pytestmark = pytest.mark.server

CLIENTS = 3
RETRIERS = 2
KILLS = 4
BATCH = 200


def batch(client: int, number: int) -> list[dict]:
    """Events with explicit ids, so the test knows exactly which were acknowledged."""
    return numbered_chat(
        f"crash-{client}-{number}", BATCH, day="2026-11-02T08", channel="web", text="message"
    )


class Client(threading.Thread):
    """Sends batches in a loop; a batch that got no answer is sent again (clients retry)."""

    def __init__(self, server: LiveServer, key: str, number: int, stop: threading.Event):
        super().__init__(daemon=True)
        self.server, self.key, self.number, self.stop = server, key, number, stop
        self.acked: set[str] = set()
        self.acked_batches: list[list[dict]] = []
        self.answers: list[tuple[int, int]] = []

    def run(self) -> None:
        http = httpx.Client(
            base_url=self.server.url, headers={"Authorization": f"Bearer {self.key}"}, timeout=10
        )
        sent = 0
        while not self.stop.is_set():
            events = batch(self.number, sent)
            try:
                answer = http.post("/api/v1/events", json=events)
            except httpx.TransportError:
                time.sleep(0.05)  # the server is down: retry the same batch
                continue
            if answer.status_code == 200:
                body = answer.json()
                self.answers.append((body["accepted"], body["duplicates"]))
                self.acked.update(e["event_id"] for e in events)
                self.acked_batches.append(events)
                sent += 1
        http.close()


class Retrier(threading.Thread):
    """Re-sends the batches the clients got acknowledged last, over and over (retries in
    flight when the server dies, and right after it comes back)."""

    def __init__(self, server: LiveServer, key: str, clients: list[Client], stop: threading.Event):
        super().__init__(daemon=True)
        self.server, self.key, self.clients, self.stop = server, key, clients, stop
        self.answers: list[tuple[int, int]] = []

    def run(self) -> None:
        http = httpx.Client(
            base_url=self.server.url, headers={"Authorization": f"Bearer {self.key}"}, timeout=10
        )
        turn = 0
        while not self.stop.is_set():
            turn += 1
            done = self.clients[turn % len(self.clients)].acked_batches
            if not done:
                time.sleep(0.01)  # nothing acknowledged yet: this retrier idles (the scenario)
                continue
            try:
                answer = http.post("/api/v1/events", json=done[-1])
            except httpx.TransportError:
                time.sleep(0.05)  # the server is down: a client's back-off (the scenario)
                continue
            if answer.status_code == 200:
                body = answer.json()
                self.answers.append((body["accepted"], body["duplicates"]))
        http.close()


def wait_acked(clients: list[Client], more: int) -> None:
    """Until every client had `more` batches acknowledged from now on."""
    floor = [len(c.acked_batches) + more for c in clients]
    wait_until(
        lambda: all(len(c.acked_batches) >= n for c, n in zip(clients, floor, strict=True)),
        timeout=120,
        what=f"{more} more acknowledged batches per client",
    )


def test_acknowledged_events_survive_sigkill_exactly_once(tmp_path):
    store = tmp_path / "chatlens.duckdb"
    seats = provision(store, {"crash": {"keys": {"in": "ingest"}}})
    server = LiveServer(store, refresh_seconds=0.3).start()
    stop = threading.Event()
    clients = [Client(server, seats.keys["in"], n, stop) for n in range(CLIENTS)]
    retriers = [Retrier(server, seats.keys["in"], clients, stop) for _ in range(RETRIERS)]
    for thread in [*clients, *retriers]:
        thread.start()
    chance = random.Random(4)
    try:
        # traffic runs until each client had a random number of batches acknowledged since
        # the server came up (a count, not a time: a loaded machine answers slower), then a
        # random moment more, and the server dies mid-flight, stays down a moment (the pauses
        # ARE the scenario), comes back; then a last run
        for _ in range(KILLS):
            wait_acked(clients, chance.randint(1, 3))
            time.sleep(chance.uniform(0.0, 0.5))
            server.kill()
            time.sleep(chance.uniform(0.0, 0.3))
            server.start()
        wait_acked(clients, 2)
        wait_until(
            lambda: sum(len(r.answers) for r in retriers) >= 20, timeout=120, what="20 retries"
        )
    finally:
        stop.set()
        for thread in [*clients, *retriers]:
            thread.join(timeout=30)
        server.stop()
    acked = set().union(*(c.acked for c in clients))
    answers = [a for c in clients for a in c.answers]
    assert len(acked) >= CLIENTS * BATCH * (KILLS + 2), "the clients should have got through"
    with open_store(tmp_path / "chatlens.crash.duckdb", read_only=True) as workspace:
        stored = run(workspace.con, "SELECT event_id, count(*) FROM events GROUP BY event_id")
    counts = dict(stored)
    assert acked <= counts.keys(), f"{len(acked - counts.keys())} acknowledged events lost"
    assert max(counts.values()) == 1, "an event was stored twice"
    # every acknowledged batch was accepted whole, or (a retry after a crash that hit
    # between commit and answer) reported whole as duplicates
    assert all((a, d) in ((BATCH, 0), (0, BATCH)) for a, d in answers), set(answers)
    # a batch once acknowledged is all duplicates whenever it comes again, crash or not
    retried = [a for r in retriers for a in r.answers]
    assert len(retried) >= 20, "the retries should have got through"
    assert set(retried) == {(0, BATCH)}, set(retried)
