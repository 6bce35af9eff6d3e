"""The catalogue over an event lake on Spark: local[2] in this process, a standalone cluster
(a master and two one-core workers, this process the driver) and Spark Connect (a Connect
server whose driver runs on that cluster), against DuckDB on the same events, same run.

For each size: simulate N conversations over 28 days, import them into DuckDB, write them
to a lake as a lake writer would (tests/sparkcluster.py write_lake), then per engine time
(1) `load`: reading the lake (each event once, arrival order), the stints and the facts,
checkpointed; (2) `catalogue`: every metric of the catalogue over the 28 days, by day and in
total (two queries). The cluster and the Connect server are the test fixtures' own
(tests/sparkcluster.py), started once for the whole run; their start is not timed.

Usage: python bench/bench_spark_cluster.py [--conversations 300 20000]
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # tests/sparkcluster.py starts the cluster

from tests.sparkcluster import ConnectServer, SparkCluster, write_lake  # noqa: E402

from chatlens.ingest import import_file  # noqa: E402
from chatlens.metrics import METRICS, Engine, Query  # noqa: E402
from chatlens.simulate import SimConfig, write_events  # noqa: E402
from chatlens.store import open_store  # noqa: E402
from chatlens.store.facts import refresh_facts  # noqa: E402
from chatlens.store.settings import load_settings  # noqa: E402

END = dt.date(2026, 11, 1)
DAYS = 28
PERIOD = ((END - dt.timedelta(days=DAYS)).isoformat(), (END - dt.timedelta(days=1)).isoformat())


def _queries() -> list[Query]:
    return [
        Query(metrics=tuple(METRICS), start=PERIOD[0], end=PERIOD[1], grain=grain)
        for grain in (None, "day")
    ]


def _timed(work: Callable[[], Any]) -> tuple[float, Any]:
    began = time.perf_counter()
    value = work()
    return time.perf_counter() - began, value


def _prepare(conversations: int, tmp: Path) -> tuple[Any, str, int]:
    cfg = SimConfig(conversations=conversations, days=DAYS, seed=7, end=END)
    write_events(cfg, tmp / "events.jsonl")
    store = open_store(tmp / "bench.duckdb")
    import_file(store, tmp / "events.jsonl")
    refresh_facts(store)
    lake = str(tmp / "lake")
    write_lake(store, lake, batch_rows=5000)
    [[events]] = store.con.execute("SELECT count(*) FROM events").fetchall()
    return store, lake, int(events)


def _agree(got: Any, want: Any) -> bool:
    """The same figures (floats within rounding: sums may add in another order)."""
    if isinstance(got, list) and isinstance(want, list):
        return len(got) == len(want) and all(_agree(g, w) for g, w in zip(got, want, strict=True))
    if isinstance(got, dict) and isinstance(want, dict):
        return got.keys() == want.keys() and all(_agree(got[k], want[k]) for k in got)
    if isinstance(got, float) and isinstance(want, float):
        return math.isclose(got, want, rel_tol=1e-9, abs_tol=1e-9)
    return bool(got == want)


def _on_spark(session: Any, lake: str, settings: Any) -> tuple[float, float, list[Any]]:
    from chatlens.store.spark import open_spark_lake

    load, backend = _timed(lambda: open_spark_lake(lake, settings, session))
    engine = Engine.on(backend, settings)
    took, rows = _timed(lambda: [engine.run(q).rows for q in _queries()])
    return load, took, rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conversations", type=int, nargs="+", default=[300, 20000])
    args = parser.parse_args()
    from chatlens.store.spark import spark_session

    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        data = {}
        for n in args.conversations:
            (tmp / str(n)).mkdir()
            data[n] = _prepare(n, tmp / str(n))
        results: dict[tuple[str, int], tuple[float, float]] = {}
        figures: dict[int, Any] = {}
        for n, (store, _, _) in data.items():
            took, rows = _timed(lambda store=store: [Engine(store).run(q).rows for q in _queries()])
            results[("duckdb", n)] = (0.0, took)
            figures[n] = rows

        def run(name: str, session: Any) -> None:
            for n, (store, lake, _) in data.items():
                load, took, rows = _on_spark(session, lake, load_settings(store.con))
                results[(name, n)] = (load, took)
                same = _agree(rows, figures[n])
                print(
                    f"{name:>8} {n:>7,} conversations: load {load:6.1f} s, "
                    f"catalogue {took:6.1f} s (figures equal DuckDB's: {same})",
                    flush=True,
                )

        session = spark_session()
        run("local[2]", session)
        session.stop()
        (tmp / "cluster").mkdir()
        cluster = SparkCluster(tmp / "cluster")
        cluster.start()
        try:
            session = spark_session(master=cluster.url)
            run("cluster", session)
            session.stop()
            (tmp / "connect").mkdir()
            server = ConnectServer(tmp / "connect", cluster.url).start()
            try:
                session = spark_session(remote=server.url)
                run("connect", session)
                session.stop()
            finally:
                server.stop()
        finally:
            cluster.stop()
        print()
        print(
            "| engine | "
            + " | ".join(
                f"{n:,} conversations ({data[n][2]:,} events): load + catalogue" for n in data
            )
            + " |"
        )
        print("|---|" + "---|" * len(data))
        for name in ("duckdb", "local[2]", "cluster", "connect"):
            cells = []
            for n in data:
                load, took = results[(name, n)]
                cells.append(f"{took:.1f} s" if name == "duckdb" else f"{load:.1f} + {took:.1f} s")
            print(f"| {name} | " + " | ".join(cells) + " |")
        for store, _, _ in data.values():
            store.close()


if __name__ == "__main__":
    main()
