"""Step 1 of a query, pure: what was asked (`Query`) becomes what to compute (`Plan`).

A plan holds the validated metric ids with what derived ones need, the metrics grouped by
the source table they aggregate, ONE `Period` (built here, from dates parsed once when the
query was made) and its buckets. Nothing here touches a store: the later steps compile a
plan per source (chatlens.metrics.compile), run it on a backend (chatlens.metrics.query)
and shape the rows (chatlens.metrics.shape).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from chatlens.errors import InputError, did_you_mean
from chatlens.metrics.catalogue import METRICS
from chatlens.metrics.dimensions import is_dimension, names
from chatlens.metrics.model import GRAINS, Derived, Measure, Metric
from chatlens.metrics.periods import Bucket, Period, buckets, make_period, parse_moment


@dataclass(frozen=True, kw_only=True)
class Query:
    """What a report asks: metrics x period x grain x dimensions x filters (+ comparison,
    bounds). `start` and `end` are dates (whole days) or local date-times (that instant),
    both inclusive; ISO text is accepted and parsed once, here."""

    metrics: tuple[str, ...]
    start: dt.date | str
    end: dt.date | str
    grain: str | None = None
    dimensions: tuple[str, ...] = ()
    filters: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    compare: bool = False
    bounds: bool = False
    """Add `<id>__lower` to each rate: the lower bound of its 95% Wilson score interval
    (metrics.md "Fair rankings": 2 of 2 must not outrank 95 of 100)."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "metrics", tuple(self.metrics))
        object.__setattr__(self, "dimensions", tuple(self.dimensions))
        object.__setattr__(self, "start", parse_moment(self.start, end=False))
        object.__setattr__(self, "end", parse_moment(self.end, end=True))

    @property
    def first(self) -> dt.date:
        """`start` as parsed (a date or a datetime)."""
        assert isinstance(self.start, dt.date)
        return self.start

    @property
    def last(self) -> dt.date:
        """`end` as parsed (a date or a datetime)."""
        assert isinstance(self.end, dt.date)
        return self.end


def validate(query: Query) -> None:
    """Unknown metric ids, grains and dimensions are input errors that say what exists."""
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
        if not is_dimension(dim):
            raise InputError(
                f"unknown dimension {dim!r}{did_you_mean(dim, names())}; expected one "
                f"of {', '.join(names())} or attrs.<key>"
            )
    if len(set(query.dimensions)) != len(query.dimensions):
        raise InputError("a dimension is named twice in --by")


def with_needs(ids: Sequence[str]) -> tuple[str, ...]:
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
    return tuple(ordered)


AGGREGATES_PER_QUERY = 25
"""A source's metrics are computed in statements of at most this many: DuckDB's cost per
aggregate grows with their number in one statement (measured over 1M conversations, the
conversations source's 102 metrics: 2.2 s of CPU in one statement, 1.1 s in chunks of 25 by
total, 2.8 s against 1.5 s by day; chunks of 10 or 50 no better)."""


@dataclass(frozen=True)
class Plan:
    """What to compute for a query over one period (see the module)."""

    query: Query
    period: Period
    calendar: tuple[Bucket, ...]
    wanted: tuple[str, ...]
    """The asked metrics and what derived ones need, dependencies first."""

    @property
    def splits(self) -> tuple[str, ...]:
        """The dimensions the query splits or filters by."""
        return (*self.query.dimensions, *self.query.filters)

    def applies(self, metric: Metric) -> bool:
        """The metric can be split and filtered as asked (else its value is null)."""
        return all(metric.applies_to(d) for d in self.splits)

    @property
    def statements(self) -> tuple[tuple[str, tuple[Metric, ...]], ...]:
        """(source, metrics) per SQL statement: the wanted measured metrics that apply,
        grouped by source in chunks of at most AGGREGATES_PER_QUERY."""
        by_source: dict[str, list[Metric]] = {}
        for mid in self.wanted:
            metric = METRICS[mid]
            if isinstance(metric.measure, Measure) and self.applies(metric):
                by_source.setdefault(metric.measure.source, []).append(metric)
        return tuple(
            (source, tuple(metrics[i : i + AGGREGATES_PER_QUERY]))
            for source, metrics in by_source.items()
            for i in range(0, len(metrics), AGGREGATES_PER_QUERY)
        )

    def derived_needs(self, attribute: str) -> tuple[str, ...]:
        """The metrics the wanted derived ones need `unsplit` or `previous` (sorted)."""
        needed: set[str] = set()
        for mid in self.wanted:
            measure = METRICS[mid].measure
            if isinstance(measure, Derived):
                needed.update(getattr(measure, attribute))
        return tuple(sorted(needed))

    def over(self, period: Period, **changes: Any) -> Plan:
        """The same question over another period (and other query fields)."""
        query = replace(self.query, **changes) if changes else self.query
        if changes:
            validate(query)
        return Plan(
            query,
            period,
            tuple(buckets(period, query.grain)),
            with_needs(query.metrics),
        )

    def previous(self) -> Plan:
        """The same question over the period of equal length before."""
        return self.over(self.period.previous())


def make_plan(query: Query, timezone: str) -> Plan:
    """Validate the query and resolve its period in the workspace's time zone."""
    validate(query)
    period = make_period(query.first, query.last, timezone)
    return Plan(query, period, tuple(buckets(period, query.grain)), with_needs(query.metrics))
