"""Worked examples of the definitions in docs/metrics.md, figured by hand, each built as
events through the normal import path."""

from __future__ import annotations

import datetime as dt

import pytest

from chatlens.store.settings import save_setting

from .builders import DAY, chat, iso
from .conftest import load, value

MIN = 60.0


def test_1_bot_success_rate(store, tmp_path):
    events = []
    for n in range(350):  # resolved by the bot alone, not rated negatively
        events += chat(
            f"ok{n}",
            bot=True,
            close_after=30,
            resolved_by="bot",
            ratings={"csat": 5} if n % 7 == 0 else None,
        )
    for n in range(50):  # resolved by the bot alone but rated 1: not a success
        events += chat(f"neg{n}", bot=True, close_after=30, resolved_by="bot", ratings={"csat": 1})
    for n in range(100):  # handed over to a human
        events += chat(f"hum{n}", bot=True, handoff_after=5, agent="ann", close_after=90)
    load(store, events, tmp_path)
    assert value(store, "bot_conversations") == 500
    assert value(store, "bot_success_rate") == pytest.approx(0.70, abs=1e-12)
    assert value(store, "bot_resolution_rate") == pytest.approx(0.80, abs=1e-12)
    assert value(store, "handoff_rate") == pytest.approx(0.20, abs=1e-12)
    assert value(store, "containment_rate") == pytest.approx(0.80, abs=1e-12)


def test_2_uss(store, tmp_path):
    events = []
    for n, score in enumerate([80, 90, 70, 85, 95]):
        events += chat(f"u{n}", bot=True, close_after=30, ratings={"uss": score})
    load(store, events, tmp_path)
    assert value(store, "uss") == 84


def test_3_resolution_time(store, tmp_path):
    events = []
    for n in range(50):  # 50 x 2 min + 50 x 8 min = 500 min
        events += chat(f"a{n}", agent="ann", close_after=2 * MIN)
        events += chat(f"b{n}", agent="bob", close_after=8 * MIN)
    load(store, events, tmp_path)
    assert value(store, "successful_chats") == 100
    assert value(store, "resolution_time") == 300


def test_4_learning_rate(store, tmp_path):
    events = []
    for n in range(500):
        events += chat(f"c{n}", bot=True, close_after=20)
    for n in range(100):
        events.append(
            {
                "type": "knowledge_item_added",
                "ts": iso(DAY + dt.timedelta(hours=n)),
                "item_id": f"k{n}",
                "bot_id": "bot1",
            }
        )
    load(store, events, tmp_path)
    assert value(store, "knowledge_items_added") == 100
    assert value(store, "learning_rate") == pytest.approx(0.20, abs=1e-12)


def test_5_fcr_rate(store, tmp_path):
    events = []
    for n in range(80):
        events += chat(f"fcr{n}", customer=f"k{n}", agent="ann", close_after=300)
    for n in range(5):
        events += chat(f"reo{n}", agent="ann", close_after=300, reopen_after=3600)
        events += chat(f"tra{n}", agent="ann", transfer_to="bob", close_after=300)
        events += chat(f"esc{n}", agent="ann", close_after=300, resolution="escalated")
        # the customer is back two days later: the first contact did not resolve it
        events += chat(f"fol{n}", customer=f"f{n}", agent="ann", close_after=300)
    for n in range(5):
        events += chat(f"again{n}", DAY + dt.timedelta(days=2), customer=f"f{n}", agent="ann")
    load(store, events, tmp_path)
    # 100 closed on DAY (the follow-ups, not closed, are outside the denominator)
    assert value(store, "fcr_rate", "2026-11-02", "2026-11-02") == pytest.approx(0.80)
    assert value(store, "not_fcr_reopened", "2026-11-02", "2026-11-02") == 5
    assert value(store, "not_fcr_transferred", "2026-11-02", "2026-11-02") == 5
    assert value(store, "not_fcr_escalated", "2026-11-02", "2026-11-02") == 5
    assert value(store, "not_fcr_followup", "2026-11-02", "2026-11-02") == 5


def test_6_retention_rate(store, tmp_path):
    events = []
    previous = DAY - dt.timedelta(days=7)  # the week before 2026-11-02 .. 2026-11-08
    for n in range(500):
        events += chat(f"prev{n}", previous, customer=f"cust{n}", bot=True, close_after=10)
    for n in range(450):
        events += chat(f"back{n}", customer=f"cust{n}", bot=True, close_after=10)
    for n in range(30):  # new customers do not count either way
        events += chat(f"new{n}", customer=f"new{n}", bot=True, close_after=10)
    load(store, events, tmp_path)
    assert value(store, "previous_customers", "2026-11-02", "2026-11-08") == 500
    assert value(store, "retention_rate", "2026-11-02", "2026-11-08") == pytest.approx(0.90)


def test_7_cost_savings_per_conversation(store, tmp_path):
    events = []
    for n in range(500):
        events += chat(f"h{n}", agent="ann", close_after=100)
        events += chat(f"b{n}", bot=True, close_after=10)
    load(store, events, tmp_path)
    save_setting(store.con, "cost_per_agent_conversation", 10)
    save_setting(store.con, "cost_per_bot_conversation", 0)
    assert value(store, "conversations") == 1000
    assert value(store, "cost_savings") == 5000
    assert value(store, "cost_savings_per_conversation") == 5


def test_8_conversations_per_hour(store, tmp_path):
    events = []
    for n in range(120):
        events += chat(f"c{n}", DAY + dt.timedelta(minutes=2 * n), bot=True)
    load(store, events, tmp_path)
    got = value(store, "conversations_per_hour", "2026-11-02T08:00", "2026-11-02T12:00")
    assert got == 30


def test_9_nps(store, tmp_path):
    events = []
    for n, score in enumerate([9, 10, 9, 10, 9, 7, 8, 7, 0, 6]):
        events += chat(f"n{n}", bot=True, close_after=10, ratings={"nps": score})
    load(store, events, tmp_path)
    assert value(store, "nps") == 30
    assert value(store, "nps_promoters") == 5
    assert value(store, "nps_passives") == 3
    assert value(store, "nps_detractors") == 2
