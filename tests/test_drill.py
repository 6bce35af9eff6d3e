"""Drill-down: the conversations behind a count metric and behind a CSAT score, and the CSAT
distribution, on five conversations counted by hand."""

from __future__ import annotations

import csv
import datetime as dt

import pytest

from chatlens.errors import InputError
from chatlens.metrics import Engine, Query
from chatlens.reports.drill import Drill, read_drill
from chatlens.reports.export import conversations_sql, export_conversations
from chatlens.reports.ratings import csat_distribution
from chatlens.store.sql import run

from .builders import DAY, chat
from .conftest import load, value

HOUR = dt.timedelta(hours=1)
EVENTS = (
    # bot-only, resolved by the bot: CSAT 5
    chat("c1", DAY, bot=True, close_after=60, resolved_by="bot", ratings={"csat": 5})
    # the bot hands over to ann, who resolves it: CSAT 4, NPS 10 (promoter)
    + chat(
        "c2",
        DAY + HOUR,
        bot=True,
        handoff_after=10,
        agent="ann",
        close_after=300,
        ratings={"csat": 4, "nps": 10},
    )
    # bob alone, resolved: CSAT 2 (negative), NPS 3 (detractor)
    + chat("c3", DAY + 2 * HOUR, agent="bob", close_after=400, ratings={"csat": 2, "nps": 3})
    # ann alone, closed unresolved: CSAT 5, NPS 8 (passive)
    + chat(
        "c4",
        DAY + 3 * HOUR,
        agent="ann",
        close_after=200,
        resolution="unresolved",
        ratings={"csat": 5, "nps": 8},
    )
    # a live chat nobody answers; the customer leaves after 10 minutes: missed, not rated
    + chat("c5", DAY + 4 * HOUR, close_after=600, resolution="unresolved", resolved_by="customer")
)
NOVEMBER = ("2026-11-01", "2026-11-30")
PERIOD = {"start": NOVEMBER[0], "end": NOVEMBER[1]}


def listed(store, drill: Drill | None = None, **filters: tuple[str, ...]) -> list[str]:
    query = Query(metrics=("conversations",), **PERIOD, filters=filters)
    sql = conversations_sql(Engine(store), query, drill)
    return [r[0] for r in run(store.con, f"SELECT conversation_id FROM ({sql}) ORDER BY 1")]


@pytest.fixture
def five(store, tmp_path):
    load(store, EVENTS, tmp_path)
    return store


@pytest.mark.parametrize(
    ("metric", "expected"),
    [
        ("conversations", ["c1", "c2", "c3", "c4", "c5"]),
        ("bot_conversations", ["c1", "c2"]),
        ("human_conversations", ["c2", "c3", "c4", "c5"]),
        ("successful_chats", ["c2", "c3"]),
        ("missed_chats", ["c5"]),
        ("negative_feedback", ["c3"]),
        ("nps_promoters", ["c2"]),
        ("nps_passives", ["c4"]),
        ("nps_detractors", ["c3"]),
    ],
)
def test_counted_lists_the_conversations_a_count_metric_counts(five, metric, expected):
    assert listed(five, Drill(counted=metric)) == expected
    assert value(five, metric, *NOVEMBER) == len(expected)  # the list agrees with the figure


def test_counted_keeps_the_filters(five):
    assert listed(five, Drill(counted="successful_chats"), agent_id=("ann",)) == ["c2"]


def test_a_csat_score_lists_the_conversations_rated_so(five):
    assert listed(five, Drill(csat=5)) == ["c1", "c4"]
    assert listed(five, Drill(csat=3)) == []
    assert listed(five, Drill(csat=5, counted="human_conversations")) == ["c4"]


def test_the_csat_distribution_counts_each_score(five):
    engine = Engine(five)
    everyone = csat_distribution(engine, Query(metrics=("conversations",), **PERIOD))
    assert [(r["score"], r["conversations"]) for r in everyone] == [
        (1, 0),
        (2, 1),
        (3, 0),
        (4, 1),
        (5, 2),
    ]
    # the mean of those answers is the csat figure: (2 + 4 + 5 + 5) / 4
    assert value(five, "csat", *NOVEMBER) == 4.0
    ann = csat_distribution(
        engine, Query(metrics=("conversations",), **PERIOD, filters={"agent_id": ("ann",)})
    )
    assert [r["conversations"] for r in ann] == [0, 0, 0, 1, 1]


def test_an_export_keeps_the_drill(five, tmp_path):
    engine = Engine(five)
    query = Query(metrics=("conversations",), **PERIOD)
    out = tmp_path / "missed.csv"
    assert export_conversations(engine, query, "csv", out, Drill(counted="missed_chats")) == 1
    rows = list(csv.DictReader(out.read_text(encoding="utf-8").splitlines()))
    assert [(r["conversation_id"], r["missed"]) for r in rows] == [("c5", "true")]
    out = tmp_path / "five.csv"
    assert export_conversations(engine, query, "csv", out, Drill(csat=5)) == 2
    rows = csv.DictReader(out.read_text(encoding="utf-8").splitlines())
    assert [r["conversation_id"] for r in rows] == ["c1", "c4"]


def test_a_drill_is_checked():
    with pytest.raises(InputError, match="not a count of conversations"):
        Drill(counted="csat")
    with pytest.raises(InputError, match="whole number from 1 to 5"):
        read_drill(None, "6")
    with pytest.raises(InputError, match="whole number from 1 to 5"):
        read_drill(None, "four")
    assert read_drill("", "") == Drill()
    assert not Drill()
    assert Drill(counted="missed_chats", csat=2).params() == {
        "counted": "missed_chats",
        "csat": "2",
    }
