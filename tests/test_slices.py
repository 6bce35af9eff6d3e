"""Every metric sliced by every dimension it declares, on a small simulation: a declared split
is never silently null, and where a metric is additive its parts add up to the whole.

"Additive" is read from the declarations, not from a hand list: a `Measure` whose aggregate
(the ibis expression its `build` returns) is a row count or a sum, possibly filled with 0 or
scaled by a constant (hours = seconds / 3600). A distinct count (unique customers, active
agents) is not additive: a customer can write through two channels. Everything else (rates,
means, quantiles, peaks, derived values) is no sum of its parts.

What holds for an additive metric split by dimension `d`:
- a dimension with one value per counted row (channel, team, outcome, hour_of_day, weekday,
  topic, attrs.*; and agent_id for sources whose rows name one agent: events, agent status
  and stint intervals, tickets): the parts, the null part included, sum to the total;
- a list dimension of a conversation (agent_id, tag, tag_category over conversations): a
  conversation counts once in each of its elements and not at all without one, so each part
  is at most the total (and the parts may add up to more or less than it).
For a distinct count, each part is at most the total and, over a one-value dimension, the
parts add up to at least the total.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterator
from typing import Any

import ibis.expr.operations as ops
import ibis.expr.types as ir
import pytest

from chatlens.ingest import import_file
from chatlens.metrics import METRICS, Engine, Query
from chatlens.metrics.compile import compile_source
from chatlens.metrics.model import DIMENSIONS, Derived, Measure, Metric
from chatlens.metrics.sources import SOURCES
from chatlens.metrics.sources_base import LIST_DIMENSIONS
from chatlens.simulate import SimConfig, write_events
from chatlens.store import Store, open_store
from chatlens.store.facts import refresh_facts
from chatlens.store.settings import save_setting
from chatlens.topics import rebuild

SIM = SimConfig(
    conversations=300, days=14, seed=5, end=dt.date(2026, 11, 14), agents=8, teams=3, bots=2
)
START, END = "2026-11-08", "2026-11-14"
ATTRS = "attrs.segment"  # one of the simulator's attributes
SLICES = (*DIMENSIONS, ATTRS)
SETTINGS: dict[str, Any] = {
    "timezone": "Europe/Helsinki",
    "business_hours": {d: ["09:00", "17:00"] for d in ("mon", "tue", "wed", "thu", "fri")},
    "cost_per_agent_conversation": 6,
    "cost_per_bot_conversation": 1,
    "canned_seconds_saved": 20,
}
CONVERSATION_SOURCES = ("conversations", "list:", "stints:", "business:", "counts:")
"""Sources built from the conversations' facts: agent_id, tag and tag_category are lists
there (sources_base.conversations unnests them)."""

ADDITIVE_OPS = (ops.CountStar, ops.Count, ops.Sum)
SCALING_OPS = (ops.Multiply, ops.Divide)


def _kind(node: ops.Node | None) -> str | None:
    """'sum' for a count or sum (filled with a literal, cast, scaled by a literal),
    'distinct' for a distinct count, None otherwise."""
    if node is None:
        return None
    if isinstance(node, ADDITIVE_OPS):
        return "sum"
    if isinstance(node, ops.CountDistinct):
        return "distinct"
    if isinstance(node, ops.Cast):
        return _kind(node.arg)
    if isinstance(node, ops.Coalesce):
        first, *rest = node.arg
        return _kind(first) if all(isinstance(r, ops.Literal) for r in rest) else None
    if isinstance(node, SCALING_OPS) and isinstance(node.right, ops.Literal):
        return _kind(node.left)
    if isinstance(node, ops.Multiply) and isinstance(node.left, ops.Literal):
        return _kind(node.right)
    return None


def aggregate_op(metric: Metric, engine: Engine) -> ops.Node | None:
    """The root of the ibis expression a metric's declaration builds (None when derived)."""
    if not isinstance(metric.measure, Measure):
        return None
    query = Query(metrics=(metric.id,), start=START, end=END)
    table = SOURCES[metric.measure.source](engine.context(query))
    assert table is not None, f"{metric.id}: source {metric.measure.source} builds nothing"
    expr: ir.Value = metric.measure.build(table, engine.settings)
    return expr.op()


