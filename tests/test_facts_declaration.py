"""The facts are declared once (store/facts_columns.py, facts_sql.py) and rendered per engine.

Both renderings are parsed in their own dialect (sqlglot, which ships with ibis) and must hold
every declared column, in order, and nothing of the other engine's spelling; the DuckDB one
is run on a tiny workspace whose values are worked out by hand (tests/test_facts.py checks
every column that way; tests/test_spark.py runs the Spark rendering on Spark, row for row).
"""

from __future__ import annotations

from datetime import UTC, datetime

import orjson
import pytest
import sqlglot

from chatlens.store import facts_doc, facts_sql
from chatlens.store.facts import facts_version, refresh_facts
from chatlens.store.facts_columns import FACT_COLUMNS, FactColumn
from chatlens.store.facts_dialect import DIALECTS, DUCKDB, SPARK
from chatlens.store.facts_sql import facts_query, stints_sql
from chatlens.store.settings import load_settings, make_settings
from chatlens.store.sql import run

from .conftest import facts, load
from .test_facts import BOT_THEN_AGENT, ev, say

STINT_COLUMNS = [
    "conversation_id",
    "agent_id",
    "team",
    "started_at",
    "ended_at",
    "seconds",
    "first_stint",
    "first_message_at",
]

OTHER_SPELLING = {
    "duckdb": ("max_by(", "min_by(", "unix_micros(", "collect_list(", ":grace", "named_struct("),
    "spark": ("arg_max(", "arg_min(", "epoch(", " list(", "$grace", "to_microseconds(", "[]"),
}
"""What each engine writes that the other does not (a slip of the declaration shows here)."""


def _at(hms: str) -> datetime:
    return datetime.fromisoformat(f"2026-11-02T{hms}+00:00").astimezone(UTC)


@pytest.mark.parametrize("dialect", sorted(DIALECTS))
def test_every_declared_column_is_rendered_in_both_dialects(dialect):
    d = DIALECTS[dialect]
    settings = make_settings({"fallback_phrases": ["no idea"], "conversion_goals": ["signup"]})
    sql, params = facts_query(d, settings)
    assert sqlglot.parse_one(sql, read=dialect).named_selects == [c.name for c in FACT_COLUMNS]
    assert sqlglot.parse_one(stints_sql(d), read=dialect).named_selects == STINT_COLUMNS
    for text in (sql, stints_sql(d)):
        assert [s for s in OTHER_SPELLING[dialect] if s in text] == []
    # every parameter the SQL names is bound, and every bound one is used
    assert {name for name in params if f"{d.marker}{name}" in sql} == set(params)
    assert params["conversion_goal0"] == "signup" and "phrase0" in params


def test_the_renderings_differ_only_where_the_dialect_speaks():
    duck, _ = facts_query(DUCKDB, make_settings({}))
    spark, _ = facts_query(SPARK, make_settings({}))
    assert duck.count("\n") > 250 and spark.count("\n") > 250
    assert "coalesce(f.agents, []) AS agents" in duck
    assert "coalesce(f.agents, CAST(array() AS ARRAY<STRING>)) AS agents" in spark
    assert "epoch(f.picked_up_at) - epoch(f.queue_entry_at) END AS wait_seconds" in duck
    assert "unix_micros(f.picked_up_at) / 1e6 - unix_micros(f.queue_entry_at) / 1e6 END" in spark
    # a column the engines write alike is the same text in both
    fcr = next(c for c in FACT_COLUMNS if c.name == "first_contact_resolved").sql(DUCKDB)
    assert fcr in duck and fcr in spark


