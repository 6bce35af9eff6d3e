"""Month and year grains, and the comparison with the previous period, on hand-built events
whose expected values are worked out by hand below.

The workspace zone is America/New_York: EST (UTC-05:00) all through 2025-11-15 .. 2026-02-28
(summer time ended on 2025-11-02 and starts again on 2026-03-08), so a local time is the UTC
time minus 5 hours. Several conversations lie in another month or year in UTC than locally.
"""

from __future__ import annotations

import datetime as dt

import pytest

from chatlens.store.settings import save_setting

from .builders import chat
from .conftest import load, report

ZONE = "America/New_York"


def utc(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC)


# (conversation, UTC start, local start in New York): each chat has 2 messages (the
# customer's "hello" and the agent's reply) and is closed resolved after 5 minutes
CHATS = [
    ("before", "2025-11-15T04:00", "2025-11-14 23:00"),  # the day before the period
    ("nov1", "2025-11-30T23:00", "2025-11-30 18:00"),
    ("nov2", "2025-12-01T04:30", "2025-11-30 23:30"),  # December in UTC
    ("dec1", "2025-12-01T05:30", "2025-12-01 00:30"),
    ("dec2", "2026-01-01T03:00", "2025-12-31 22:00"),  # 2026 in UTC
    ("jan1", "2026-01-01T06:00", "2026-01-01 01:00"),
    ("feb1", "2026-02-28T12:00", "2026-02-28 07:00"),
    ("feb2", "2026-02-28T23:00", "2026-02-28 18:00"),
    ("feb3", "2026-03-01T02:00", "2026-02-28 21:00"),  # March in UTC
    ("after", "2026-03-01T06:00", "2026-03-01 01:00"),  # the day after the period
]


@pytest.fixture
def months(store, tmp_path):
    save_setting(store.con, "timezone", ZONE)
    events = []
    for cid, start, _local in CHATS:
        events += chat(cid, utc(start), agent="ann", close_after=300)
    load(store, events, tmp_path)
    return store


def test_month_grain_buckets_by_local_calendar_month(months):
    rows = report(
        months,
        ["conversations", "messages", "conversations_per_hour"],
        "2025-11-15",
        "2026-02-28",
        grain="month",
    ).rows
    assert [r["bucket"] for r in rows] == [
        "2025-11-01T00:00:00",  # labelled by its month, counted from the period start
        "2025-12-01T00:00:00",
        "2026-01-01T00:00:00",
        "2026-02-01T00:00:00",
    ]
    # November: nov1, nov2 (local Nov 30 23:30); "before" is Nov 14 locally
    # December: dec1, dec2 (local Dec 31 22:00); January: jan1
    # February: feb1, feb2, feb3 (local Feb 28 21:00); "after" is Mar 1 locally
    assert [r["conversations"] for r in rows] == [2, 2, 1, 3]
    # 2 messages per chat
    assert [r["messages"] for r in rows] == [4, 4, 2, 6]
    # per hour of each bucket (no DST change inside the period):
    # Nov 15..30 = 16 days = 384 h; Dec = 31 d = 744 h; Jan = 744 h; Feb 2026 = 28 d = 672 h
    assert [r["conversations_per_hour"] for r in rows] == pytest.approx(
        [2 / 384, 2 / 744, 1 / 744, 3 / 672]
    )


def test_year_grain_splits_at_the_local_new_year(months):
    rows = report(
        months,
        ["conversations", "conversations_per_hour"],
        "2025-11-15",
        "2026-02-28",
        grain="year",
    ).rows
    assert [r["bucket"] for r in rows] == ["2025-01-01T00:00:00", "2026-01-01T00:00:00"]
    # 2025: nov1, nov2, dec1, dec2 (2026-01-01T03:00Z is still 2025 in New York)
    # 2026: jan1, feb1, feb2, feb3
    assert [r["conversations"] for r in rows] == [4, 4]
    # 2025 bucket: Nov 15 .. Jan 1 = 16 + 31 = 47 days = 1128 h
    # 2026 bucket: Jan 1 .. Mar 1 = 31 + 28 = 59 days = 1416 h
    assert [r["conversations_per_hour"] for r in rows] == pytest.approx([4 / 1128, 4 / 1416])


