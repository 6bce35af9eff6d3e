"""Step 2 of a query: a plan compiled to SQL, one statement per source (and chunk of its
metrics), grouped by the same keys (time bucket + dimensions).

What a statement reads beyond the store's tables is named here: the query's buckets in the
temp table `_calendar` (CALENDAR_SCHEMA) and the workspace's business hours in
`_business_hours` (BUSINESS_HOURS_SCHEMA). The engine writes both before it runs the
statements (chatlens.metrics.query.Engine.prepare); compiling never touches a connection.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import ibis

from chatlens.metrics.cache import CompiledSQL
from chatlens.metrics.dialects import COMPILERS
from chatlens.metrics.model import Measure, Metric
from chatlens.metrics.plan import Plan
from chatlens.metrics.sources import SOURCES, Context
from chatlens.store.settings import Settings


def has_bound(metric: Metric) -> bool:
    """A rate that is a proportion of counted rows: it has a Wilson bound (Query.bounds)."""
    return metric.unit == "rate" and isinstance(metric.measure, Measure)


def context(
    plan: Plan, schemas: Mapping[str, ibis.Schema], facts_table: str, settings: Settings
) -> Context:
    """What the sources of a plan build from: its period, buckets, keys and the store's
    table shapes."""
    query = plan.query
    return Context(
        period=plan.period,
        grain=query.grain,
        dimensions=query.dimensions,
        filters=query.filters,
        schemas=schemas,
        facts_table=facts_table,
        calendar=list(plan.calendar),
        settings=settings,
    )


def compile_source(
    ctx: Context,
    source: str,
    metrics: Sequence[Metric],
    settings: Settings,
    dialect: str = "duckdb",
    bounds: bool = False,
) -> str | None:
    """The SQL computing `metrics` (all of `source`) grouped by the query keys; with
    `bounds`, also the (hits, rows) of each rate as `<id>__hits`, `<id>__rows`. None when
    the source does not carry the query's dimensions."""
    table = SOURCES[source](ctx)
    if table is None:
        return None
    aggregates = {}
    for metric in metrics:
        assert isinstance(metric.measure, Measure)
        aggregates[metric.id] = metric.measure.build(table, settings)
        if bounds and has_bound(metric) and metric.measure.parts is not None:
            hits, rows = metric.measure.parts(table, settings)
            aggregates[f"{metric.id}__hits"] = hits
            aggregates[f"{metric.id}__rows"] = rows
    expr = table.group_by(ctx.keys).aggregate(**aggregates)
    return COMPILERS[dialect](expr)


def compile_plan(
    plan: Plan,
    ctx: Context,
    *,
    settings: Settings,
    dialect: str,
    compiled: CompiledSQL,
    shape_key: tuple[Any, ...],
) -> list[tuple[str, str]]:
    """(source, SQL) of every statement of the plan that builds, reusing what `compiled`
    keeps. `shape_key`: what the SQL depends on beyond the plan (dialect, table shapes,
    settings)."""
    query = plan.query
    out = []
    for source, metrics in plan.statements:
        key = (
            source,
            tuple(m.id for m in metrics),
            plan.period,
            query.grain,
            query.dimensions,
            tuple(sorted(query.filters.items())),
            query.bounds,
            shape_key,
        )
        sql = compiled.get_or_compile(
            key,
            lambda s=source, ms=metrics: compile_source(  # type: ignore[misc]
                ctx, s, ms, settings, dialect, query.bounds
            ),
        )
        if sql is not None:
            out.append((source, sql))
    return out
