"""Intervals (agent stints, busy time) cut by whole days or weeks take an equality join on
the bucket of their local start, and the range join with the calendar only when they cross
a boundary; that fast path must give exactly what the general range join gives, around
midnight and daylight-saving changes, in zones with unusual offsets."""

from __future__ import annotations

import datetime as dt

import pytest

from chatlens.metrics import sources

from .builders import iso
from .conftest import load, report
from .test_metrics_reference import load_fixture

IDS = ("busy_hours", "chat_hours", "utilization", "concurrency")


def _stints() -> list[dict]:
    """Chats of one agent around midnights and the end of daylight saving in Europe
    (25 Oct 2026 01:00 UTC) and America/Santiago (4 Apr 2026, midnight local), overlapping
    in pairs so busy time (a union) differs from chat time (a sum)."""
    events = [
        {
            "type": "agent_status",
            "ts": "2026-03-30T00:00:00Z",
            "agent_id": "ann",
            "status": "online",
        }
    ]
    starts = [
        dt.datetime(2026, 10, 24, 20, 40, tzinfo=dt.UTC),  # across midnight in Helsinki
        dt.datetime(2026, 10, 25, 0, 30, tzinfo=dt.UTC),  # across the Europe change
        dt.datetime(2026, 10, 25, 23, 50, tzinfo=dt.UTC),  # across UTC midnight
        dt.datetime(2026, 4, 5, 2, 45, tzinfo=dt.UTC),  # across Santiago's changes
        dt.datetime(2026, 4, 4, 23, 30, tzinfo=dt.UTC),
    ]
    for n, start in enumerate(starts):
        for k, (offset, length) in enumerate([(0, 50), (20, 55)]):  # two overlapping chats
            cid = f"s{n}-{k}"
            at = start + dt.timedelta(minutes=offset)
            done = at + dt.timedelta(minutes=length)
            events += [
                {"type": "conversation_started", "ts": iso(at), "conversation_id": cid},
                {"type": "agent_joined", "ts": iso(at), "conversation_id": cid, "agent_id": "ann"},
                {
                    "type": "message",
                    "ts": iso(at + dt.timedelta(minutes=1)),
                    "conversation_id": cid,
                    "sender": "agent",
                    "agent_id": "ann",
                    "text": "hi",
                },
                {
                    "type": "conversation_closed",
                    "ts": iso(done),
                    "conversation_id": cid,
                    "resolution": "resolved",
                },
            ]
    return events


@pytest.mark.parametrize("zone", ["Europe/Helsinki", "America/Santiago", "Asia/Kathmandu"])
@pytest.mark.parametrize(
    ("grain", "start", "end"),
    [
        ("day", "2026-10-23", "2026-10-27"),
        ("day", "2026-04-03", "2026-04-06"),
        ("week", "2026-10-19", "2026-11-01"),
        ("week", "2026-03-30", "2026-04-12"),
    ],
)
def test_fast_path_equals_the_range_join(store, tmp_path, monkeypatch, zone, grain, start, end):
    load(store, _stints(), tmp_path)
    kw = {"grain": grain, "dimensions": ("agent_id",), "overrides": {"timezone": zone}}
    fast = report(store, IDS, start, end, **kw).rows
    monkeypatch.setattr(sources, "aligned", lambda ctx: False)
    slow = report(store, IDS, start, end, **kw).rows
    assert fast == slow
    assert sum(r["chat_hours"] or 0 for r in fast) > sum(r["busy_hours"] or 0 for r in fast) > 0


@pytest.mark.parametrize("grain", ["day", "week"])
def test_fast_path_on_the_reference_fixture(store, tmp_path, monkeypatch, grain):
    load_fixture(store, tmp_path)
    fast = report(store, IDS, "2026-10-19", "2026-11-01", grain=grain).rows
    monkeypatch.setattr(sources, "aligned", lambda ctx: False)
    slow = report(store, IDS, "2026-10-19", "2026-11-01", grain=grain).rows
    assert fast == slow
    assert any(r["busy_hours"] for r in fast)
