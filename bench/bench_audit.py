"""The audit trail's cost: transcript reads per second through the Reader with the audit
trail recording each view (a SQLite app state file in WAL mode, as the server opens it) and
without (a recorder that keeps nothing), in the same run on the same conversations; and the
cost of one record alone.

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
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chatlens.app import service
from chatlens.app.audit import AuditTrail
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
    """One engine reused across reads, as the server's pool reuses them."""

    def __init__(self, store: Store):
        self._engine = Engine(store)

    @contextmanager
    def engine(self) -> Iterator[Engine]:
        yield self._engine


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
        trail = AuditTrail(
            sessions, "bench", "user:1", "GET /conversations/{conversation_id:anyid}"
        )
        workspace = Workspace(store)
        cases = {
            "without the audit trail": Reader(workspace, Admin(), KeepsNothing()),
            "with the audit trail": Reader(workspace, Admin(), trail),
        }
        for reader in cases.values():  # warm: compiled SQL, file caches
            reader.transcript(picked[0])
        timings: dict[str, list[float]] = {name: [] for name in cases}
        records: list[float] = []
        for _ in range(args.rounds):
            for name, reader in cases.items():
                started = time.perf_counter()
                for cid in picked:
                    reader.transcript(cid)
                timings[name].append(time.perf_counter() - started)
            started = time.perf_counter()
            for cid in picked:
                trail.record("transcript_view", conversation_id=cid)
            records.append(time.perf_counter() - started)
        print(f"{args.conversations:,} conversations, {args.reads:,} transcript reads a round, "
              f"best of {args.rounds} rounds")  # fmt: skip
        rates = {name: args.reads / best(t) for name, t in timings.items()}
        for name, rate in rates.items():
            print(f"  {name:<26} {rate:8.1f} transcripts/s  ({1000 / rate:6.2f} ms each)")
        ratio = rates["with the audit trail"] / rates["without the audit trail"]
        print(f"  with / without: {ratio:.2f}x")
        print(f"  one record alone (insert + commit): {best(records) / args.reads * 1e6:.0f} µs")
        store.close()
        sessions.kw["bind"].dispose()


if __name__ == "__main__":
    main()
