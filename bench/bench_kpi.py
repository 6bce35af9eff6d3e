"""KPI engine benchmark: the overview through the catalogue vs hand-written SQL vs pandas.

On a simulated store (bench_store.py; 1 M conversations over 365 days by default) it times,
in one process:
- the full overview: every catalogue metric for the whole period, plus the daily series
  and the per-agent table (cold: first run, ibis compiling; warm: median of 3 repeats);
- for a core set of conversation metrics (the ones a hand-written query can reproduce
  directly), the engine against one hand-written DuckDB SQL per view and against a
  straightforward pandas implementation, checking that all three agree;
- the per-agent report for 100 agents over 12 months.

Usage: python bench/bench_kpi.py [--conversations 1000000]
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_store import build_store
from chatlens.metrics import METRICS, Engine, Query
from chatlens.metrics.cache import Caches
from chatlens.store import open_store

CACHES = Caches()
"""The engine's compiled SQL and results (emptied between timed runs)."""
RESULTS = CACHES.results
START, END = "2025-11-23", "2026-11-22"
ZONE = "Europe/Helsinki"
CORE = (
    "conversations",
    "engaged_conversations",
    "engagement_rate",
    "unique_customers",
    "messages",
    "messages_per_conversation",
    "conversation_duration",
    "conversation_duration_median",
    "conversation_duration_p90",
    "bot_conversations",
    "fallback_rate",
    "handoff_rate",
    "bot_resolution_rate",
    "bot_success_rate",
    "human_conversations",
    "wait_time",
    "wait_time_p90",
    "first_response_time",
    "first_response_time_median",
    "first_response_time_p90",
    "frt_within_sla",
    "missed_chats",
    "missed_rate",
    "transfer_rate",
    "resolution_time",
    "resolution_time_p90",
    "fcr_rate",
    "escalation_rate",
    "csat",
    "nps",
    "ces",
    "conversion_rate",
    "revenue",
)

HAND_AGGREGATES = """
  count(*) AS conversations,
  count(*) FILTER (WHERE engaged) AS engaged_conversations,
  count(*) FILTER (WHERE engaged) / nullif(count(*), 0) AS engagement_rate,
  count(DISTINCT customer_id) AS unique_customers,
  coalesce(sum(messages), 0) AS messages,
  avg(messages) AS messages_per_conversation,
  avg(duration_seconds) AS conversation_duration,
  quantile_cont(duration_seconds, 0.5) AS conversation_duration_median,
  quantile_cont(duration_seconds, 0.9) AS conversation_duration_p90,
  count(*) FILTER (WHERE bot_involved) AS bot_conversations,
  sum(fallback_messages) / nullif(sum(bot_messages), 0) AS fallback_rate,
  count(*) FILTER (WHERE bot_involved AND has_human_part)
    / nullif(count(*) FILTER (WHERE bot_involved), 0) AS handoff_rate,
  count(*) FILTER (WHERE bot_involved AND bot_resolved)
    / nullif(count(*) FILTER (WHERE bot_involved), 0) AS bot_resolution_rate,
  count(*) FILTER (WHERE bot_involved AND bot_resolved AND NOT rated_negative)
    / nullif(count(*) FILTER (WHERE bot_involved), 0) AS bot_success_rate,
  count(*) FILTER (WHERE has_human_part) AS human_conversations,
  avg(wait_seconds) AS wait_time,
  quantile_cont(wait_seconds, 0.9) AS wait_time_p90,
  avg(first_response_seconds) AS first_response_time,
  quantile_cont(first_response_seconds, 0.5) AS first_response_time_median,
  quantile_cont(first_response_seconds, 0.9) AS first_response_time_p90,
  count(*) FILTER (WHERE first_response_seconds <= 60)
    / nullif(count(first_response_seconds), 0) AS frt_within_sla,
  count(*) FILTER (WHERE missed) AS missed_chats,
  count(*) FILTER (WHERE missed AND has_human_part)
    / nullif(count(*) FILTER (WHERE has_human_part), 0) AS missed_rate,
  count(*) FILTER (WHERE transfers > 0 AND has_human_part)
    / nullif(count(*) FILTER (WHERE has_human_part), 0) AS transfer_rate,
  avg(resolution_seconds) AS resolution_time,
  quantile_cont(resolution_seconds, 0.9) AS resolution_time_p90,
  count(*) FILTER (WHERE first_contact_resolved AND is_closed)
    / nullif(count(*) FILTER (WHERE is_closed), 0) AS fcr_rate,
  count(*) FILTER (WHERE resolution = 'escalated' AND is_closed)
    / nullif(count(*) FILTER (WHERE is_closed), 0) AS escalation_rate,
  avg(csat) AS csat,
  (count(*) FILTER (WHERE nps >= 9) - count(*) FILTER (WHERE nps <= 6)) * 100.0
    / nullif(count(nps), 0) AS nps,
  avg(ces) AS ces,
  count(*) FILTER (WHERE conversions > 0) / nullif(count(*), 0) AS conversion_rate,
  sum(revenue) AS revenue
"""