def test_month_grain_without_the_zone_would_differ(months):
    """The same events read in UTC: the conversations crossing a boundary move (so the
    local figures above are no accident of the data)."""
    save_setting(months.con, "timezone", "UTC")
    rows = report(months, "conversations", "2025-11-15", "2026-02-28", grain="month").rows
    # UTC: Nov: "before" (Nov 15 04:00), nov1 = 2; Dec: nov2, dec1 = 2;
    # Jan: dec2, jan1 = 2; Feb: feb1, feb2 = 2 (feb3 and "after" are March)
    assert [r["conversations"] for r in rows] == [2, 2, 2, 2]


@pytest.fixture
def two_weeks(store, tmp_path):
    """Previous week 2026-11-01 .. 11-07, this week 11-08 .. 11-14 (UTC)."""
    day = dt.datetime(2026, 11, 2, 9, 0, tzinfo=dt.UTC)
    events = []
    # previous week: 5 chats (Nov 2..6); p0 rated 4, p1 rated 2
    for n in range(5):
        ratings = {0: {"csat": 4}, 1: {"csat": 2}}.get(n)
        events += chat(
            f"p{n}", day + dt.timedelta(days=n), bot=True, close_after=120, ratings=ratings
        )
    # this week: 4 chats (Nov 9..12); t0 rated 5, t1 rated 4
    for n in range(4):
        ratings = {0: {"csat": 5}, 1: {"csat": 4}}.get(n)
        events += chat(
            f"t{n}", day + dt.timedelta(days=7 + n), bot=True, close_after=120, ratings=ratings
        )
    load(store, events, tmp_path)
    return store


def test_change_pct_against_a_non_zero_previous_value(two_weeks):
    rows = report(
        two_weeks, ["conversations", "messages", "csat"], "2026-11-08", "2026-11-14", compare=True
    ).rows
    assert len(rows) == 1
    row = rows[0]
    # conversations: 4 now, 5 before: change -1, -1 / 5 = -0.2
    assert (row["conversations"], row["conversations__previous"]) == (4, 5)
    assert row["conversations__change"] == -1
    assert row["conversations__change_pct"] == pytest.approx(-0.2)
    # messages: 2 per chat (hello + the bot's answer): 8 now, 10 before: -2 / 10 = -0.2
    assert (row["messages"], row["messages__previous"]) == (8, 10)
    assert row["messages__change_pct"] == pytest.approx(-0.2)
    # csat: (5 + 4) / 2 = 4.5 now, (4 + 2) / 2 = 3.0 before: +1.5, 1.5 / 3.0 = +0.5
    assert (row["csat"], row["csat__previous"]) == (4.5, 3.0)
    assert row["csat__change"] == pytest.approx(1.5)
    assert row["csat__change_pct"] == pytest.approx(0.5)


def test_change_pct_by_day_lines_up_day_by_day(two_weeks):
    """With a grain, each day is compared with the same day of the week before."""
    rows = report(
        two_weeks, "conversations", "2026-11-08", "2026-11-14", grain="day", compare=True
    ).rows
    by_day = {r["bucket"][:10]: r for r in rows}
    # Sun Nov 8: 0 now, Sun Nov 1: 0 before: no change to express as a share
    assert by_day["2026-11-08"]["conversations__change_pct"] is None
    # Mon Nov 9: t0 (1) against Mon Nov 2: p0 (1): change 0, 0 / 1 = 0.0
    assert by_day["2026-11-09"]["conversations__change_pct"] == 0.0
    # Fri Nov 13: 0 now against Fri Nov 6: p4 (1): -1 / 1 = -1.0
    assert by_day["2026-11-13"]["conversations__previous"] == 1
    assert by_day["2026-11-13"]["conversations__change_pct"] == -1.0
