"""Running a query: metrics x period x grain x dimensions x filters (+ comparison, goals).

Four steps, each its own module: `plan` (the query validated, its period and buckets
resolved once; pure), `compile` (one SQL statement per source, grouped by the same keys),
run (here: the `Engine` writes the statements' inputs to its backend, runs them, and keeps
compiled SQL and results in the `Caches` it was given) and `shape` (rows merged by key,
derived metrics, comparison, goals, bands, Wilson bounds).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import itertools
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from chatlens.metrics import shape
from chatlens.metrics.business_hours import utc_intervals
from chatlens.metrics.cache import Caches
from chatlens.metrics.catalogue import METRICS
from chatlens.metrics.compile import compile_plan, compile_source, context
from chatlens.metrics.model import Derived
from chatlens.metrics.periods import Period, buckets, make_period
from chatlens.metrics.plan import Plan, Query, make_plan, validate
from chatlens.metrics.shape import Keyed, Row, wilson_lower
from chatlens.metrics.sources import BUSINESS_HOURS_SCHEMA, CALENDAR_SCHEMA, Context
from chatlens.metrics.sources_base import TOPICS_TABLE
from chatlens.store import Store
from chatlens.store.backend import Backend, DuckDBBackend
from chatlens.store.facts import FACTS_TABLE, build_facts_table, facts_settings_differ
from chatlens.store.settings import Settings, load_settings, make_settings
from chatlens.store.sql import run

__all__ = ["Engine", "Query", "Result", "compile_source", "validate", "wilson_lower"]


@dataclass
class Result:
    """Rows read by name: `bucket` (with a grain), each dimension, each metric id (and with
    comparison `<id>__previous`, `<id>__change`, `<id>__change_pct`; `<id>__goal` where the
    workspace set a goal (chatlens.metrics.targets.goal_result), `<id>__band` where the
    metric has a benchmark band for the workspace's industry; with bounds `<id>__lower` for
    rates). `meta["notes"]`: what a reader should know, e.g. a stored goal that is ignored."""

    meta: dict[str, Any]
    rows: list[dict[str, Any]]


class Engine:
    """Runs queries against one store (DuckDB), or through `Engine.on` any other backend.

    `caches`: where compiled SQL and results are kept (chatlens.metrics.cache); engines
    given the same one share them (a server's pool), an engine given none keeps its own."""

    store: Store
    """The DuckDB store (not set on an engine made by `Engine.on`)."""

    def __init__(
        self,
        store: Store,
        overrides: Mapping[str, Any] | None = None,
        *,
        caches: Caches | None = None,
    ):
        self.store = store
        stored = load_settings(store.con)
        settings = make_settings({**stored.model_dump(), **(overrides or {})})
        facts_table = FACTS_TABLE
        if facts_settings_differ(stored, settings):
            facts_table = "_facts_override"
            build_facts_table(store, settings, facts_table)
        self._attach(DuckDBBackend(store), settings, facts_table, caches)

    @classmethod
    def on(
        cls,
        backend: Backend,
        settings: Settings,
        facts_table: str = FACTS_TABLE,
        *,
        caches: Caches | None = None,
    ) -> Engine:
        """An engine over `backend`, whose tables `events`, `agent_stints` and `facts_table`
        already hold the facts derived under `settings` (see chatlens.store.spark)."""
        engine = cls.__new__(cls)
        engine._attach(backend, settings, facts_table, caches)
        return engine

    def _attach(
        self, backend: Backend, settings: Settings, facts_table: str, caches: Caches | None
    ) -> None:
        self.backend = backend
        self.settings = settings
        self.facts_table = facts_table
        self.caches = caches if caches is not None else Caches()
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

    # step 1: plan
    def plan(self, query: Query) -> Plan:
        """The query validated, over its period in the workspace's time zone."""
        return make_plan(query, self.settings.timezone)

    # the inputs of step 2's SQL, written to the backend
    def prepare(self, plan: Plan) -> Context:
        """Write what the compiled SQL reads beyond the store to this engine's connection:
        the plan's buckets (temp table `_calendar`) and the business hours around its period
        (`_business_hours`); both are replaced on every call. Returns the sources' context."""
        period = plan.period
        rows = [
            (
                b.label,
                b.start,
                b.end,
                period.utc(b.start),
                period.utc(b.end),
                b.start - (b.end - b.start),
            )
            for b in plan.calendar
        ]
        self.backend.create_temp_table("_calendar", CALENDAR_SCHEMA, rows)
        self.backend.create_temp_table(
            "_business_hours", BUSINESS_HOURS_SCHEMA, self._business_hours(period)
        )
        return context(plan, self.schemas, self.facts_table, self.settings)

    def context(self, query: Query, period: Period | None = None) -> Context:
        """`prepare` for a query (over `period`, else its own): for callers that build on
        the sources themselves (exports, incidents)."""
        plan = self.plan(query)
        return self.prepare(plan if period is None else plan.over(period))

    def period(self, start: str | dt.date, end: str | dt.date) -> Period:
        """A period in the workspace's time zone (bounds as in a query)."""
        return make_period(start, end, self.settings.timezone)

    def sources_over(self, period: Period) -> Context:
        """`prepare` for a period alone, unsplit and unfiltered (no metric asked): for
        callers that build on the sources directly (chatlens.metrics.incidents)."""
        query = Query(metrics=(), start=period.start, end=period.end)
        return self.prepare(Plan(query, period, tuple(buckets(period, None)), ()))

    def _business_hours(self, period: Period) -> list[tuple[dt.datetime, dt.datetime]]:
        """The workspace's business hours as UTC intervals over every day with data (each
        day under the schedule or holiday in force on it)."""
        hours = self.settings.business_hours
        if not hours:
            return []
        bounds = self.backend.sql("SELECT min(ts) AS lo, max(ts) AS hi FROM events")[0]
        if bounds["lo"] is None:
            return []
        zone = ZoneInfo(self.settings.timezone)
        lo, hi = (_aware(bounds[k]).astimezone(zone).date() for k in ("lo", "hi"))
        first = min(lo, period.start.date()) - dt.timedelta(days=1)
        last = max(hi, period.end.date()) + dt.timedelta(days=1)
        return utc_intervals(hours, first, last, zone)

    def explain(self, metric_id: str, query: Query) -> str:
        validate(query)
        metric = METRICS[metric_id]
        if isinstance(metric.measure, Derived):
            return (
                f"-- {metric_id} is computed from {', '.join(metric.measure.needs)} "
                "after aggregation:\n"
                + "\n".join(self.explain(n, query) for n in metric.measure.needs)
            )
        plan = self.plan(query)
        sql = compile_source(
            self.prepare(plan),
            metric.measure.source,
            [metric],
            self.settings,
            self.backend.dialect,
        )
        return sql or f"-- {metric_id} does not apply to this split"

    def run(self, query: Query) -> Result:
        plan = self.plan(query)
        key = self._cache_key(plan)
        if key is None:
            return self._result(plan)
        return self.caches.results.get_or_compute(key, lambda: self._result(plan))

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

    def _cache_key(self, plan: Plan) -> tuple[Any, ...] | None:
        """What the result depends on (chatlens.metrics.cache); None: do not keep it."""
        query, period = plan.query, plan.period
        if "topic" in plan.splits:
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

    def _result(self, plan: Plan) -> Result:
        rows = self._rows(plan)
        if plan.query.compare:
            earlier = plan.previous()
            shape.attach_previous(plan, rows, self._rows(earlier), earlier)
        notes = shape.attach_targets(plan.query, rows, self.settings)
        return Result(shape.meta(plan, self.settings, notes), rows)

    # steps 2 and 3: compile and run
    def _figures(self, plan: Plan) -> tuple[Keyed, set[str]]:
        """The plan's statements run, their rows merged by key; and the sources computed."""
        ctx = self.prepare(plan)
        compiled = compile_plan(
            plan,
            ctx,
            settings=self.settings,
            dialect=self.backend.dialect,
            compiled=self.caches.compiled,
            shape_key=self._sql_key,
        )
        results = self.backend.sql_many([sql for _, sql in compiled])
        return shape.merge(plan, results), {source for source, _ in compiled}

    def _rows(self, plan: Plan) -> list[Row]:
        """The plan's shaped rows (step 4 on what steps 2 and 3 computed)."""
        merged, computed = self._figures(plan)
        rows = shape.derive(
            plan,
            merged,
            computed,
            settings=self.settings,
            unsplit=self._unsplit(plan),
            before=self._before(plan),
        )
        return shape.shaped(plan, rows)

    def _unsplit(self, plan: Plan) -> Keyed:
        """The `unsplit` metrics of the derived ones wanted, by (bucket, the query's other
        dimensions), computed without its list dimensions; empty when it has none."""
        needed = plan.derived_needs("unsplit")
        kept = shape.unsplit_dimensions(plan)
        if not needed or kept is None:
            return {}
        sub = plan.over(plan.period, metrics=needed, dimensions=kept, compare=False, bounds=False)
        return {(r.get("bucket"), *[r[d] for d in kept]): r for r in self._rows(sub)}

    def _before(self, plan: Plan) -> Keyed:
        """The `previous` metrics of the derived ones wanted, each computed over the bucket
        before a row's bucket (without a grain: the period of equal length before), by (the
        row's bucket label, dimension values); empty when none has any."""
        needed = plan.derived_needs("previous")
        if not needed:
            return {}
        query, period = plan.query, plan.period
        dims = query.dimensions
        if query.grain is None:
            sub = plan.over(period.previous(), metrics=needed, compare=False, bounds=False)
            return {(period.start, *[r.get(d) for d in dims]): r for r in self._rows(sub)}
        # the same series reaching one bucket further back: each bucket's predecessor
        first = plan.calendar[0]
        earlier = Period(
            period.start - (first.end - first.start), period.end, period.timezone, period.closed
        )
        sub = plan.over(earlier, metrics=needed, compare=False, bounds=False)
        following = {
            b.label.isoformat(): after.label for b, after in itertools.pairwise(sub.calendar)
        }
        return {
            (following[r["bucket"]], *[r.get(d) for d in dims]): r
            for r in self._rows(sub)
            if r["bucket"] in following
        }


def _aware(moment: dt.datetime) -> dt.datetime:
    """An instant from a backend: naive ones are UTC (the zone every backend runs in)."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC)
