"""Splits checked on hand-built events, each expected value worked out by hand below: by
bot_id, team, outcome, hour_of_day, weekday and attrs.*, the hour x weekday heat map of the
overview page, handle time per tag, FCR per team and CSAT per topic."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from chatlens.store.settings import save_setting
from chatlens.topics import list_topics, rebuild

from .builders import chat, iso
from .conftest import load, report
from .test_topics import two_topics


def utc(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC)


def by(rows: list[dict[str, Any]], dimension: str, metric: str) -> dict[Any, Any]:
    return {r[dimension]: r[metric] for r in rows}


# --------------------------------------------------------------------------------------
# conversation-level splits, in Asia/Kolkata (UTC+05:30, no daylight saving): the half-hour
# offset moves some chats into another hour and another day than in UTC.
# Period: Mon 2026-11-02 .. Sun 2026-11-08 (local).
#
# chat  UTC start          local start        hour wd  bot   team     outcome    plan msgs
# c1    11-02 03:00 (Mon)  Mon 08:30           8   0   shop  -        resolved   free  2
# c2    11-02 03:20        Mon 08:50           8   0   shop  billing  unresolved pro   3
# c3    11-03 18:45 (Tue)  Wed 11-04 00:15     0   2   help  -        resolved   pro   2
# c4    11-04 10:00        Wed 15:30          15   2   -     tech     escalated  free  2
# c5    11-07 20:00 (Sat)  Sun 11-08 01:30     1   6   -     tech     open       -     2
# c7    11-01 18:40 (Sun)  Mon 11-02 00:10     0   0   help  billing  closed     free  2
# c6    11-08 19:00 (Sun)  Mon 11-09 00:30: after the period, counted nowhere
# messages: customer "hello", the bot's answer, the agent's reply (c2 has all three)


@pytest.fixture
def kolkata(store, tmp_path):
    save_setting(store.con, "timezone", "Asia/Kolkata")
    free, pro = {"attrs": {"plan": "free"}}, {"attrs": {"plan": "pro"}}
    events = (
        chat("c1", utc("2026-11-02T03:00"), bot=True, bot_id="shop", close_after=60, **free)
        + chat(
            "c2",
            utc("2026-11-02T03:20"),
            bot=True,
            bot_id="shop",
            fallback_last=True,
            handoff_after=10,
            agent="ann",
            team="billing",
            close_after=300,
            resolution="unresolved",
            **pro,
        )
        + chat("c3", utc("2026-11-03T18:45"), bot=True, bot_id="help", close_after=40, **pro)
        + chat(
            "c4",
            utc("2026-11-04T10:00"),
            agent="bob",
            team="tech",
            close_after=200,
            resolution="escalated",
            **free,
        )
        + chat("c5", utc("2026-11-07T20:00"), agent="bob", team="tech")
        + chat("c6", utc("2026-11-08T19:00"), bot=True, bot_id="shop", close_after=60, **free)
        + chat(
            "c7",
            utc("2026-11-01T18:40"),
            bot=True,
            bot_id="help",
            team="billing",
            close_after=30,
            resolution=None,
            **free,
        )
    )
    load(store, events, tmp_path)
    return store


WEEK = ("2026-11-02", "2026-11-08")


def test_total_counts_the_local_week(kolkata):
    rows = report(kolkata, ["conversations", "messages"], *WEEK).rows
    # c1, c2, c3, c4, c5, c7 (c6 is Monday 11-09 locally); 2+3+2+2+2+2 = 13 messages
    assert (rows[0]["conversations"], rows[0]["messages"]) == (6, 13)


def test_split_by_bot_id(kolkata):
    rows = report(kolkata, ["conversations", "messages"], *WEEK, dimensions=["bot_id"]).rows
    # shop: c1, c2; help: c3, c7; none: c4, c5 (live chat only)
    assert by(rows, "bot_id", "conversations") == {"shop": 2, "help": 2, None: 2}
    # shop: 2 + 3 = 5; help: 2 + 2 = 4; none: 2 + 2 = 4
    assert by(rows, "bot_id", "messages") == {"shop": 5, "help": 4, None: 4}


def test_split_by_team(kolkata):
    rows = report(kolkata, ["conversations", "messages"], *WEEK, dimensions=["team"]).rows
    # billing: c2, c7; tech: c4, c5; none: c1, c3
    assert by(rows, "team", "conversations") == {"billing": 2, "tech": 2, None: 2}
    # billing: 3 + 2 = 5; tech: 2 + 2 = 4; none: 2 + 2 = 4
    assert by(rows, "team", "messages") == {"billing": 5, "tech": 4, None: 4}


def test_split_by_outcome(kolkata):
    rows = report(kolkata, "conversations", *WEEK, dimensions=["outcome"]).rows
    # resolved: c1, c3 (closed resolved by the bot); unresolved: c2; escalated: c4;
    # open: c5 (never closed); closed: c7 (closed without a resolution)
    assert by(rows, "outcome", "conversations") == {
        "resolved": 2,
        "unresolved": 1,
        "escalated": 1,
        "open": 1,
        "closed": 1,
    }


def test_split_by_hour_of_day_in_the_workspace_zone(kolkata):
    rows = report(kolkata, "conversations", *WEEK, dimensions=["hour_of_day"]).rows
    # 00: c3 (00:15), c7 (00:10); 01: c5 (01:30); 08: c1 (08:30), c2 (08:50); 15: c4 (15:30)
    # (in UTC they would be 18, 18, 20, 3, 3 and 10)
    assert by(rows, "hour_of_day", "conversations") == {0: 2, 1: 1, 8: 2, 15: 1}


def test_split_by_weekday_in_the_workspace_zone(kolkata):
    rows = report(kolkata, "conversations", *WEEK, dimensions=["weekday"]).rows
    # Monday (0): c1, c2, c7; Wednesday (2): c3, c4; Sunday (6): c5
    assert by(rows, "weekday", "conversations") == {0: 3, 2: 2, 6: 1}


def test_split_by_an_attribute(kolkata):
    rows = report(kolkata, ["conversations", "messages"], *WEEK, dimensions=["attrs.plan"]).rows
    # free: c1, c4, c7; pro: c2, c3; none: c5
    assert by(rows, "attrs.plan", "conversations") == {"free": 3, "pro": 2, None: 1}
    # free: 2 + 2 + 2 = 6; pro: 3 + 2 = 5; none: 2
    assert by(rows, "attrs.plan", "messages") == {"free": 6, "pro": 5, None: 2}


def test_hour_by_weekday_heat_map(kolkata):
    """The overview's heat map: conversations by ("weekday", "hour_of_day")."""
    rows = report(kolkata, "conversations", *WEEK, dimensions=["weekday", "hour_of_day"]).rows
    cells = {(r["weekday"], r["hour_of_day"]): r["conversations"] for r in rows}
    # Mon 00: c7; Mon 08: c1, c2; Wed 00: c3; Wed 15: c4; Sun 01: c5
    assert cells == {(0, 0): 1, (0, 8): 2, (2, 0): 1, (2, 15): 1, (6, 1): 1}


