"""How a metric is declared: what it means, its unit, and how it is measured.

A metric is data: an id from docs/metrics.md, a label, a one-line description, a unit, whether an
increase is bad, which dimensions apply, and a `Measure`: which source
table it aggregates and the ibis aggregate over it. Metrics that combine other metrics after
aggregation (containment = 1 - handoff rate, cost savings...) use `Derived`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any, Literal

import ibis.expr.types as ir

from chatlens.metrics.dimensions import TICKET_PEOPLE, names
from chatlens.store.settings import Settings

__all__ = ["TICKET_PEOPLE"]

Unit = Literal[
    "count",
    "rate",
    "seconds",
    "score",
    "money",
    "per_hour",
    "ratio",
    "hour",
    "weekday",
    "percent_points",
    "nps",
]

CONVERSATION_DIMENSIONS: tuple[str, ...] = names("value", "list", "local_time", "topic")
"""Dimensions of a conversation (chatlens.metrics.dimensions declares them all)."""
TICKET_DIMENSIONS: tuple[str, ...] = names("ticket")
"""Dimensions of a help-desk ticket (its `category` and `urgency`), for ticket metrics."""
DIMENSIONS: tuple[str, ...] = names()
"""Report dimensions (plus `attrs.<key>` for any attribute key)."""

GRAINS: tuple[str, ...] = ("hour", "day", "week", "month", "year")


@dataclass(frozen=True)
class Measure:
    """An aggregate over one source table.

    Sources: `conversations` (one row per conversation that started in the period),
    `list:<column>` (one row per element of a list column of those conversations, in
    `value`), `events:<type>` (events of that type in the period), and the interval and
    customer sources named in `sources.py`.
    """

    source: str
    build: Callable[[ir.Table, Settings], ir.Value]
    parts: Callable[[ir.Table, Settings], tuple[ir.Value, ir.Value]] | None = None
    """For a rate that is a proportion of counted rows: (hits, rows), for its confidence
    bound (Query.bounds)."""


@dataclass(frozen=True)
class DerivedContext:
    """What a derived metric may read beyond its row's values."""

    hours: float | None
    """Real elapsed hours of the row's bucket."""
    settings: Settings
    group_total: float | None
    """The conversations of the row's bucket and other dimensions, all channels together."""
    unsplit: Mapping[str, Any]
    """`Derived.unsplit` metrics of the row without its list dimensions (empty if none)."""
    dimensions: tuple[str, ...]
    """The query's dimensions."""
    previous: Mapping[str, Any]
    """`Derived.previous` metrics of the bucket before the row's (empty if none)."""


@dataclass(frozen=True)
class Derived:
    """A value computed from other metrics of the same row, after aggregation."""

    needs: tuple[str, ...]
    compute: Callable[[Mapping[str, Any], DerivedContext], float | None]
    """(values of the row by metric id, its context) -> value."""
    unsplit: tuple[str, ...] = ()
    """Metrics also computed for the row's bucket and other dimensions without the split
    by list dimensions (tag, agent: a conversation counted once), in the context as
    `unsplit` (by metric id; null when the query splits by no list dimension)."""
    previous: tuple[str, ...] = ()
    """Metrics also computed for the bucket before the row's (without a grain: the period
    of equal length before the query's), same dimension values, in the context as
    `previous` (by metric id)."""


@dataclass(frozen=True)
class Metric:
    """A metric of the catalogue. Which dimensions it splits by is not declared here: a
    measured metric splits by what its source carries (chatlens.metrics.sources), a derived
    one by what all it needs split by, so a declared split can never be silently null."""

    id: str
    label: str
    description: str
    unit: Unit
    section: str
    measure: Measure | Derived
    increase_is_bad: bool = False
    read_by: tuple[str, ...] = ()
    """A share of the row's bucket, read split by one of these dimensions (a single total
    of it says nothing: report pages show it in their breakdowns, not as a tile)."""

    @property
    def dimensions(self) -> frozenset[str]:
        """The dimensions this metric splits and filters by (attrs.<key> aside)."""
        return _splits(self.measure)[0]

    @property
    def attrs_dimensions(self) -> bool:
        """Whether it splits and filters by attrs.<key>."""
        return _splits(self.measure)[1]

    def applies_to(self, dimension: str) -> bool:
        if dimension.startswith("attrs."):
            return self.attrs_dimensions
        return dimension in self.dimensions


@cache
def _splits(measure: Measure | Derived) -> tuple[frozenset[str], bool]:
    from chatlens.metrics.sources import SOURCES  # sources build on this module

    if isinstance(measure, Measure):
        source = SOURCES[measure.source]
        return source.dimensions, source.attrs
    from chatlens.metrics.catalogue import METRICS

    needs = [_splits(METRICS[n].measure) for n in measure.needs]
    return frozenset.intersection(*(d for d, _ in needs)), all(a for _, a in needs)
