"""The audit trail's cost: transcript reads per second through the Reader with the audit
trail recording each view (a SQLite app state file in WAL mode, as the server opens it) and
without (a recorder that keeps nothing), in the same run on the same conversations: one
reader at a time, and --threads readers at once (as the server's request threads read, with
the server's group commit, `AuditWriter`); and the cost of one record alone.

Data: a simulated month (SimConfig(conversations=N, days=30, seed=7)) imported into a fresh
store. Each round reads the same --reads transcripts (conversation ids drawn with a fixed
seed) as an admin; the cases take turns, --rounds times; each figure is its case's best round.

Usage: python bench/bench_audit.py [--conversations 2000] [--reads 500] [--rounds 3]
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chatlens.app import service
from chatlens.app.audit import AuditTrail, AuditWriter
from chatlens.app.db import open_app_db
from chatlens.ingest import import_file
from chatlens.metrics import Engine
from chatlens.reading import Reader
from chatlens.simulate import SimConfig, write_events
from chatlens.store import Store, open_store
from chatlens.store.facts import refresh_facts


@dataclass(frozen=True)
class Admin:
    workspace: str = "bench"
    role: str = "admin"
    agent_id: str | None = None
    team: str | None = None
    agent_access: str = "workspace"


class Workspace:
    """An engine per thread on its own cursor, reused across reads (as the server's pool)."""

    def __init__(self, store: Store):
        self.store = store
        self._local = threading.local()

    @contextmanager
    def engine(self) -> Iterator[Engine]:
        if not hasattr(self._local, "engine"):
            self._local.engine = Engine(Store(self.store.con.cursor(), self.store.path))
        yield self._local.engine


class KeepsNothing:
    """The read without the audit trail."""

    def record(self, action: str, **_: Any) -> None:
        return None


def best(seconds: list[float]) -> float:
    return min(seconds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conversations", type=int, default=2000)
    parser.add_argument("--reads", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=4)
    args = parser.parse_args()
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        events = root / "sim.jsonl"
        write_events(SimConfig(conversations=args.conversations, days=30, seed=7), events)
        store = open_store(root / "chatlens.duckdb")
        import_file(store, events)
        refresh_facts(store)
        ids = [
            r[0]
            for r in store.con.execute("SELECT conversation_id FROM conversation_facts").fetchall()
        ]
        picked = random.Random(7).choices(ids, k=args.reads)
        sessions = open_app_db(f"sqlite:///{root / 'chatlens.app.sqlite'}")
        with sessions() as db:
            service.create_workspace(db, "bench", root / "chatlens.duckdb")
        route = "GET /conversations/{conversation_id:anyid}"
        trail = AuditTrail(sessions, "bench", "user:1", route)
        writer = AuditWriter(sessions)
        grouped = AuditTrail(sessions, "bench", "user:1", route, writer)
        workspace = Workspace(store)
        threads = args.threads
        cases = {
            "without the audit trail": (Reader(workspace, Admin(), KeepsNothing()), 1),
            "with the audit trail": (Reader(workspace, Admin(), trail), 1),
            f"without, {threads} readers": (Reader(workspace, Admin(), KeepsNothing()), threads),
            f"with (group commit), {threads} readers": (
                Reader(workspace, Admin(), grouped),
                threads,
            ),
        }
        pool = ThreadPoolExecutor(max_workers=threads)
        for reader, _ in cases.values():  # warm: compiled SQL, file caches, each thread's engine
            list(pool.map(reader.transcript, picked[: threads * 2]))
        timings: dict[str, list[float]] = {name: [] for name in cases}
        records: list[float] = []
        for _ in range(args.rounds):
            for name, (reader, width) in cases.items():
                started = time.perf_counter()
                if width == 1:
                    for cid in picked:
                        reader.transcript(cid)
                else:
                    list(pool.map(reader.transcript, picked))
                timings[name].append(time.perf_counter() - started)
            started = time.perf_counter()
            for cid in picked:
                trail.record("transcript_view", conversation_id=cid)
            records.append(time.perf_counter() - started)
        print(f"{args.conversations:,} conversations, {args.reads:,} transcript reads a round, "
              f"best of {args.rounds} rounds")  # fmt: skip
        rates = {name: args.reads / best(t) for name, t in timings.items()}
        for name, rate in rates.items():
            print(f"  {name:<36} {rate:8.1f} transcripts/s  ({1000 / rate:6.2f} ms each)")
        ratio = rates["with the audit trail"] / rates["without the audit trail"]
        print(f"  with / without, one reader: {ratio:.2f}x")
        many = (
            rates[f"with (group commit), {threads} readers"] / rates[f"without, {threads} readers"]
        )
        print(f"  with / without, {threads} readers: {many:.2f}x")
        print(f"  one record alone (insert + commit): {best(records) / args.reads * 1e6:.0f} µs")
        pool.shutdown()
        writer.close()
        store.close()
        sessions.kw["bind"].dispose()


if __name__ == "__main__":
    main()