def hand_sql(view: str) -> str:
    local = f"timezone('{ZONE}', started_at)"
    where = f"{local} >= TIMESTAMP '{START}' AND {local} < TIMESTAMP '{END}' + INTERVAL 1 DAY"
    if view == "total":
        return f"SELECT {HAND_AGGREGATES} FROM conversation_facts WHERE {where}"
    if view == "daily":
        return (
            f"SELECT date_trunc('day', {local}) AS bucket, {HAND_AGGREGATES} "
            f"FROM conversation_facts WHERE {where} GROUP BY 1 ORDER BY 1"
        )
    return (
        f"SELECT agent_id, {HAND_AGGREGATES} FROM (SELECT *, unnest(agents) AS agent_id "
        f"FROM conversation_facts WHERE {where}) GROUP BY 1 ORDER BY 1"
    )


def pandas_views(df: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """The same core numbers with plain pandas (groupby + apply per group)."""

    def stats(g: pd.DataFrame) -> pd.Series:
        bot = g[g.bot_involved]
        human = g[g.has_human_part]
        closed = g[g.is_closed]
        frt = g.first_response_seconds.dropna()
        nps = g.nps.dropna()

        def div(a: float, b: float) -> float:
            return a / b if b else math.nan

        return pd.Series(
            {
                "conversations": len(g),
                "engaged_conversations": int(g.engaged.sum()),
                "engagement_rate": div(g.engaged.sum(), len(g)),
                "unique_customers": g.customer_id.nunique(),
                "messages": int(g.messages.sum()),
                "messages_per_conversation": g.messages.mean(),
                "conversation_duration": g.duration_seconds.mean(),
                "conversation_duration_median": g.duration_seconds.quantile(0.5),
                "conversation_duration_p90": g.duration_seconds.quantile(0.9),
                "bot_conversations": len(bot),
                "fallback_rate": div(g.fallback_messages.sum(), g.bot_messages.sum()),
                "handoff_rate": div(bot.has_human_part.sum(), len(bot)),
                "bot_resolution_rate": div(bot.bot_resolved.sum(), len(bot)),
                "bot_success_rate": div((bot.bot_resolved & ~bot.rated_negative).sum(), len(bot)),
                "human_conversations": len(human),
                "wait_time": g.wait_seconds.mean(),
                "wait_time_p90": g.wait_seconds.quantile(0.9),
                "first_response_time": frt.mean(),
                "first_response_time_median": frt.quantile(0.5),
                "first_response_time_p90": frt.quantile(0.9),
                "frt_within_sla": div((frt <= 60).sum(), len(frt)),
                "missed_chats": int(g.missed.sum()),
                "missed_rate": div(human.missed.sum(), len(human)),
                "transfer_rate": div((human.transfers > 0).sum(), len(human)),
                "resolution_time": g.resolution_seconds.mean(),
                "resolution_time_p90": g.resolution_seconds.quantile(0.9),
                "fcr_rate": div(closed.first_contact_resolved.sum(), len(closed)),
                "escalation_rate": div((closed.resolution == "escalated").sum(), len(closed)),
                "csat": g.csat.mean(),
                "nps": div(((nps >= 9).sum() - (nps <= 6).sum()) * 100.0, len(nps)),
                "ces": g.ces.mean(),
                "conversion_rate": div((g.conversions > 0).sum(), len(g)),
                "revenue": g.revenue.sum(min_count=1),
            }
        )

    daily = df.groupby(df.local_ts.dt.floor("D")).apply(stats, include_groups=False)
    agents = df.explode("agents").dropna(subset=["agents"])
    per_agent = agents.groupby("agents").apply(stats, include_groups=False)
    return {"total": stats(df).to_frame().T, "daily": daily, "agent": per_agent}


def timed(fn: Callable[[], Any], repeats: int = 3) -> tuple[Any, float, float]:
    """(result, first run seconds, median of `repeats` further runs). The engine's result
    cache is emptied before every run: these are computed figures."""
    RESULTS.clear()
    t0 = time.perf_counter()
    result = fn()
    first = time.perf_counter() - t0
    runs = []
    for _ in range(repeats):
        RESULTS.clear()
        t0 = time.perf_counter()
        result = fn()
        runs.append(time.perf_counter() - t0)
    return result, first, statistics.median(runs)


def cached(fn: Callable[[], Any], repeats: int = 3) -> float:
    """Median seconds of `repeats` runs answered from the engine's result cache (the same
    query again, data unchanged: a dashboard reloaded)."""
    fn()
    runs = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - t0)
    return statistics.median(runs)


