"""The customer-window sources (returning customers, retention) take an equality join on the
truncated start when every bucket is a whole hour, day or week; that fast path must give
exactly what the general range join gives."""

from __future__ import annotations

import datetime as dt

import pytest

from chatlens.metrics import sources_business
from chatlens.store.settings import save_setting

from .conftest import load, report

IDS = ("returning_customers", "returning_rate", "previous_customers", "retention_rate")


def _events() -> list[dict]:
    """Customers u0..u5 chatting on a pattern of days around the month's turn, one
    conversation a day each, so windows of a day and of a week both see returns."""
    events = []
    start = dt.datetime(2026, 10, 26, 9, tzinfo=dt.UTC)
    for day in range(21):
        for n in range(6):
            if (day + n) % (n + 2) == 0:
                cid = f"c{day}-{n}"
                ts = (start + dt.timedelta(days=day, hours=n * 3)).isoformat()
                events.append(
                    {
                        "type": "conversation_started",
                        "ts": ts,
                        "conversation_id": cid,
                        "customer_id": f"u{n}",
                    }
                )
    return events


@pytest.mark.parametrize("grain", ["hour", "day", "week"])
def test_fast_path_equals_the_range_join(store, tmp_path, monkeypatch, grain):
    load(store, _events(), tmp_path)
    start, end = "2026-11-02", "2026-11-15"  # two whole weeks, Monday to Sunday
    fast = report(store, IDS, start, end, grain=grain).rows
    monkeypatch.setattr(sources_business, "aligned", lambda ctx: False)
    slow = report(store, IDS, start, end, grain=grain).rows
    assert fast == slow
    counted = [r for r in fast if r["previous_customers"]]
    assert counted, "the fixture must exercise retention"


def test_hand_counted_week(store, tmp_path):
    load(store, _events(), tmp_path)
    rows = report(store, IDS, "2026-11-02", "2026-11-15", grain="week").rows
    # customers active in each week counted from Monday 26 Oct (week 0: 26 Oct-1 Nov,
    # week 1: 2-8 Nov, week 2: 9-15 Nov), straight from the pattern of _events
    active = {
        week: {
            n for day in range(7 * week, 7 * week + 7) for n in range(6) if (day + n) % (n + 2) == 0
        }
        for week in range(3)
    }
    second, third = rows
    assert second["previous_customers"] == len(active[0])
    assert second["retention_rate"] == len(active[0] & active[1]) / len(active[0])
    assert third["previous_customers"] == len(active[1])
    assert third["retention_rate"] == len(active[1] & active[2]) / len(active[1])


def test_windows_reach_back_before_the_period(store, tmp_path):
    """u1 chatted 20 days before 5 November, u2 100 days before, u3 never: on 5 November
    (a one-day period) u1 is returning within the 30-day window, u2 is not; retention of
    4 November's customers (u1, u3) into 5 November is 1 of 2."""

    def chat(cid: str, customer: str, day: str) -> dict:
        return {
            "type": "conversation_started",
            "ts": f"{day}T09:00:00Z",
            "conversation_id": cid,
            "customer_id": customer,
        }

    events = [
        chat("a", "u1", "2026-10-16"),
        chat("b", "u2", "2026-07-28"),
        chat("c", "u1", "2026-11-04"),
        chat("d", "u3", "2026-11-04"),
        chat("e", "u1", "2026-11-05"),
        chat("f", "u2", "2026-11-05"),
    ]
    load(store, events, tmp_path)
    save_setting(store.con, "returning_window_days", 30)
    row = report(store, IDS, "2026-11-05", "2026-11-05").rows[0]
    assert row["returning_customers"] == 1  # u1 (4 Nov); u2's last chat is 100 days back
    assert row["previous_customers"] == 2  # the day before: u1, u3
    assert row["retention_rate"] == 0.5  # u1 came back
    longer = report(store, IDS, "2026-11-04", "2026-11-05").rows[0]  # two days
    assert longer["returning_customers"] == 1  # u1 on 4 Nov (16 Oct is 19 days back)