# --------------------------------------------------------------------------------------
# handle time per tag (UTC): one agent per chat, no transfer, so each chat's handle time
# is its one stint, from agent_joined (20 s after the start) to the close.


def tagged(cid: str, tag: str, category: str, at: dt.datetime, removed: bool = False):
    events = [
        {
            "type": "tag_added",
            "ts": iso(at),
            "conversation_id": cid,
            "tag": tag,
            "category": category,
        }
    ]
    if removed:
        events.append(
            {
                "type": "tag_removed",
                "ts": iso(at + dt.timedelta(seconds=1)),
                "conversation_id": cid,
                "tag": tag,
                "category": category,
            }
        )
    return events


def test_handle_time_per_tag(store, tmp_path):
    day = utc("2026-11-03T09:00")
    hour = dt.timedelta(hours=1)
    tick = dt.timedelta(seconds=40)  # after the agent's reply, before the close
    events = (
        # h1: joined at 20 s, closed at 320 s: 300 s; tags billing (money), refund (returns)
        chat("h1", day, agent="ann", close_after=320)
        + tagged("h1", "billing", "money", day + tick)
        + tagged("h1", "refund", "returns", day + tick)
        # h2: 620 - 20 = 600 s; billing (money)
        + chat("h2", day + hour, agent="bob", close_after=620)
        + tagged("h2", "billing", "money", day + hour + tick)
        # h3: 140 - 20 = 120 s; refund (returns); spam added and removed again
        + chat("h3", day + 2 * hour, agent="ann", close_after=140)
        + tagged("h3", "refund", "returns", day + 2 * hour + tick)
        + tagged("h3", "spam", "other", day + 2 * hour + tick, removed=True)
        # h4: 920 - 20 = 900 s; no tag
        + chat("h4", day + 3 * hour, agent="bob", close_after=920)
    )
    load(store, events, tmp_path)
    metrics = ["handle_time", "handle_time_median", "conversations"]
    total = report(store, metrics).rows[0]
    # (300 + 600 + 120 + 900) / 4 = 480; median of 120, 300, 600, 900 = (300 + 600) / 2
    assert (total["handle_time"], total["handle_time_median"]) == (480.0, 450.0)
    rows = report(store, metrics, dimensions=["tag"]).rows
    # billing: h1, h2: (300 + 600) / 2 = 450; refund: h1, h3: (300 + 120) / 2 = 210;
    # spam was removed (h3 is not tagged spam); h4 has no tag and no row
    assert by(rows, "tag", "handle_time") == {"billing": 450.0, "refund": 210.0}
    assert by(rows, "tag", "handle_time_median") == {"billing": 450.0, "refund": 210.0}
    assert by(rows, "tag", "conversations") == {"billing": 2, "refund": 2}
    rows = report(store, "handle_time", dimensions=["tag_category"]).rows
    # money: h1, h2 = 450; returns: h1, h3 = 210
    assert by(rows, "tag_category", "handle_time") == {"money": 450.0, "returns": 210.0}


