"""Missed-chat reasons from agent statuses, visits and bounces in the facts; Wilson lower
bounds for fair rankings; the list of downtime incidents."""

from __future__ import annotations

import datetime as dt

import pytest

from chatlens.ingest import import_file
from chatlens.metrics import Engine, Query
from chatlens.metrics.incidents import downtime_incidents
from chatlens.metrics.shape import wilson_lower
from chatlens.store.facts import refresh_facts

from . import builders
from .conftest import facts, load, report, write_jsonl
from .test_facts import ev, say, ts
from .test_metrics_reference import load_fixture


def _waits(conv: str, at: str, customer: str) -> list[dict]:
    """A live chat nobody answers: the customer waits 3 minutes and leaves."""
    left = (dt.datetime.strptime(at, "%H:%M:%S") + dt.timedelta(minutes=3)).strftime("%H:%M:%S")
    return [
        ev("conversation_started", at, conv, customer_id=customer),
        say("customer", at, "hello?", conv),
        ev("conversation_closed", left, conv, resolution="unresolved"),
    ]


def other(etype: str, when: str, **fields: object) -> dict:
    """An event outside conversations."""
    return ev(etype, when, None, **fields)  # type: ignore[arg-type]


def test_missed_reason_from_agent_statuses(store, tmp_path):
    events = [
        *_waits("before_any_status", "08:00:00", "u1"),  # nobody reported a status yet
        other("agent_status", "09:00:00", agent_id="ann", status="online"),
        other("agent_status", "09:00:00", agent_id="bob", status="offline"),
        *_waits("ann_online", "09:30:00", "u2"),
        other("agent_status", "10:00:00", agent_id="ann", status="away"),
        *_waits("nobody_online", "10:30:00", "u3"),
        # an offer that was declined says more than the statuses
        *_waits("declined", "10:40:00", "u4"),
        ev("chat_declined", "10:40:30", "declined", agent_id="ann", reason="declined"),
    ]
    load(store, events, tmp_path)
    reasons = {c: f["missed_reason"] for c, f in facts(store).items()}
    assert reasons == {
        "before_any_status": "customer_left",
        "ann_online": "customer_left",
        "nobody_online": "no_agent_online",
        "declined": "declined",
    }


def test_a_late_agent_status_updates_the_missed_reason(store, tmp_path):
    load(store, _waits("c1", "10:30:00", "u1"), tmp_path, "chats.jsonl")
    assert facts(store)["c1"]["missed_reason"] == "customer_left"
    # statuses imported later (another customer's chat is not touched by them)
    status = [other("agent_status", "10:00:00", agent_id="ann", status="offline")]
    import_file(store, write_jsonl(tmp_path / "status.jsonl", status))
    result = refresh_facts(store)
    assert not result.full and result.conversations == 1
    assert facts(store)["c1"]["missed_reason"] == "no_agent_online"


def test_visits_time_on_site_and_bounces(store, tmp_path):
    events = [
        other("visit_started", "09:00:00", customer_id="u1", session_id="s1"),
        other("page_view", "09:20:00", customer_id="u1", session_id="s1"),
        *_waits("bounce", "09:30:00", "u1"),  # missed; no page of s1 afterwards
        other("page_view", "09:40:00", customer_id="u1", session_id="other"),
        other("visit_started", "09:00:00", customer_id="u2", session_id="s2"),
        *_waits("stays", "09:45:00", "u2"),  # 45 minutes of silence: the visit had ended
        other("page_view", "09:50:00", customer_id="u2", session_id="s2"),
    ]
    load(store, events, tmp_path)
    f = facts(store)
    assert f["bounce"]["visit_started_at"] == ts("09:00:00")
    assert f["bounce"]["bounced"]
    assert f["stays"]["visit_started_at"] is None and not f["stays"]["bounced"]
    assert report(store, "time_on_site_before_chat").rows[0]["time_on_site_before_chat"] == 1800
    assert report(store, "chat_bounce_rate").rows[0]["chat_bounce_rate"] == 1


def test_wilson_bound_ranks_95_of_100_above_2_of_2(store, tmp_path):
    """docs/server.md "Rankings": an agent with 2 of 2 good ratings does not outrank one
    with 95 of 100."""
    events = []
    for n in range(102):
        agent = "new" if n < 2 else "veteran"
        score = 2 if agent == "veteran" and n < 7 else 5
        start = builders.DAY + dt.timedelta(minutes=5 * n)
        events += builders.chat(
            f"c{n}", start, agent=agent, close_after=120, ratings={"csat": score}
        )
    load(store, events, tmp_path)
    result = report(store, "csat_satisfied_rate", dimensions=["agent_id"], bounds=True)
    rows = {row["agent_id"]: row for row in result.rows}
    assert rows["new"]["csat_satisfied_rate"] == 1.0
    assert rows["veteran"]["csat_satisfied_rate"] == 0.95
    # 2 of 2: n / (n + z^2) = 2 / (2 + 1.96^2) ~ 0.342; 95 of 100: ~ 0.888
    assert rows["new"]["csat_satisfied_rate__lower"] == pytest.approx(0.3424, abs=1e-4)
    assert rows["veteran"]["csat_satisfied_rate__lower"] == pytest.approx(0.8882, abs=1e-4)
    ranked = sorted(rows, key=lambda a: rows[a]["csat_satisfied_rate__lower"], reverse=True)
    assert ranked == ["veteran", "new"]