def close(a: Any, b: Any) -> bool:
    if a is None or (isinstance(a, float) and math.isnan(a)):
        return b is None or (isinstance(b, float) and math.isnan(b))
    return b is not None and math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-9)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--conversations", type=int, default=1_000_000)
    parser.add_argument("--agents", type=int, default=100)
    args = parser.parse_args()
    path = build_store(args.conversations, agents=args.agents)
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, {duckdb.__version__=}, python "
        f"{platform.python_version()}; store {path.name}; load average {os.getloadavg()}"
    )
    with open_store(path) as store:
        con = store.con
        facts = con.sql("SELECT count(*) FROM conversation_facts").fetchall()[0][0]
        print(f"{facts:,} conversations")
        engine = Engine(store, caches=CACHES)
        everything = tuple(METRICS)
        views = {"total": {}, "daily": {"grain": "day"}, "agent": {"dimensions": ("agent_id",)}}

        def overview(ids: tuple[str, ...]) -> dict[str, Any]:
            out = {}
            for name, kw in views.items():
                out[name] = engine.run(Query(metrics=ids, start=START, end=END, **kw)).rows  # type: ignore[arg-type]
            return out

        _, cold, warm = timed(lambda: overview(everything))
        cpu = time.process_time()
        RESULTS.clear()
        overview(everything)
        cpu = time.process_time() - cpu
        repeat = cached(lambda: overview(everything))
        print(
            f"full overview ({len(everything)} metrics x total, daily, per agent): "
            f"cold {cold:.2f} s, warm {warm:.2f} s (CPU {cpu:.2f} s), "
            f"repeated from the result cache {repeat:.3f} s"
        )
        for name, kw in views.items():
            RESULTS.clear()
            t0 = time.perf_counter()
            engine.run(Query(metrics=everything, start=START, end=END, **kw))  # type: ignore[arg-type]
            print(f"  {name}: {time.perf_counter() - t0:.2f} s")

        core, _, core_warm = timed(lambda: overview(CORE))
        hand, _, hand_warm = timed(lambda: {v: con.sql(hand_sql(v)).fetchall() for v in views})
        print(
            f"core ({len(CORE)} metrics x 3 views): engine {core_warm:.3f} s, hand-written "
            f"SQL {hand_warm:.3f} s -> {core_warm / hand_warm:.2f}x the hand-written SQL"
        )

        columns = [
            "conversation_id",
            "started_at",
            "customer_id",
            "agents",
            *{
                "engaged",
                "messages",
                "duration_seconds",
                "bot_involved",
                "fallback_messages",
                "bot_messages",
                "has_human_part",
                "bot_resolved",
                "rated_negative",
                "wait_seconds",
                "first_response_seconds",
                "missed",
                "transfers",
                "resolution_seconds",
                "is_closed",
                "first_contact_resolved",
                "resolution",
                "csat",
                "nps",
                "ces",
                "conversions",
                "revenue",
            },
        ]
        t0 = time.perf_counter()
        df = con.sql(
            f"SELECT {', '.join(columns)}, timezone('{ZONE}', started_at) AS local_ts "
            "FROM conversation_facts"
        ).df()
        df = df[
            (df.local_ts >= pd.Timestamp(START))
            & (df.local_ts < pd.Timestamp(END) + pd.Timedelta(days=1))
        ]
        load = time.perf_counter() - t0
        t0 = time.perf_counter()
        frames = pandas_views(df)
        pandas_time = time.perf_counter() - t0
        print(
            f"pandas: {pandas_time:.2f} s (+{load:.2f} s loading the facts) -> engine is "
            f"{pandas_time / core_warm:.1f}x faster"
        )

        mismatches = 0
        for mid_index, mid in enumerate(CORE):
            engine_total = core["total"][0][mid]
            hand_total = hand["total"][0][mid_index]
            pandas_total = frames["total"].iloc[0][mid]
            if not (close(engine_total, hand_total) and close(engine_total, pandas_total)):
                mismatches += 1
                print(
                    f"  MISMATCH {mid}: engine {engine_total} sql {hand_total} "
                    f"pandas {pandas_total}"
                )
        engine_days = {r["bucket"][:10]: r["first_response_time_p90"] for r in core["daily"]}
        pandas_days = {
            str(k)[:10]: v for k, v in frames["daily"]["first_response_time_p90"].items()
        }
        mismatches += sum(not close(engine_days.get(d), v) for d, v in pandas_days.items())
        print(f"agreement check: {mismatches} mismatches")

        agents = con.sql("SELECT count(DISTINCT agent_id) FROM agent_stints").fetchall()[0][0]
        report_ids = (
            "handled_conversations",
            "successful_chats",
            "missed_chats_declined",
            "chats_declined",
            "wait_time",
            "first_response_time",
            "handle_time",
            "chats_per_online_hour",
            "utilization",
            "csat",
            "positive_rating_rate",
            "negative_rating_rate",
            "transfer_rate",
            "conversions",
            "tag_usage",
            "canned_usage",
        )
        _, agent_cold, agent_warm = timed(
            lambda: engine.run(
                Query(
                    metrics=report_ids,
                    start=START,
                    end=END,
                    grain="month",
                    dimensions=("agent_id",),
                )
            )
        )
        print(
            f"agent report ({agents} agents x 12 months, "
            f"{len(report_ids)} metrics): cold {agent_cold:.2f} s, warm {agent_warm:.2f} s"
        )
        print(f"load average after the run: {os.getloadavg()}")


if __name__ == "__main__":
    main()