# --------------------------------------------------------------------------------------
# FCR per team (UTC): each chat has its own customer (so none is a follow-up contact of
# another); agents are named but nothing here depends on which agent is credited.


def test_fcr_per_team(store, tmp_path):
    day = utc("2026-11-03T09:00")

    def c(n: int, team: str, **kw: Any) -> list[dict[str, Any]]:
        return chat(
            f"f{n}", day + dt.timedelta(hours=n), customer=f"u{n}", agent="ann", team=team, **kw
        )

    events = (
        c(1, "billing", close_after=300)  # resolved: FCR
        + c(2, "billing", close_after=300, reopen_after=600)  # reopened: not FCR
        + c(3, "billing", close_after=300, resolution="unresolved")  # not FCR
        + c(4, "billing", close_after=300)  # FCR
        + c(5, "billing")  # never closed: outside the cohort
        + c(6, "tech", close_after=300, transfer_to="bob")  # transferred: not FCR
        + c(7, "tech", close_after=300)  # FCR
        + c(8, "tech", close_after=300, resolution="escalated")  # not FCR
        + c(9, "tech", close_after=300, resolution=None)  # no resolution: outside the cohort
    )
    load(store, events, tmp_path)
    metrics = [
        "fcr_rate",
        "not_fcr_reopened",
        "not_fcr_transferred",
        "not_fcr_escalated",
        "not_fcr_unresolved",
    ]
    # cohort: closed with a resolution: f1-f4, f6-f8 = 7; FCR: f1, f4, f7 = 3
    assert report(store, "fcr_rate").rows[0]["fcr_rate"] == pytest.approx(3 / 7)
    rows = {r["team"]: r for r in report(store, metrics, dimensions=["team"]).rows}
    assert set(rows) == {"billing", "tech"}
    # billing: f1, f4 FCR of f1-f4 = 2 / 4; not FCR: f2 reopened, f3 unresolved
    assert rows["billing"]["fcr_rate"] == pytest.approx(2 / 4)
    assert [rows["billing"][m] for m in metrics[1:]] == [1, 0, 0, 1]
    # tech: f7 FCR of f6-f8 = 1 / 3; not FCR: f6 transferred, f8 escalated (which the
    # `unresolved` reason also counts: "closed unresolved or escalated"; reasons overlap)
    assert rows["tech"]["fcr_rate"] == pytest.approx(1 / 3)
    assert [rows["tech"][m] for m in metrics[1:]] == [0, 1, 1, 1]


# --------------------------------------------------------------------------------------
# CSAT per topic: the two clear topics of test_topics (12 "where is my order" chats the bot
# answers, closed at 60 s; 12 "reset my password" chats handed off to bob, closed at
# 120 s), topics assigned by chatlens.topics, some chats rated after their close.


def test_csat_per_topic(store, tmp_path):
    day = utc("2026-11-02T08:00")  # tests.builders.DAY, where two_topics() starts
    ratings = {"o00": 5, "o01": 4, "o02": 4, "o03": 3, "p00": 1, "p01": 2, "p02": 2}
    events = two_topics()
    for cid, score in ratings.items():
        minute = int(cid[1:])  # chat n starts n minutes after DAY
        closed = 60 if cid[0] == "o" else 120
        at = day + dt.timedelta(minutes=minute, seconds=closed + 5)
        events.append(
            {
                "type": "rating",
                "ts": iso(at),
                "conversation_id": cid,
                "kind": "csat",
                "score": score,
            }
        )
    load(store, events, tmp_path)
    assert rebuild(store).topics == 2
    names = {
        ("order" if "order" in t["name"] else "password"): t["name"] for t in list_topics(store)
    }
    metrics = ["csat", "csat_response_rate", "csat_satisfied_rate"]
    rows = {r["topic"]: r for r in report(store, metrics, dimensions=["topic"]).rows}
    order, password = rows[names["order"]], rows[names["password"]]
    # order: (5 + 4 + 4 + 3) / 4 = 4.0; 4 of 12 chats rated; satisfied (4 or 5): 3 of 4
    assert order["csat"] == 4.0
    assert order["csat_response_rate"] == pytest.approx(4 / 12)
    assert order["csat_satisfied_rate"] == pytest.approx(3 / 4)
    # password: (1 + 2 + 2) / 3 = 5 / 3; 3 of 12 rated; none satisfied
    assert password["csat"] == pytest.approx(5 / 3)
    assert password["csat_response_rate"] == pytest.approx(3 / 12)
    assert password["csat_satisfied_rate"] == 0.0
    # all: (16 + 5) / 7 = 3.0
    assert report(store, "csat").rows[0]["csat"] == pytest.approx(3.0)
