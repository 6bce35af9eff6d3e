"""How a metric is declared: what it means, its unit, and how it is measured.

A metric is data: an id from docs/metrics.md, a label, a one-line description, a unit, whether an
increase is bad, which dimensions apply, and a `Measure`: which source
table it aggregates and the ibis aggregate over it. Metrics that combine other metrics after
aggregation (containment = 1 - handoff rate, cost savings...) use `Derived`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import ibis.expr.types as ir

from chatlens.store.settings import Settings

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

CONVERSATION_DIMENSIONS: tuple[str, ...] = (
    "channel",
    "bot_id",
    "agent_id",
    "team",
    "tag",
    "tag_category",
    "goal",
    "topic",
    "initiated_by",
    "outcome",
    "hour_of_day",
    "weekday",
)
"""Dimensions of a conversation (what metrics over conversations split by by default)."""
TICKET_DIMENSIONS: tuple[str, ...] = ("ticket_category", "ticket_urgency")
"""Dimensions of a help-desk ticket (its `category` and `urgency`), for ticket metrics."""
TICKET_PEOPLE: tuple[str, ...] = ("agent_id", "team")
"""Envelope dimensions ticket metrics also split by: the agent and team named on the ticket
event counted (for a ticket's resolution time and backlog: on its first `ticket_resolved`,
else its `ticket_created`)."""
DIMENSIONS: tuple[str, ...] = CONVERSATION_DIMENSIONS + TICKET_DIMENSIONS
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
class Derived:
    """A value computed from other metrics of the same row, after aggregation."""

    needs: tuple[str, ...]
    compute: Callable[[Mapping[str, Any], Mapping[str, Any]], float | None]
    """(values of the row by metric id, query context) -> value."""
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
    id: str
    label: str
    description: str
    unit: Unit
    section: str
    measure: Measure | Derived
    increase_is_bad: bool = False
    dimensions: frozenset[str] = field(default_factory=lambda: frozenset(CONVERSATION_DIMENSIONS))
    attrs_dimensions: bool = True
    read_by: tuple[str, ...] = ()
    """A share of the row's bucket, read split by one of these dimensions (a single total
    of it says nothing: report pages show it in their breakdowns, not as a tile)."""

    def applies_to(self, dimension: str) -> bool:
        if dimension.startswith("attrs."):
            return self.attrs_dimensions
        return dimension in self.dimensions