def test_the_duckdb_rendering_computes_hand_worked_values(store, tmp_path):
    events = [
        *BOT_THEN_AGENT,
        ev("goal_completed", "11:00:00", conv=None, customer_id="u1", goal="purchase", value=40),
    ]
    load(store, events, tmp_path)
    sql, params = facts_query(DUCKDB, load_settings(store.con))
    run(store.con, "CREATE TEMP TABLE _scope AS SELECT 'c1' AS conversation_id")
    cur = store.con.execute(sql, params)
    names = [column[0] for column in cur.description]
    (row,) = cur.fetchall()
    f = dict(zip(names, row, strict=True))
    stints = run(store.con, stints_sql(DUCKDB))
    # the columns whose SQL the dialect spells: lists, firsts and lasts, epochs, JSON
    assert f["agents"] == ["bob"] and f["first_agent_id"] == "bob"
    assert (f["offered_to"], f["declined_by"], f["timed_out_by"]) == (["ann"], ["ann"], ["ann"])
    assert f["wait_seconds"] == 30.0  # queue entry 10:00:27 -> bob joins 10:00:57
    assert f["response_times"] == [67.0, 30.0]  # 10:00:20 -> 10:01:27; 10:02:00 -> 10:02:30
    assert f["response_started_at"] == [_at("10:00:20"), _at("10:02:00")]
    assert f["tags"] == ["shipping"] and f["tag_categories"] == ["orders"]
    assert orjson.loads(f["attrs"]) == {"plan": "pro"}
    assert (f["csat"], f["csat_agent_id"], f["closing_agent_id"]) == (5, "bob", "bob")
    assert (f["goals"], f["conversions"], f["revenue"]) == (["purchase"], 1, 40.0)
    assert f["duration_seconds"] == 299.0  # first message 10:00:01 -> close 10:05:00
    assert f["outcome"] == "resolved"
    # bob's stint: joined 10:00:57, ends at the close 10:05:00, first message 10:01:27
    bob = ("c1", "bob", "care", _at("10:00:57"), _at("10:05:00"), 243.0, True, _at("10:01:27"))
    assert stints == [bob]


def test_a_new_fact_column_is_one_declaration(store, tmp_path, monkeypatch):
    """Adding a column: one entry in FACT_COLUMNS; the version key follows the SQL, so the
    stored facts are rebuilt with it, and docs/facts.md lists it."""
    load(store, [*BOT_THEN_AGENT, say("customer", "10:07:00", "bye", conv="c2")], tmp_path)
    before = facts_version(load_settings(store.con))
    added = FactColumn(
        "human_messages",
        "coalesce(f.customer_messages, 0) + coalesce(f.agent_messages, 0)",
        "Customer and agent messages.",
    )
    monkeypatch.setattr(facts_sql, "FACT_COLUMNS", (*FACT_COLUMNS, added))
    monkeypatch.setattr(facts_doc, "DECLARED", (*FACT_COLUMNS, added))
    assert facts_version(load_settings(store.con)) != before
    assert refresh_facts(store).full  # no new events: rebuilt because the SQL changed
    assert {k: v["human_messages"] for k, v in facts(store).items()} == {"c1": 6, "c2": 1}
    assert "| `human_messages` | Customer and agent messages. |" in facts_doc.facts_markdown()
    assert not refresh_facts(store).full  # the same SQL again: nothing to rebuild


def test_the_facts_read_exactly_the_declared_event_columns():
    """EVENT_COLUMNS (what a lake derivation reads) is what the SQL needs: the SQL binds over
    those columns and `seq`, and fails without any one of them."""
    import duckdb

    from chatlens.lake.layout import EVENT_SCHEMA

    settings = make_settings({"fallback_phrases": ["no idea"], "conversion_goals": ["signup"]})
    sql, params = facts_query(DUCKDB, settings)

    def binds(columns: list[str]) -> bool:
        con = duckdb.connect()
        con.register("_empty", EVENT_SCHEMA.empty_table().select(columns))
        con.execute("CREATE TEMP TABLE events AS SELECT *, 0::BIGINT AS seq FROM _empty")
        con.execute("CREATE TEMP TABLE _scope (conversation_id VARCHAR)")
        try:
            con.execute(f"CREATE TEMP TABLE agent_stints AS {stints_sql(DUCKDB)}")
            con.execute(sql, params)
        except duckdb.BinderException:
            return False
        finally:
            con.close()
        return True

    declared = list(facts_sql.EVENT_COLUMNS)
    assert set(declared) <= set(EVENT_SCHEMA.names)
    assert binds(declared)
    assert [c for c in declared if binds([d for d in declared if d != c])] == []
