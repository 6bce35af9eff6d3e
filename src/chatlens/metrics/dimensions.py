"""Report dimensions, declared once, as data: name, kind, label, the column holding it, the
expression giving a row's value and the filter keeping the asked values.

Kinds:
- `value`: one value per conversation or event, a column of the same name;
- `list`: a list on a conversation (`column`): split, a conversation counts once in each of
  its elements; on an event or a ticket it is the plain column of the same name;
- `local_time`: read from the row's local start time (filter values are whole numbers);
- `topic`: the conversation's topic, filtered by name or by the id `chatlens topics list`
  shows;
- `ticket`: a help-desk ticket's own (its category and urgency);
- `attribute`: `attrs.<key>`, any attribute key (made on demand by `dimension`).

Which dimensions a metric splits by is not declared by the metric: each source of
chatlens.metrics.sources declares which it carries, and a metric splits by what its source
carries (a derived metric: what all it needs carry). The pages' menus read `MENU` and the
API and docs read `names()`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import ibis
import ibis.expr.types as ir

Kind = Literal["value", "list", "local_time", "topic", "ticket", "attribute"]
Values = tuple[str, ...]


@dataclass(frozen=True)
class Dimension:
    name: str
    kind: Kind
    label: str
    column: str
    """The column holding it: on a conversation's facts for `list` (`agents` for
    `agent_id`), the attribute key for `attribute`, else the column of the same name."""
    expression: Callable[[ir.Table, ir.TimestampValue], ir.Value]
    """(table, local start time) -> the row's value."""
    filter: Callable[[ir.Table, ir.TimestampValue, Values], ir.BooleanValue]
    """(table, local start time, asked values) -> whether a row is kept."""
    menu: int = 0
    """Its place in the report pages' filter menus (1 first; 0: not offered)."""


def _column(name: str) -> Callable[[ir.Table, ir.TimestampValue], ir.Value]:
    return lambda t, local: t[name]


def _as_text(
    dimension: Callable[[ir.Table, ir.TimestampValue], ir.Value],
) -> Callable[[ir.Table, ir.TimestampValue, Values], ir.BooleanValue]:
    return lambda t, local, values: dimension(t, local).cast("string").isin(list(values))


def _as_int(
    dimension: Callable[[ir.Table, ir.TimestampValue], ir.Value],
) -> Callable[[ir.Table, ir.TimestampValue, Values], ir.BooleanValue]:
    return lambda t, local, values: dimension(t, local).isin([int(v) for v in values])


def _value(name: str, label: str, kind: Kind = "value", menu: int = 0) -> Dimension:
    return Dimension(name, kind, label, name, _column(name), _as_text(_column(name)), menu)


def _listed(name: str, label: str, column: str, menu: int = 0) -> Dimension:
    def keep(t: ir.Table, local: ir.TimestampValue, values: Values) -> ir.BooleanValue:
        if column in t.columns:  # a conversation: any element asked
            return ibis.or_(*[t[column].contains(v) for v in values])
        return t[name].cast("string").isin(list(values))

    return Dimension(name, "list", label, column, _column(name), keep, menu)


def _local(name: str, label: str, value: Callable[[ir.TimestampValue], ir.Value]) -> Dimension:
    def expression(t: ir.Table, local: ir.TimestampValue) -> ir.Value:
        return value(local)

    return Dimension(name, "local_time", label, name, expression, _as_int(expression))


def _topic_filter(t: ir.Table, local: ir.TimestampValue, values: Values) -> ir.BooleanValue:
    return t.topic.isin(list(values)) | t.topic_id.cast("string").isin(list(values))


REGISTRY: dict[str, Dimension] = {
    d.name: d
    for d in (
        _value("channel", "Channel", menu=1),
        _value("bot_id", "Bot", menu=2),
        _listed("agent_id", "Agent", "agents", menu=4),
        _value("team", "Team", menu=3),
        _listed("tag", "Tag", "tags", menu=5),
        _listed("tag_category", "Tag category", "tag_categories"),
        _listed("goal", "Goal", "goals"),
        Dimension("topic", "topic", "Topic", "topic", _column("topic"), _topic_filter, 6),
        _value("initiated_by", "Initiated by"),
        _value("outcome", "Outcome"),
        _local("hour_of_day", "Hour of day", lambda local: local.hour()),
        _local("weekday", "Weekday (0 = Monday)", lambda local: local.day_of_week.index()),
        _value("ticket_category", "Ticket category", "ticket"),
        _value("ticket_urgency", "Ticket urgency", "ticket"),
    )
}
"""Every report dimension by name (plus `attrs.<key>`, see `dimension`)."""

ATTRS = "attrs."


def dimension(name: str) -> Dimension:
    """The declaration of a dimension, `attrs.<key>` included (KeyError if unknown)."""
    if name.startswith(ATTRS) and len(name) > len(ATTRS):
        key = name[len(ATTRS) :]

        def expression(t: ir.Table, local: ir.TimestampValue) -> ir.Value:
            return t.attrs[key].str

        return Dimension(
            name, "attribute", f"Attribute {key}", key, expression, _as_text(expression)
        )
    return REGISTRY[name]


def is_dimension(name: str) -> bool:
    return name in REGISTRY or (name.startswith(ATTRS) and len(name) > len(ATTRS))


def names(*kinds: Kind) -> tuple[str, ...]:
    """The declared dimensions' names (of these kinds), in declaration order."""
    return tuple(d.name for d in REGISTRY.values() if not kinds or d.kind in kinds)


LIST_COLUMNS: dict[str, str] = {d.name: d.column for d in REGISTRY.values() if d.kind == "list"}
"""Dimensions that are lists on a conversation, with their facts column."""
CONVERSATION: frozenset[str] = frozenset(names("value", "list", "local_time", "topic"))
"""What a conversation carries."""
ENVELOPE: frozenset[str] = frozenset({"channel", "bot_id", "agent_id", "team"})
"""What every event's envelope may carry."""
TICKET: frozenset[str] = frozenset(names("ticket"))
TICKET_PEOPLE: tuple[str, ...] = ("agent_id", "team")
"""Envelope dimensions a ticket also carries: the agent and team named on the ticket event
counted (for a ticket's resolution time and backlog: on its first `ticket_resolved`, else its
`ticket_created`)."""
MENU: tuple[str, ...] = tuple(
    d.name for d in sorted(REGISTRY.values(), key=lambda d: d.menu) if d.menu
)
"""The report pages' filter menus."""
