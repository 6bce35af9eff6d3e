"""Agent performance report benchmark: what the agent, team and teams pages query
(chatlens.reports.agent_report.REPORT, docs/server.md), on a simulated store
(bench_store.py; 200,000 conversations over 365 days and 100 agents by default).

For 12 months by week it times, each cold (first run: ibis compiling, no result cached) and
warm (median of 3 repeats with the result cache cleared, compiled SQL kept):
- one agent's report: the period's totals and the weekly series;
- one team's report: totals, weekly series and its agents ranked (Wilson bounds);
- team against team: totals per team (ranked) and the weekly series per team.

Usage: python bench/bench_agent_report.py [--conversations 200000] [--agents 100]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_store import build_store
from chatlens.metrics import Engine, Query
from chatlens.metrics.cache import Caches
from chatlens.reports.agent_report import DEFAULT_RANK, REPORT
from chatlens.store import open_store
from chatlens.store.sql import run

CACHES = Caches()
"""The engine's compiled SQL and results (emptied between timed runs)."""
RESULTS = CACHES.results
START, END = "2025-11-23", "2026-11-22"  # bench_store.END, as bench_kpi.py


def timed(work: Callable[[], object]) -> tuple[float, float]:
    """(cold, warm) seconds: the first run, then the median of 3 without cached results."""
    RESULTS.clear()
    started = time.perf_counter()
    work()
    cold = time.perf_counter() - started
    warm = []
    for _ in range(3):
        RESULTS.clear()
        started = time.perf_counter()
        work()
        warm.append(time.perf_counter() - started)
    return cold, statistics.median(warm)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--conversations", type=int, default=200_000)
    parser.add_argument("--agents", type=int, default=100)
    args = parser.parse_args()
    path = build_store(args.conversations, agents=args.agents)
    ranked = (*REPORT, DEFAULT_RANK)
    with open_store(path, read_only=True) as store:
        engine = Engine(store, caches=CACHES)
        agent, team = run(
            store.con, "SELECT agent_id, team FROM agent_stints WHERE team IS NOT NULL LIMIT 1"
        )[0]
        teams = run(store.con, "SELECT count(DISTINCT team) FROM conversation_facts")[0][0]
        one = {"agent_id": (agent,)}
        of_team = {"team": (team,)}
        views = {
            f"one agent ({agent}): totals + weekly series": lambda: [
                engine.run(Query(metrics=REPORT, start=START, end=END, filters=one)),
                engine.run(Query(metrics=REPORT, start=START, end=END, grain="week", filters=one)),
            ],
            f"one team ({team}): totals + weekly series + agents ranked": lambda: [
                engine.run(
                    Query(metrics=ranked, start=START, end=END, filters=of_team, bounds=True)
                ),
                engine.run(
                    Query(metrics=REPORT, start=START, end=END, grain="week", filters=of_team)
                ),
                engine.run(
                    Query(
                        metrics=ranked,
                        start=START,
                        end=END,
                        dimensions=("agent_id",),
                        filters=of_team,
                        bounds=True,
                    )
                ),
            ],
            f"team against team ({teams} teams): ranked totals + weekly series": lambda: [
                engine.run(
                    Query(metrics=ranked, start=START, end=END, dimensions=("team",), bounds=True)
                ),
                engine.run(
                    Query(metrics=REPORT, start=START, end=END, grain="week", dimensions=("team",))
                ),
            ],
        }
        print(
            f"{args.conversations:,} conversations, {args.agents} agents, {START} - {END}, "
            f"{len(REPORT)} report metrics"
        )
        for name, work in views.items():
            cold, warm = timed(work)
            print(f"{name}: cold {cold:.2f} s, warm {warm:.2f} s")
        print(f"load average after the run: {os.getloadavg()}")


if __name__ == "__main__":
    main()
