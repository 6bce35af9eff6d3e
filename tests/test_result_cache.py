"""Query results are reused only while the store holds the same data and settings."""

from __future__ import annotations

import datetime as dt

from chatlens.ingest import import_file
from chatlens.metrics import Engine, Query
from chatlens.metrics.cache import Caches
from chatlens.store.facts import refresh_facts
from chatlens.store.settings import save_setting

from .conftest import load, write_jsonl


def _chat(cid: str, day: int, frt: int) -> list[dict]:
    start = f"2026-11-{day:02d}T10:00:00Z"
    return [
        {"type": "conversation_started", "ts": start, "conversation_id": cid},
        {
            "type": "message",
            "ts": start,
            "conversation_id": cid,
            "sender": "customer",
            "text": "hello?",
        },
        {"type": "agent_joined", "ts": start, "conversation_id": cid, "agent_id": "a1"},
        {
            "type": "message",
            "ts": f"2026-11-{day:02d}T10:00:{frt:02d}Z",
            "conversation_id": cid,
            "sender": "agent",
            "agent_id": "a1",
            "text": "hi",
        },
    ]


QUERY = Query(
    metrics=("conversations", "first_response_time"), start="2026-11-01", end="2026-11-30"
)


CACHES = Caches()
"""Shared by every engine of these tests, as a server's pool of engines shares one."""
RESULTS = CACHES.results


def _ask(store) -> tuple[dict, int, int]:
    hits, misses = RESULTS.hits, RESULTS.misses
    row = Engine(store, caches=CACHES).run(QUERY).rows[0]
    return row, RESULTS.hits - hits, RESULTS.misses - misses


def test_repeat_is_kept_and_new_data_or_settings_recompute(store, tmp_path):
    load(store, _chat("c1", 2, 10) + _chat("c2", 3, 30), tmp_path)
    first, hits, misses = _ask(store)
    assert (first["conversations"], first["first_response_time"]) == (2, 20.0)
    assert (hits, misses) == (0, 1)
    again, hits, misses = _ask(store)
    assert again == first and (hits, misses) == (1, 0)

    again["conversations"] = 99  # a caller changing its copy changes nothing kept
    assert _ask(store)[0]["conversations"] == 2

    load(store, _chat("c3", 4, 50), tmp_path, name="more.jsonl")  # new events, facts refreshed
    after, hits, misses = _ask(store)
    assert (after["conversations"], after["first_response_time"]) == (3, 30.0)
    assert (hits, misses) == (0, 1)

    save_setting(store.con, "sla_first_response_seconds", 40)
    refresh_facts(store)
    sla = Query(metrics=("frt_within_sla",), start="2026-11-01", end="2026-11-30")
    assert Engine(store).run(sla).rows[0]["frt_within_sla"] == 2 / 3  # 10 s and 30 s
    save_setting(store.con, "sla_first_response_seconds", 20)
    assert Engine(store).run(sla).rows[0]["frt_within_sla"] == 1 / 3  # only 10 s


def test_events_not_yet_in_the_facts_change_the_key(store, tmp_path):
    load(store, _chat("c1", 2, 10), tmp_path)
    _ask(store)
    import_file(store, write_jsonl(tmp_path / "late.jsonl", _chat("c2", 3, 30)))
    row, hits, misses = _ask(store)  # facts not refreshed: same figures, but not from the cache
    assert (row["conversations"], hits, misses) == (1, 0, 1)


def test_a_state_still_holding_runs_until_the_query_runs(store, tmp_path):
    """An agent online since 90 minutes ago with no later status: today's online time is
    90 minutes when asked now, and the compiled SQL asks the database's clock (an engine
    reused later must not keep the instant it compiled at)."""
    now = dt.datetime.now(dt.UTC)
    since = now - dt.timedelta(minutes=90)
    if since.date() != now.date():  # keep the test inside one UTC day
        since = now.replace(hour=0, minute=0, second=0, microsecond=0)
    event = {"type": "agent_status", "ts": since.isoformat(), "agent_id": "a1", "status": "online"}
    load(store, [event], tmp_path)
    save_setting(store.con, "timezone", "UTC")
    day = now.date().isoformat()
    engine = Engine(store)
    hours = engine.run(
        Query(metrics=("online_hours",), start=day, end=day, dimensions=("agent_id",))
    ).rows
    expected = (now - since).total_seconds() / 3600
    assert hours[0]["agent_id"] == "a1"
    assert abs(hours[0]["online_hours"] - expected) < 0.02
    sql = engine.explain("online_hours", Query(metrics=("online_hours",), start=day, end=day))
    assert "NOW()" in sql


def test_engines_share_only_the_caches_they_are_given(store, tmp_path):
    """Nothing is kept at module level: an engine made without caches keeps its own (a
    second engine computes again), engines given one `Caches` share its results and SQL."""
    load(store, _chat("c1", 2, 10), tmp_path)
    first, second = Engine(store), Engine(store)
    assert first.caches is not second.caches
    first.run(QUERY)
    second.run(QUERY)
    for engine in (first, second):
        results = engine.caches.results
        assert (results.hits, results.misses) == (0, 1)
    shared = Caches()
    Engine(store, caches=shared).run(QUERY)
    row = Engine(store, caches=shared).run(QUERY).rows[0]
    assert (row["conversations"], row["first_response_time"]) == (1, 10.0)
    assert (shared.results.hits, shared.results.misses) == (1, 1)
    shared.clear()
    Engine(store, caches=shared).run(QUERY)
    assert (shared.results.hits, shared.results.misses) == (1, 2)