def one_value_per_row(metric: Metric, dimension: str) -> bool:
    """Whether each row `metric` counts has one value of `dimension`."""
    assert isinstance(metric.measure, Measure)
    on_conversations = metric.measure.source.startswith(CONVERSATION_SOURCES)
    return not (dimension in LIST_DIMENSIONS and on_conversations)


def may_not_vanish(node: ops.Node | None, metric: Metric, dimension: str) -> bool:
    """Whether a metric with a value in total must have one in some part: a count or sum
    always (0 where nothing is counted); another aggregate where every row lands in some
    part (by a list dimension a conversation without an element lands in none, so a rate
    over conversations no agent joined is null in every agent's part), except a
    correlation, which needs two pairs with spread in a part."""
    if _kind(node) is not None:
        return True
    if node is None or isinstance(node, ops.Correlation):
        return False
    return one_value_per_row(metric, dimension)


@pytest.fixture(scope="module")
def sim_store(tmp_path_factory) -> Iterator[Store]:
    tmp = tmp_path_factory.mktemp("slices")
    write_events(SIM, tmp / "events.jsonl")
    with open_store(tmp / "sim.duckdb") as store:
        for key, setting in SETTINGS.items():
            save_setting(store.con, key, setting)
        import_file(store, tmp / "events.jsonl")
        refresh_facts(store)
        assert rebuild(store).topics > 1  # topics for the `topic` dimension
        yield store


@pytest.fixture(scope="module")
def aggregates(sim_store: Store) -> dict[str, ops.Node | None]:
    """Each metric's aggregate expression (its root node), by id."""
    engine = Engine(sim_store)
    return {mid: aggregate_op(metric, engine) for mid, metric in METRICS.items()}


@pytest.fixture(scope="module")
def whole(sim_store: Store) -> dict[str, Any]:
    rows = Engine(sim_store).run(Query(metrics=tuple(METRICS), start=START, end=END)).rows
    assert len(rows) == 1
    return rows[0]


def test_the_simulation_gives_most_metrics_a_value(whole):
    """The slices below check a metric's parts only where its whole has a value: the
    simulation must give one to nearly all (those left are undefined on it by design)."""
    empty = {mid for mid in METRICS if whole[mid] is None}
    # tag_share is null unless split by tag; retention needs customers before the data
    assert empty <= {"tag_share", "retention_rate", "retention_change"}, empty


def unsplittable(engine: Engine, metrics: list[Metric]) -> list[tuple[str, str]]:
    """(metric, dimension) pairs where the metric declares the dimension but its source
    cannot be split by it (the source builds None: the metric would be silently null)."""
    found = []
    for dimension in SLICES:
        query = Query(metrics=("conversations",), start=START, end=END, dimensions=(dimension,))
        ctx = engine.context(query)
        declaring = {
            m.id: m.measure.source
            for m in metrics
            if isinstance(m.measure, Measure) and m.applies_to(dimension)
        }
        built = {source: SOURCES[source](ctx) for source in set(declaring.values())}
        found += [(mid, dimension) for mid, source in declaring.items() if built[source] is None]
    return found


def test_declared_dimensions_build_a_split_source(sim_store):
    """A metric declaring a dimension has a source that can split by it (a source returning
    None would leave the metric silently null in every such report)."""
    assert unsplittable(Engine(sim_store), list(METRICS.values())) == []