def test_wilson_lower_bound_edges():
    assert wilson_lower(None, 10) is None
    assert wilson_lower(0, 0) is None  # no rows: null, like the rate
    assert wilson_lower(0, 5) == 0.0
    assert 0.9 < wilson_lower(1000, 1000) < 1.0


def test_bounds_are_null_for_rates_that_count_no_rows(store, tmp_path):
    load(store, builders.chat("c1", agent="ann", close_after=60), tmp_path)
    row = report(store, ("utilization", "fcr_rate", "csat"), bounds=True).rows[0]
    assert row["utilization__lower"] is None  # time over time, not a proportion of rows
    assert row["fcr_rate__lower"] is not None
    assert "csat__lower" not in row  # only rates


def test_downtime_incidents_listed(store, tmp_path):
    load_fixture(store, tmp_path)
    got = downtime_incidents(Engine(store), "2026-10-25", "2026-10-27")
    utc = dt.UTC
    assert [(i["component"], i["started_at"], i["ended_at"], i["seconds"]) for i in got] == [
        (
            "bot",
            dt.datetime(2026, 10, 25, 8, 0, tzinfo=utc),
            dt.datetime(2026, 10, 25, 8, 30, tzinfo=utc),
            1800,
        ),
        (
            "widget",
            dt.datetime(2026, 10, 26, 21, 50, tzinfo=utc),
            dt.datetime(2026, 10, 26, 22, 10, tzinfo=utc),
            1200,
        ),
        # the 28th's outage starts at local midnight, 22:00 UTC: outside the period
    ]
    whole = downtime_incidents(Engine(store), "2026-10-28", "2026-10-28")
    assert [(i["component"], i["seconds"]) for i in whole] == [("bot", 86400), ("widget", 86400)]


def test_tag_share_is_of_all_the_conversations_of_the_bucket(store, tmp_path):
    """Four conversations on Monday, two on Tuesday; tags counted by hand."""
    day = builders.DAY
    tue = day + dt.timedelta(days=1)

    def tagged(cid: str, start: dt.datetime, *tags: str, channel: str = "web") -> list[dict]:
        events = builders.chat(cid, start, agent="ann", close_after=300, channel=channel)
        for n, tag in enumerate(tags):
            at = builders.iso(start + dt.timedelta(seconds=100 + n))
            category = "money" if tag in ("billing", "refund") else "tech"
            events.append(
                {
                    "type": "tag_added",
                    "ts": at,
                    "conversation_id": cid,
                    "tag": tag,
                    "category": category,
                }
            )
        return events

    events = (
        tagged("m1", day, "billing", "refund")  # two tags of one category
        + tagged("m2", day + dt.timedelta(hours=1), "billing")
        + tagged("m3", day + dt.timedelta(hours=2))  # untagged: counted in the whole
        + tagged("m4", day + dt.timedelta(hours=3), "bug", channel="email")
        + tagged("t1", tue, "refund")
        + tagged("t2", tue + dt.timedelta(hours=1), "login")
    )
    load(store, events, tmp_path)
    engine = Engine(store)
    by_tag = engine.run(report_query(("tag_share", "conversations"), dimensions=("tag",)))
    assert {r["tag"]: (r["conversations"], r["tag_share"]) for r in by_tag.rows} == {
        "billing": (2, 2 / 6),
        "refund": (2, 2 / 6),
        "bug": (1, 1 / 6),
        "login": (1, 1 / 6),
    }
    # by category, m1 counts once for "money"
    by_category = engine.run(report_query(("tag_share",), dimensions=("tag_category",)))
    assert {r["tag_category"]: r["tag_share"] for r in by_category.rows} == {
        "money": 3 / 6,
        "tech": 2 / 6,
    }
    # by day and channel: the share of that day's conversations on that channel
    daily = engine.run(report_query(("tag_share",), grain="day", dimensions=("tag", "channel")))
    got = {(r["bucket"][:10], r["tag"], r["channel"]): r["tag_share"] for r in daily.rows}
    assert got == {
        ("2026-11-02", "billing", "web"): 2 / 3,  # m1, m2 of m1, m2, m3
        ("2026-11-02", "refund", "web"): 1 / 3,
        ("2026-11-02", "bug", "email"): 1 / 1,
        ("2026-11-03", "refund", "web"): 1 / 2,
        ("2026-11-03", "login", "web"): 1 / 2,
    }
    # without a split by tag there is no row's tag: null
    assert engine.run(report_query(("tag_share",))).rows[0]["tag_share"] is None
    assert (
        engine.run(report_query(("tag_share",), dimensions=("agent_id",))).rows[0]["tag_share"]
        is None
    )


def report_query(metrics: tuple[str, ...], **kw: object) -> Query:
    return Query(metrics=metrics, start="2026-11-01", end="2026-11-30", **kw)  # type: ignore[arg-type]
