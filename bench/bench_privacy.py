"""A person's rights on a simulated store: how long an access export and an erasure take, the
erasure step by step (journal, store, facts, lake, forget, rewrite), against the store's size.

Store: SimConfig(conversations=N, days=90, seed=11) imported with its facts; the customer is
the one with the most conversations. The erasure runs twice (the second finds nothing more:
its time is the fixed cost, mostly the store file's rewrite).

Usage: python bench/bench_privacy.py [--conversations 20000]
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from pathlib import Path

from chatlens import privacy
from chatlens.ingest import import_file
from chatlens.privacy import erasure
from chatlens.simulate import SimConfig, write_events
from chatlens.store import open_store
from chatlens.store.facts import refresh_facts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--conversations", type=int, default=20_000)
    args = parser.parse_args()
    print(f"python {platform.python_version()}, {os.cpu_count()} cores, load {os.getloadavg()}")
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        events = root / "sim.jsonl"
        write_events(SimConfig(conversations=args.conversations, days=90, seed=11), events)
        store = root / "chatlens.duckdb"
        with open_store(store) as db:
            import_file(db, events)
            refresh_facts(db)
            count, customer, theirs = db.con.execute(
                "SELECT (SELECT count(*) FROM events), customer_id, count(DISTINCT "
                "conversation_id) FROM events WHERE customer_id IS NOT NULL "
                "GROUP BY 2 ORDER BY 3 DESC, 2 LIMIT 1"
            ).fetchone()  # type: ignore[misc]
        size = store.stat().st_size / 1e6
        print(f"{args.conversations} conversations, {count} events, store {size:.1f} MB")
        print(f"customer {customer!r}: {theirs} conversations")

        started = time.perf_counter()
        with open_store(store) as db:
            held = privacy.answer_export(db, customer, "bench")
        print(f"export: {time.perf_counter() - started:.2f} s, {len(held['events'])} events")

        for run in ("first", "again"):
            steps: dict[str, float] = {}
            last = time.perf_counter()

            def clock(step: str, steps: dict[str, float] = steps) -> None:
                nonlocal last
                now = time.perf_counter()
                steps[step] = now - last
                last = now

            erasure.AFTER_STEP = clock
            started = last = time.perf_counter()
            done = privacy.erase(store, "customer", customer, "bench")
            total = time.perf_counter() - started
            erasure.AFTER_STEP = None
            split = ", ".join(f"{k} {v:.2f}" for k, v in steps.items())
            print(f"erase ({run}): {total:.2f} s [{split}] counts {done.counts}")


if __name__ == "__main__":
    main()
