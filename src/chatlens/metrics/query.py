"""Running a query: metrics x period x grain x dimensions x filters (+ comparison, goals).

Each source the asked metrics need is compiled by ibis to one SQL statement grouped by the
same keys (time bucket + dimensions); the rows are merged by key, derived metrics computed,
and the previous period joined for comparison.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import itertools
import math
import os
import threading
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, cast
from zoneinfo import ZoneInfo

from chatlens.errors import InputError, did_you_mean
from chatlens.metrics.business_hours import utc_intervals
from chatlens.metrics.cache import RESULTS
from chatlens.metrics.catalogue import METRICS
from chatlens.metrics.dialects import COMPILERS
from chatlens.metrics.model import DIMENSIONS, GRAINS, Derived, Measure, Metric
from chatlens.metrics.periods import Bucket, Period, buckets, make_period
from chatlens.metrics.sources import BUSINESS_HOURS_SCHEMA, CALENDAR_SCHEMA, SOURCES, Context
from chatlens.metrics.sources_base import LIST_DIMENSIONS, TOPICS_TABLE
from chatlens.metrics.targets import band_of, classify, goal_result, usable_goals
from chatlens.store import Store
from chatlens.store.backend import Backend, DuckDBBackend
from chatlens.store.facts import FACTS_TABLE, build_facts_table, facts_settings_differ
from chatlens.store.settings import Settings, load_settings, make_settings
from chatlens.store.sql import run

AGGREGATES_PER_QUERY = 25
"""A source's metrics are computed in statements of at most this many: DuckDB's cost per
aggregate grows with their number in one statement (measured over 1M conversations, the
conversations source's 102 metrics: 2.2 s of CPU in one statement, 1.1 s in chunks of 25 by
total, 2.8 s against 1.5 s by day; chunks of 10 or 50 no better)."""


@dataclass(frozen=True)
class Query:
    metrics: tuple[str, ...]
    start: str
    end: str
    grain: str | None = None
    dimensions: tuple[str, ...] = ()
    filters: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    compare: bool = False
    bounds: bool = False
    """Add `<id>__lower` to each rate: the lower bound of its 95% Wilson score interval
    (metrics.md "Fair rankings": 2 of 2 must not outrank 95 of 100)."""


@dataclass
class Result:
    """Rows read by name: `bucket` (with a grain), each dimension, each metric id (and with
    comparison `<id>__previous`, `<id>__change`, `<id>__change_pct`; `<id>__goal` where the
    workspace set a goal (chatlens.metrics.targets.goal_result), `<id>__band` where the
    metric has a benchmark band for the workspace's industry; with bounds `<id>__lower` for
    rates). `meta["notes"]`: what a reader should know, e.g. a stored goal that is ignored."""

    meta: dict[str, Any]
    rows: list[dict[str, Any]]


def validate(query: Query) -> None:
    for mid in query.metrics:
        if mid not in METRICS:
            raise InputError(
                f"unknown metric {mid!r}{did_you_mean(mid, METRICS)}; "
                "`chatlens metrics list` shows them all"
            )
    if query.grain is not None and query.grain not in GRAINS:
        hint = did_you_mean(query.grain, GRAINS)
        raise InputError(
            f"unknown grain {query.grain!r}{hint}; expected one of {', '.join(GRAINS)}"
        )
    for dim in (*query.dimensions, *query.filters):
        if dim not in DIMENSIONS and not (dim.startswith("attrs.") and len(dim) > 6):
            raise InputError(
                f"unknown dimension {dim!r}{did_you_mean(dim, DIMENSIONS)}; expected one "
                f"of {', '.join(DIMENSIONS)} or attrs.<key>"
            )
    if len(set(query.dimensions)) != len(query.dimensions):
        raise InputError("a dimension is named twice in --by")


def _with_needs(ids: Sequence[str]) -> list[str]:
    """The asked metrics plus what derived ones need, dependencies first."""
    ordered: list[str] = []

    def visit(mid: str) -> None:
        if mid in ordered:
            return
        measure = METRICS[mid].measure
        if isinstance(measure, Derived):
            for need in measure.needs:
                visit(need)
        ordered.append(mid)

    for mid in ids:
        visit(mid)
    return ordered


WILSON_Z = 1.959963984540054
"""The standard normal quantile of a two-sided 95% interval."""


def wilson_lower(hits: float | None, rows: float | None, z: float = WILSON_Z) -> float | None:
    """The lower bound of the Wilson score interval of a proportion hits / rows (null
    without rows): small samples are pulled towards 0, so rankings by it are fair."""
    if hits is None or not rows:
        return None
    if hits == 0:
        return 0.0  # exactly, not a rounding error away from it
    p = hits / rows
    spread = z * math.sqrt(p * (1 - p) / rows + z * z / (4 * rows * rows))
    return max(0.0, (p + z * z / (2 * rows) - spread) / (1 + z * z / rows))


def _has_bound(metric: Metric) -> bool:
    return metric.unit == "rate" and isinstance(metric.measure, Measure)


def compile_source(
    ctx: Context,
    source: str,
    metrics: Sequence[Metric],
    settings: Settings,
    dialect: str = "duckdb",
    bounds: bool = False,
) -> str | None:
    """The SQL computing `metrics` (all of `source`) grouped by the query keys; with
    `bounds`, also the (hits, rows) of each rate as `<id>__hits`, `<id>__rows`."""
    table = SOURCES[source](ctx)
    if table is None:
        return None
    aggregates = {}
    for metric in metrics:
        assert isinstance(metric.measure, Measure)
        aggregates[metric.id] = metric.measure.build(table, settings)
        if bounds and _has_bound(metric) and metric.measure.parts is not None:
            hits, rows = metric.measure.parts(table, settings)
            aggregates[f"{metric.id}__hits"] = hits
            aggregates[f"{metric.id}__rows"] = rows
    expr = table.group_by(ctx.keys).aggregate(**aggregates)
    return COMPILERS[dialect](expr)


class CompiledSQL:
    """SQL compiled from the catalogue, shared by every engine of the process: ibis takes
    ~50 ms per source (1.9 s for the whole catalogue), and a server answers from a pool of
    engines, so a query shape compiled by one is reused by the others (and by a repeated
    query: a dashboard refresh)."""

    def __init__(self, size: int = 2048):
        self._size = size
        self._entries: dict[tuple[Any, ...], str | None] = {}
        self._lock = threading.Lock()

    def get(self, key: tuple[Any, ...], default: Any = None) -> Any:
        with self._lock:
            return self._entries.get(key, default)

    def put(self, key: tuple[Any, ...], sql: str | None) -> None:
        with self._lock:
            if len(self._entries) >= self._size:
                self._entries.clear()
            self._entries[key] = sql

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


COMPILED = CompiledSQL()
_MISSING = object()


class Engine:
    """Runs queries against one store (DuckDB), or through `Engine.on` any other backend."""

    store: Store
    """The DuckDB store (not set on an engine made by `Engine.on`)."""

    def __init__(self, store: Store, overrides: Mapping[str, Any] | None = None):
        self.store = store
        stored = load_settings(store.con)
        settings = make_settings({**stored.model_dump(), **(overrides or {})})
        facts_table = FACTS_TABLE
        if facts_settings_differ(stored, settings):
            facts_table = "_facts_override"
            build_facts_table(store, settings, facts_table)
        self._attach(DuckDBBackend(store), settings, facts_table)

    @classmethod
    def on(cls, backend: Backend, settings: Settings, facts_table: str = FACTS_TABLE) -> Engine:
        """An engine over `backend`, whose tables `events`, `agent_stints` and `facts_table`
        already hold the facts derived under `settings` (see chatlens.store.spark)."""
        engine = cls.__new__(cls)
        engine._attach(backend, settings, facts_table)
        return engine

    def _attach(self, backend: Backend, settings: Settings, facts_table: str) -> None:
        self.backend = backend
        self.settings = settings
        self.facts_table = facts_table
        self.schemas = {
            name: backend.table_schema(name) for name in ("events", "agent_stints", facts_table)
        }
        # a Parquet lake read by Spark has no topics: `topic` is then an InputError (each
        # engine raises its own "no such table")
        with contextlib.suppress(Exception):
            self.schemas[TOPICS_TABLE] = backend.table_schema(TOPICS_TABLE)
        self._settings_key = self.settings.model_dump_json()
        # what the compiled SQL depends on beyond the query: the tables' shapes and settings
        self._sql_key = (
            backend.dialect,
            facts_table,
            tuple((name, tuple(schema.items())) for name, schema in sorted(self.schemas.items())),
            self._settings_key,
        )

    def context(self, query: Query, period: Period) -> Context:
        ctx = Context(
            period=period,
            grain=query.grain,
            dimensions=query.dimensions,
            filters=query.filters,
            schemas=self.schemas,
            facts_table=self.facts_table,
            calendar=buckets(period, query.grain),
            settings=self.settings,
        )
        rows = [
            (
                b.label,
                b.start,
                b.end,
                period.utc(b.start),
                period.utc(b.end),
                b.start - (b.end - b.start),
            )
            for b in ctx.calendar
        ]
        self.backend.create_temp_table("_calendar", CALENDAR_SCHEMA, rows)
        self._business_hours(period)
        return ctx

    def _business_hours(self, period: Period) -> None:
        """The workspace's business hours as UTC intervals over every day with data (each
        day under the schedule or holiday in force on it)."""
        hours = self.settings.business_hours
        rows: list[tuple[dt.datetime, dt.datetime]] = []
        bounds = self.backend.sql("SELECT min(ts) AS lo, max(ts) AS hi FROM events")[0]
        if hours and bounds["lo"] is not None:
            zone = ZoneInfo(self.settings.timezone)
            lo, hi = (_aware(bounds[k]).astimezone(zone).date() for k in ("lo", "hi"))
            first = min(lo, period.start.date()) - dt.timedelta(days=1)
            last = max(hi, period.end.date()) + dt.timedelta(days=1)
            rows = utc_intervals(hours, first, last, zone)
        self.backend.create_temp_table("_business_hours", BUSINESS_HOURS_SCHEMA, rows)

    def explain(self, metric_id: str, query: Query) -> str:
        validate(query)
        metric = METRICS[metric_id]
        if isinstance(metric.measure, Derived):
            return (
                f"-- {metric_id} is computed from {', '.join(metric.measure.needs)} "
                "after aggregation:\n"
                + "\n".join(self.explain(n, query) for n in metric.measure.needs)
            )
        period = make_period(query.start, query.end, self.settings.timezone)
        sql = compile_source(
            self.context(query, period),
            metric.measure.source,
            [metric],
            self.settings,
            self.backend.dialect,
        )
        return sql or f"-- {metric_id} does not apply to this split"

    def run(self, query: Query) -> Result:
        validate(query)
        period = make_period(query.start, query.end, self.settings.timezone)
        key = self._cache_key(query, period)
        if key is None:
            return self._run(query, period)
        return RESULTS.get_or_compute(key, lambda: self._run(query, period))

    def data_key(self) -> tuple[Any, ...] | None:
        """What identifies the data this engine reads (chatlens.metrics.cache): the store
        file, the highest event seq and the derived tables' state; None when unknown."""
        store = getattr(self, "store", None)
        if store is None or store.path is None:
            return None
        try:
            identity = os.stat(store.path)  # a store made anew at the same path is another
        except OSError:
            return None
        derived = run(store.con, "SELECT name, version, upto_seq FROM derived_state ORDER BY 1")
        return (str(store.path), identity.st_dev, identity.st_ino, store.max_seq(), tuple(derived))

    def _cache_key(self, query: Query, period: Period) -> tuple[Any, ...] | None:
        """What the result depends on (chatlens.metrics.cache); None: do not keep it."""
        if "topic" in (*query.dimensions, *query.filters):
            return None
        data = self.data_key()
        if data is None:
            return None
        # a state's last interval runs until now (availability, online time): a period that
        # has not ended is kept for a minute at most
        now = dt.datetime.now(dt.UTC)
        running = int(now.timestamp() // 60) if period.utc(period.end) > now else None
        return (
            data,
            running,
            self._settings_key,
            period,
            query.metrics,
            query.grain,
            query.dimensions,
            tuple(sorted(query.filters.items())),
            query.compare,
            query.bounds,
        )

    def _run(self, query: Query, period: Period) -> Result:
        rows, calendar = self._rows(query, period)
        if query.compare:
            previous, previous_calendar = self._rows(query, period.previous())
            _attach_previous(query, rows, previous, calendar, previous_calendar)
        notes = _attach_targets(query, rows, self.settings)
        meta: dict[str, Any] = {
            "from": period.start.isoformat(),
            "to": period.end.isoformat(),
            "timezone": period.timezone,
            "grain": query.grain,
            "dimensions": list(query.dimensions),
            "filters": {k: list(v) for k, v in query.filters.items()},
            "metrics": {
                mid: {
                    "label": METRICS[mid].label,
                    "unit": METRICS[mid].unit,
                    "increase_is_bad": METRICS[mid].increase_is_bad,
                }
                for mid in query.metrics
            },
            "industry": self.settings.industry,
            "notes": notes,
        }
        if query.compare:
            previous_period = period.previous()
            meta["previous"] = {
                "from": previous_period.start.isoformat(),
                "to": previous_period.end.isoformat(),
            }
        return Result(meta, rows)

    def _compile(
        self, ctx: Context, query: Query, period: Period, source: str, metrics: list[Metric]
    ) -> str | None:
        key = (
            source,
            tuple(m.id for m in metrics),
            period,
            query.grain,
            query.dimensions,
            tuple(sorted(query.filters.items())),
            query.bounds,
            self._sql_key,
        )
        found = COMPILED.get(key, _MISSING)
        if found is _MISSING:
            found = compile_source(
                ctx, source, metrics, self.settings, self.backend.dialect, query.bounds
            )
            COMPILED.put(key, found)
        return cast("str | None", found)  # the cache holds what compile_source returned

    def _unsplit(
        self, query: Query, period: Period, wanted: Sequence[str]
    ) -> dict[tuple[Any, ...], dict[str, Any]]:
        """The `unsplit` metrics of the derived ones wanted, by (bucket, the query's other
        dimensions), computed without its list dimensions; empty when it has none."""
        needed = {
            n
            for mid in wanted
            if isinstance(METRICS[mid].measure, Derived)
            for n in METRICS[mid].measure.unsplit  # type: ignore[union-attr]
        }
        if not needed or not any(d in LIST_DIMENSIONS for d in query.dimensions):
            return {}
        kept = tuple(d for d in query.dimensions if d not in LIST_DIMENSIONS)
        sub = Query(tuple(sorted(needed)), query.start, query.end, query.grain, kept,
                    query.filters)  # fmt: skip
        rows, _ = self._rows(sub, period)
        return {(r.get("bucket"), *[r[d] for d in kept]): r for r in rows}

    def _before(
        self, query: Query, period: Period, wanted: Sequence[str]
    ) -> dict[tuple[Any, ...], dict[str, Any]]:
        """The `previous` metrics of the derived ones wanted, each computed over the bucket
        before a row's bucket (without a grain: the period of equal length before), by (the
        row's bucket label, dimension values); empty when none has any."""
        needed = {
            n
            for mid in wanted
            if isinstance(METRICS[mid].measure, Derived)
            for n in METRICS[mid].measure.previous  # type: ignore[union-attr]
        }
        if not needed:
            return {}
        sub = Query(tuple(sorted(needed)), query.start, query.end, query.grain,
                    query.dimensions, query.filters)  # fmt: skip
        if query.grain is None:
            rows, _ = self._rows(sub, period.previous())
            return {(period.start, *[r.get(d) for d in query.dimensions]): r for r in rows}
        # the same series reaching one bucket further back: each bucket's predecessor
        first = buckets(period, query.grain)[0]
        earlier = Period(period.start - (first.end - first.start), period.end, period.timezone,
                         period.closed)  # fmt: skip
        rows, calendar = self._rows(sub, earlier)
        following = {b.label.isoformat(): after.label for b, after in itertools.pairwise(calendar)}
        return {
            (following[r["bucket"]], *[r.get(d) for d in query.dimensions]): r
            for r in rows
            if r["bucket"] in following
        }

    def _rows(self, query: Query, period: Period) -> tuple[list[dict[str, Any]], list[Bucket]]:
        ctx = self.context(query, period)
        wanted = _with_needs(query.metrics)
        by_source: dict[str, list[Metric]] = defaultdict(list)
        for mid in wanted:
            metric = METRICS[mid]
            applies = all(metric.applies_to(d) for d in (*query.dimensions, *query.filters))
            if isinstance(metric.measure, Measure) and applies:
                by_source[metric.measure.source].append(metric)
        merged: dict[tuple[Any, ...], dict[str, Any]] = {}
        keys = ctx.keys
        computed: set[str] = set()
        compiled = []
        for source, metrics in by_source.items():
            for start in range(0, len(metrics), AGGREGATES_PER_QUERY):
                part = metrics[start : start + AGGREGATES_PER_QUERY]
                sql = self._compile(ctx, query, period, source, part)
                if sql is not None:
                    compiled.append((source, part, sql))
        results = self.backend.sql_many([sql for _, _, sql in compiled])
        for (source, _, _), records in zip(compiled, results, strict=True):
            computed.add(source)
            for record in records:
                key = tuple(record[k] for k in keys)
                merged.setdefault(key, dict(zip(keys, key, strict=True))).update(
                    {name: v for name, v in record.items() if name not in keys}
                )
        if not query.dimensions:  # every bucket has a row, even an empty one
            for bucket in ctx.calendar:
                merged.setdefault((bucket.label,), {"bucket": bucket.label})
        hours = {b.label: b.hours for b in ctx.calendar}
        totals = _group_totals(merged.values(), query.dimensions)
        unsplit = self._unsplit(query, period, wanted)
        before = self._before(query, period, wanted)
        kept = [d for d in query.dimensions if d not in LIST_DIMENSIONS]
        splits = (*query.dimensions, *query.filters)
        rows = []
        for key in sorted(merged, key=_sort_key):
            row = merged[key]
            for mid in wanted:
                metric = METRICS[mid]
                measure = metric.measure
                value = row.get(mid)
                if isinstance(measure, Derived):
                    value = None
                    if all(metric.applies_to(d) for d in splits):
                        at = row["bucket"].isoformat() if query.grain else None
                        context = {
                            "hours": hours.get(row["bucket"]),
                            "settings": self.settings,
                            "group_total": totals.get(_group_key(row, query.dimensions)),
                            "unsplit": unsplit.get((at, *[row[d] for d in kept]), {}),
                            "dimensions": query.dimensions,
                            "previous": before.get(
                                (row["bucket"], *[row[d] for d in query.dimensions]), {}
                            ),
                        }
                        value = measure.compute(row, context)
                elif value is None and metric.unit == "count" and measure.source in computed:
                    value = 0  # the source has rows for other keys: nothing counted here
                row[mid] = _plain(value)
            rows.append(row)
        out = []
        for row in rows:
            shaped = {"bucket": row["bucket"].isoformat()} if query.grain else {}
            shaped.update({d: row[d] for d in query.dimensions})
            shaped.update({mid: row[mid] for mid in query.metrics})
            if query.bounds:
                for mid in query.metrics:
                    if METRICS[mid].unit == "rate":
                        # null where the rate is no proportion of counted rows (utilization)
                        # or has no rows here
                        shaped[f"{mid}__lower"] = wilson_lower(
                            _plain(row.get(f"{mid}__hits")), _plain(row.get(f"{mid}__rows"))
                        )
            out.append(shaped)
        return out, ctx.calendar


def _aware(moment: dt.datetime) -> dt.datetime:
    """An instant from a backend: naive ones are UTC (the zone every backend runs in)."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC)


def _plain(value: Any) -> Any:
    """Plain JSON numbers: Decimal sums become int or float; NaN becomes null."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, float) and value != value:  # NaN from an empty correlation
        return None
    return value


def _sort_key(key: tuple[Any, ...]) -> tuple[Any, ...]:
    return tuple(
        (v is None, v if v is not None else "") if not isinstance(v, dt.datetime) else (False, v)
        for v in key
    )


def _group_key(row: Mapping[str, Any], dimensions: Sequence[str]) -> tuple[Any, ...]:
    return (row["bucket"], *[row.get(d) for d in dimensions if d != "channel"])


def _group_totals(rows: Any, dimensions: Sequence[str]) -> dict[tuple[Any, ...], float]:
    totals: dict[tuple[Any, ...], float] = defaultdict(float)
    for row in rows:
        totals[_group_key(row, dimensions)] += row.get("conversations") or 0
    return totals


def _by_position(
    query: Query, rows: list[dict[str, Any]], calendar: list[Bucket]
) -> dict[tuple[Any, ...], dict[str, Any]]:
    """Shaped rows by (position of their bucket in the calendar, dimension values): the
    rows of two periods of equal length line up by position (day 1 with day 1)."""
    index = {b.label.isoformat(): i for i, b in enumerate(calendar)}
    return {
        (index.get(r["bucket"]) if query.grain else 0, *[r.get(d) for d in query.dimensions]): r
        for r in rows
    }


def _attach_previous(
    query: Query,
    rows: list[dict[str, Any]],
    previous: list[dict[str, Any]],
    calendar: list[Bucket],
    previous_calendar: list[Bucket],
) -> None:
    """`<id>__previous` and the change: each row with the previous period's row at the same
    bucket position and dimension values. With dimensions a value may have no row on one
    side: a count is then 0 there (nothing counted), any other metric null; a value that
    had a row only in the previous period gets a row of its own (a drop to 0 is a change)."""
    before = _by_position(query, previous, previous_calendar)
    now_at = _by_position(query, rows, calendar)
    splits = (*query.dimensions, *query.filters)
    gone = [key for key in before if key not in now_at and key[0] is not None]
    for key in gone:
        row = {"bucket": calendar[key[0]].label.isoformat()} if query.grain else {}
        row.update(zip(query.dimensions, key[1:], strict=True))
        for mid in query.metrics:
            metric = METRICS[mid]
            counted = metric.unit == "count" and all(metric.applies_to(d) for d in splits)
            row[mid] = 0 if counted else None
            if query.bounds and metric.unit == "rate":
                row[f"{mid}__lower"] = None
        now_at[key] = row
    if gone:
        rows[:] = [now_at[k] for k in sorted(now_at, key=_sort_key)]
    for key, row in now_at.items():
        old = before.get(key)
        for mid in query.metrics:
            metric = METRICS[mid]
            now = row.get(mid)
            if old is not None:
                then = old.get(mid)
            elif metric.unit == "count" and all(metric.applies_to(d) for d in splits):
                then = 0
            else:
                then = None
            row[f"{mid}__previous"] = then
            change = None if now is None or then is None else now - then
            row[f"{mid}__change"] = change
            row[f"{mid}__change_pct"] = change / abs(then) if change is not None and then else None


def _attach_targets(query: Query, rows: list[dict[str, Any]], settings: Settings) -> list[str]:
    """`<id>__goal` and `<id>__band` on every row; returns the notes of ignored goals."""
    goals, ignored = usable_goals(settings.goals)
    for mid in query.metrics:
        goal = goals.get(mid)
        banded = band_of(mid, settings.industry) is not None
        for row in rows:
            if goal is not None:
                row[f"{mid}__goal"] = goal_result(goal, row.get(mid))
            if banded:
                row[f"{mid}__band"] = classify(
                    mid, row.get(mid), settings.industry, settings.currency
                )
    return [ignored[mid] for mid in query.metrics if mid in ignored]
