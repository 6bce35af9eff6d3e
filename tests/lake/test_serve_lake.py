"""`chatlens serve --lake`: the journal mover appends to the lake; two ingest servers share
one lake, one is SIGKILLed mid-stream and its clients retry against the other: after
compaction every acknowledged event is in the lake exactly once."""

from __future__ import annotations

import threading
from collections import Counter
from pathlib import Path

import httpx
import pytest

from chatlens.lake.compact import compact, partitions, read_events, read_file
from chatlens.lake.info import lake_info
from chatlens.lake.layout import EVENTS, Lake
from chatlens.store import open_store
from chatlens.store.sql import run
from tests.lake.s3 import MotoS3
from tests.serverkit import LiveServer, numbered_chat, provision
from tests.waiting import wait_until

pytestmark = pytest.mark.server

BATCH = 100


def stored_ids(store: Path) -> list[str]:
    with open_store(store, read_only=True) as opened:
        return [row[0] for row in run(opened.con, "SELECT event_id FROM events ORDER BY 1")]


def raw_counts(lake: Lake) -> Counter[str]:
    """How many times each event_id is in the lake's files (no dedup)."""
    counts: Counter[str] = Counter()
    for part in partitions(lake, EVENTS):
        for info in part.files:
            counts.update(read_file(lake, info, ["event_id"]).column("event_id").to_pylist())
    return counts


def test_the_mover_writes_the_lake_and_with_store_too_the_store(tmp_path: Path) -> None:
    url = str(tmp_path / "lake")
    both = tmp_path / "both" / "chatlens.duckdb"
    alone = tmp_path / "alone" / "chatlens.duckdb"
    both.parent.mkdir()
    alone.parent.mkdir()
    keys = {
        "both": provision(both, {"default": {"keys": {"in": "ingest"}}}).keys["in"],
        "alone": provision(alone, {"default": {"keys": {"in": "ingest"}}}).keys["in"],
    }
    servers = {
        "both": LiveServer(both, args=("--lake", url, "--store-too")).start(),
        "alone": LiveServer(alone, args=("--lake", url)).start(),
    }
    try:
        for name, server in servers.items():
            with server.client(keys[name]) as http:
                events = numbered_chat(name, 3, day="2026-11-02T08", channel="web", text="hi")
                answer = http.post("/api/v1/events", json=events)
                assert answer.json() == {"accepted": 3, "duplicates": 0}
        lake = Lake.open(url)

        def moved() -> list[str]:
            found = read_events(lake).column("event_id").to_pylist()
            return sorted(found) if len(found) == 6 else []

        assert wait_until(moved, what="both batches in the lake") == [
            "alone-0",
            "alone-1",
            "alone-2",
            "both-0",
            "both-1",
            "both-2",
        ]
    finally:
        for server in servers.values():
            server.stop()
    assert stored_ids(both) == ["both-0", "both-1", "both-2"]
    assert stored_ids(alone) == []  # --lake alone: the lake instead of the store


class Client(threading.Thread):
    """Sends numbered batches to its server; when the server stops answering it sends the
    unanswered batch, and the rest, to the other server (its fallback)."""

    def __init__(self, name: str, first: tuple[str, str], other: tuple[str, str]):
        super().__init__(daemon=True)
        self.name, self.targets = name, [first, other]
        self.stop = threading.Event()
        self.acked: list[list[dict]] = []
        self.switched = False

    def run(self) -> None:
        number = 0
        while not self.stop.is_set():
            url, key = self.targets[self.switched]
            events = numbered_chat(
                f"{self.name}-{number}", BATCH, day="2026-11-02T08", channel="web", text="x"
            )
            try:
                answer = httpx.post(
                    url + "/api/v1/events",
                    json=events,
                    headers={"Authorization": f"Bearer {key}"},
                    timeout=10,
                )
            except httpx.TransportError:
                self.switched = True  # retry the same batch against the other server
                continue
            if answer.status_code == 200:
                self.acked.append(events)
                number += 1


def test_two_servers_one_killed_every_acknowledged_event_once(moto: MotoS3, tmp_path: Path) -> None:
    url = moto.bucket()
    stores = {name: tmp_path / name / "chatlens.duckdb" for name in ("a", "b")}
    keys = {}
    for name, store in stores.items():
        store.parent.mkdir()
        keys[name] = provision(store, {"default": {"keys": {"in": "ingest"}}}).keys["in"]
    a = LiveServer(stores["a"], args=("--lake", url)).start()
    b = LiveServer(stores["b"], args=("--lake", url)).start()
    to_a, to_b = (a.url, keys["a"]), (b.url, keys["b"])
    clients = [Client("ca1", to_a, to_b), Client("ca2", to_a, to_b), Client("cb", to_b, to_a)]
    try:
        for client in clients:
            client.start()
        wait_until(lambda: all(len(c.acked) >= 5 for c in clients), what="traffic on both")
        a.kill()  # mid-stream: its clients get no answer and turn to b
        wait_until(
            lambda: all(c.switched and len(c.acked) >= 10 for c in clients[:2]),
            what="a's clients carried on against b",
        )
        # a retry of batches a acknowledged, sent to b: second copies across servers
        with b.client(keys["b"]) as http:
            for events in clients[0].acked[:3]:
                assert http.post("/api/v1/events", json=events).status_code == 200
    finally:
        for client in clients:
            client.stop.set()
            client.join(timeout=30)
        b.stop()
    # a restarts: its journal (acknowledged, maybe not yet in the lake) goes to the lake
    # before the server answers anything
    a.start()
    a.stop()
    acked = Counter(e["event_id"] for c in clients for batch in c.acked for e in batch)
    lake = Lake.open(url)
    before = lake_info(lake)
    assert before.duplicates >= 3 * BATCH  # at least the three batches sent again
    counts = raw_counts(lake)
    assert set(acked) <= set(counts), f"{len(set(acked) - set(counts))} acknowledged lost"

    done = compact(lake)
    assert done.duplicates == before.duplicates
    counts = raw_counts(lake)
    assert set(acked) <= set(counts)
    assert max(counts.values()) == 1, "an event is in the lake twice after compaction"
    # nothing but what clients sent: every id names a batch some client started
    sent = {f"{c.name}-{n}" for c in clients for n in range(len(c.acked) + 1)}
    assert {event_id.rsplit("-", 1)[0] for event_id in counts} <= sent
    assert lake_info(lake).duplicates == 0
    assert read_events(lake).num_rows == len(counts) >= len(acked)