def test_a_split_cannot_be_declared_apart_from_its_source():
    """A metric does not declare its splits: they are its source's (knowledge items are
    events carrying a bot, not a channel), so the two cannot disagree."""
    metric = METRICS["knowledge_items_added"]
    assert metric.dimensions == SOURCES["events:knowledge_item_added"].dimensions
    assert metric.dimensions == {"bot_id"} and metric.attrs_dimensions
    with pytest.raises(TypeError):
        dataclasses.replace(metric, dimensions=frozenset({"bot_id", "channel"}))  # type: ignore[call-arg]
    # a derived metric splits by what all it needs split by: utilization needs busy time
    # (agents only) and online time (agents and teams)
    assert METRICS["utilization"].dimensions == {"agent_id"}
    assert not METRICS["utilization"].attrs_dimensions


def test_declared_and_compiled_splits_agree(sim_store):
    """For every metric and dimension: the metric declares the split exactly when its
    statement compiles split by it (a declared split is never silently null, an undeclared
    one never computed)."""
    engine = Engine(sim_store)
    disagree = []
    for dimension in SLICES:
        query = Query(metrics=("conversations",), start=START, end=END, dimensions=(dimension,))
        ctx = engine.context(query)
        compiled: dict[str, bool] = {}
        for mid, metric in METRICS.items():
            if isinstance(metric.measure, Derived):
                splits = all(METRICS[n].applies_to(dimension) for n in metric.measure.needs)
            else:
                source = metric.measure.source
                if source not in compiled:
                    sql = compile_source(ctx, source, [metric], engine.settings)
                    compiled[source] = sql is not None
                splits = compiled[source]
            if splits != metric.applies_to(dimension):
                disagree.append((mid, dimension))
    assert disagree == []


def test_additive_kinds_are_read_from_the_declarations(aggregates):
    """A few known cases of the classification (the rest follows the same expression
    rules): counts and sums add, distinct counts and rates do not."""
    kinds = {mid: _kind(node) for mid, node in aggregates.items()}
    assert kinds["conversations"] == "sum"  # count(*)
    assert kinds["messages"] == "sum"  # sum(messages), null filled with 0
    assert kinds["online_hours"] == "sum"  # sum(seconds) / 3600
    assert kinds["chats_declined"] == "sum"  # events counted
    assert kinds["unique_customers"] == "distinct"
    assert kinds["active_agents"] == "distinct"
    for mid in ("fcr_rate", "csat", "handle_time", "handle_time_p90", "peak_hour", "nps"):
        assert kinds[mid] is None, mid
    assert kinds["cost_savings"] is None  # derived after aggregation
    # every additive metric counts or adds something: its unit says so
    units = {METRICS[mid].unit for mid, kind in kinds.items() if kind == "sum"}
    assert units <= {"count", "seconds", "money"}, units


@pytest.mark.parametrize("dimension", SLICES)
def test_every_metric_split_by_each_declared_dimension(sim_store, aggregates, whole, dimension):
    engine = Engine(sim_store)
    declared = tuple(mid for mid, m in METRICS.items() if m.applies_to(dimension))
    rows = engine.run(Query(metrics=declared, start=START, end=END, dimensions=(dimension,))).rows
    assert len(rows) > 1, f"one part only by {dimension}: the slice proves nothing"
    problems: list[str] = []
    for mid in declared:
        metric, total = METRICS[mid], whole[mid]
        parts = [row[mid] for row in rows]
        if total is None:
            continue
        kind = _kind(aggregates[mid])
        if all(p is None for p in parts) and may_not_vanish(aggregates[mid], metric, dimension):
            problems.append(f"{mid}: {total} in total but null in every part by {dimension}")
            continue
        if kind is None:
            continue
        values = [p for p in parts if p is not None]
        if any(p > total + 1e-6 for p in values):
            problems.append(f"{mid}: a part above the total {total}: {values}")
        if not one_value_per_row(metric, dimension):
            continue
        if kind == "sum" and sum(values) != pytest.approx(total, rel=1e-9, abs=1e-6):
            problems.append(f"{mid}: parts sum to {sum(values)}, total {total}")
        if kind == "distinct" and sum(values) < total:
            problems.append(f"{mid}: distinct parts sum to {sum(values)} < total {total}")
    assert problems == [], "\n".join(problems)
