"""The building blocks of the tables metrics aggregate (sources.py has the registry).

Every source carries a `bucket` column (the local start of the row's time bucket; the period
start when there is no grain) and the requested dimension columns, so every metric of a query
groups by the same keys. Conversations belong to the bucket in which they started.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import ibis
import ibis.expr.datatypes as dtypes
import ibis.expr.types as ir

from chatlens.errors import InputError
from chatlens.metrics.dimensions import LIST_COLUMNS, dimension
from chatlens.metrics.periods import Bucket, Period, step
from chatlens.store.settings import Settings

UTC_TIMESTAMP = dtypes.Timestamp(timezone="UTC")
_LOCAL = dtypes.Timestamp()


@ibis.udf.scalar.builtin(name="timezone")  # type: ignore[untyped-decorator]  # ibis: untyped
def local_time(zone: str, ts: UTC_TIMESTAMP) -> _LOCAL:  # type: ignore[valid-type]
    """UTC instant -> wall-clock time in the zone (DuckDB's timezone(zone, timestamptz))."""


_TRUNC = {"hour": "h", "day": "D", "week": "W", "month": "M", "year": "Y"}
LIST_DIMENSIONS = LIST_COLUMNS
"""Dimensions that are lists on a conversation: split, a conversation counts in each."""
TOPICS_TABLE = "conversation_topics"
"""Each conversation's topic (chatlens.topics), joined to the facts when `topic` is asked."""
CALENDAR_SCHEMA = ibis.schema(
    {
        "bucket": "timestamp",
        "bucket_start": "timestamp",
        "bucket_end": "timestamp",
        "start_utc": "timestamp('UTC')",
        "end_utc": "timestamp('UTC')",
        "previous_start": "timestamp",
    }
)
"""The temp table `_calendar`: the query's buckets, local bounds and UTC bounds."""
BUSINESS_HOURS_SCHEMA = ibis.schema(
    {"start_utc": "timestamp('UTC')", "end_utc": "timestamp('UTC')"}
)
"""The temp table `_business_hours`: the workspace's business hours as UTC intervals."""


@dataclass
class Context:
    """Everything a source needs to build its table."""

    period: Period
    grain: str | None
    dimensions: tuple[str, ...]
    filters: Mapping[str, tuple[str, ...]]
    schemas: Mapping[str, ibis.Schema]
    facts_table: str
    calendar: list[Bucket]
    settings: Settings

    @property
    def keys(self) -> list[str]:
        return ["bucket", *self.dimensions]

    def table(self, name: str) -> ir.Table:
        return ibis.table(self.schemas[name], name=name)


def bucket_of(ctx: Context, local: ir.TimestampValue) -> ir.Value:
    if ctx.grain is None:
        return ibis.literal(ctx.period.start, type="timestamp")
    return local.truncate(_TRUNC[ctx.grain])


ALIGNED_UNITS = {"hour": {"hours": 1}, "day": {"days": 1}, "week": {"days": 7}}
"""Grains of fixed length in local time."""


def aligned(ctx: Context) -> bool:
    """Every bucket is a whole hour, day or week: the window of equal length before a bucket
    is then the bucket before it, and a row's bucket is its truncated local time (an
    equality join instead of a range join with the calendar)."""
    if ctx.grain not in ALIGNED_UNITS:
        return False
    return all(b.start == b.label and b.end == step(b.label, ctx.grain) for b in ctx.calendar)


def in_period(ctx: Context, local: ir.TimestampValue, period: Period | None = None) -> ir.Value:
    p = period or ctx.period
    end = ibis.literal(p.end, type="timestamp")
    return (local >= ibis.literal(p.start, type="timestamp")) & (
        local <= end if p.closed else local < end
    )


def dimension_of(t: ir.Table, name: str, local: ir.TimestampValue) -> ir.Value:
    """A row's value of a dimension (chatlens.metrics.dimensions declares how)."""
    return dimension(name).expression(t, local)


def apply_filters(ctx: Context, t: ir.Table, local: ir.TimestampValue) -> ir.Table:
    """Filtered by every dimension filter of the query (the source carries them all:
    chatlens.metrics.sources checks before building)."""
    for name, values in ctx.filters.items():
        t = t.filter(dimension(name).filter(t, local, tuple(values)))
    return t


def utc_bounds(ctx: Context, ts: ir.TimestampValue, period: Period | None = None) -> list[ir.Value]:
    """The period's bounds compared in UTC: a cheap first cut (zone maps skip whole row
    groups) before the exact test on local time. A day's margin on either side, so that a
    bound at a repeated or skipped wall-clock hour never cuts off a row the local test keeps."""
    p = period or ctx.period
    margin = dt.timedelta(days=1)
    return [
        ts >= ibis.literal(p.utc(p.start) - margin, type=UTC_TIMESTAMP),
        ts <= ibis.literal(p.utc(p.end) + margin, type=UTC_TIMESTAMP),
    ]


def period_facts(ctx: Context, period: Period | None = None, *, offered: bool = False) -> ir.Table:
    """Conversations' facts with their local start time, filtered by the query's filters
    and, when given, to those started in `period` (bounds compared in UTC first, so the
    scan skips what lies outside). `offered`: a conversation's agents also include those
    it was offered to or who declined it (for missed chats per agent)."""
    f = ctx.table(ctx.facts_table)
    if period is not None:
        f = f.filter(*utc_bounds(ctx, f.started_at, period))
    if offered:
        f = f.mutate(agents=f.agents.concat(f.offered_to).concat(f.declined_by).unique())
    f = f.mutate(local_ts=local_time(ctx.period.timezone, f.started_at))
    if "topic" in (*ctx.dimensions, *ctx.filters):
        f = with_topic(ctx, f)
    return apply_filters(ctx, f, f.local_ts)


def with_topic(ctx: Context, f: ir.Table) -> ir.Table:
    """The conversations with their `topic` (name) and `topic_id`; null when the
    conversation has no question or topics were never built."""
    if TOPICS_TABLE not in ctx.schemas:
        raise InputError(
            "the topic dimension needs topics in the store: run `chatlens topics rebuild`"
        )
    t = ctx.table(TOPICS_TABLE)
    t = t.select(_topic_of=t.conversation_id, topic=t.topic, topic_id=t.topic_id)
    return f.left_join(t, f.conversation_id == t._topic_of).drop("_topic_of")


def conversations(
    ctx: Context,
    period: Period | None = None,
    *,
    split: bool | frozenset[str] = True,
    offered: bool = False,
) -> ir.Table | None:
    """One row per conversation started in the period (per element, for list dimensions).
    Split or filtered by agent, the figures credited to one agent of the chat are kept
    only on that agent's row (`credited`)."""
    splits = set(LIST_DIMENSIONS) if split is True else set(split or ())
    f = period_facts(ctx, period or ctx.period, offered=offered)
    f = f.filter(in_period(ctx, f.local_ts, period))
    values: dict[str, ir.Value] = {"bucket": bucket_of(ctx, f.local_ts)}
    for name in ctx.dimensions:
        if name in LIST_DIMENSIONS:
            values[name] = (
                f[LIST_DIMENSIONS[name]].unnest() if name in splits else ibis.null("string")
            )
        else:
            values[name] = dimension_of(f, name, f.local_ts)
    f = f.mutate(**values)
    for name in ctx.dimensions:  # split by a list and filtered by it: keep the asked values
        if name in splits and name in ctx.filters:
            f = f.filter(f[name].isin(list(ctx.filters[name])))
    return credited(ctx, f, "agent_id" in splits)


CREDITS: dict[str, tuple[str, ...]] = {
    "pickup_agent_id": ("wait_seconds", "picked_up_at"),
    "first_response_agent_id": ("first_response_seconds", "first_response_at"),
    "csat_agent_id": ("csat",),
    "nps_agent_id": ("nps",),
    "ces_agent_id": ("ces",),
    "thumbs_agent_id": ("thumbs",),
    "uss_agent_id": ("uss",),
    "closing_agent_id": ("conversions", "leads", "revenue", "first_conversion_at"),
}
"""docs/facts.md "Crediting agents": per fact column naming the credited agent, the columns
whose values belong to that agent alone when a query is split or filtered by agent."""
_ZERO_WHEN_NOT_CREDITED = ("conversions", "leads")


def by_agent(ctx: Context) -> bool:
    """The query is split or filtered by agent."""
    return "agent_id" in ctx.dimensions or "agent_id" in ctx.filters


def agent_match(ctx: Context, t: ir.Table, split: bool) -> Callable[[ir.Value], ir.Value] | None:
    """A test of whether a value naming agents (an agent id, or a list of them) names the
    row's agent: the split's value (when `split` unnested the agents), else one of the
    filtered agents; None when the query is not by agent."""
    if split and "agent_id" in ctx.dimensions:
        agent = t.agent_id
        return lambda v: v.contains(agent) if v.type().is_array() else (v == agent)
    if "agent_id" in ctx.filters:
        wanted = list(ctx.filters["agent_id"])
        return lambda v: (
            ibis.or_(*[v.contains(a) for a in wanted]) if v.type().is_array() else v.isin(wanted)
        )
    return None


def credited(ctx: Context, f: ir.Table, split: bool) -> ir.Table:
    """The conversation rows with each credited figure kept on its agent's row only, and
    `credited_close` (the row's agent closed the chat; always true when not by agent)."""
    match = agent_match(ctx, f, split)
    if match is None:
        return f.mutate(credited_close=ibis.literal(True))
    values: dict[str, ir.Value] = {}
    for who, columns in CREDITS.items():
        mine = match(f[who]).fill_null(False)
        for column in columns:
            other = 0 if column in _ZERO_WHEN_NOT_CREDITED else ibis.null(f[column].type())
            values[column] = ibis.ifelse(mine, f[column], other)
    values["credited_close"] = match(f.closing_agent_id).fill_null(False)
    f = f.mutate(**values)
    return f.mutate(
        rated_negative=(f.csat <= 2).fill_null(False) | (f.thumbs == 0).fill_null(False)
    )


def listed(column: str) -> Callable[[Context], ir.Table | None]:
    """One row per element of a list column of the period's conversations, in `value`."""

    def build(ctx: Context) -> ir.Table | None:
        t = conversations(ctx)
        assert t is not None
        split = {v: k for k, v in LIST_DIMENSIONS.items()}.get(column)
        if split in ctx.dimensions:  # already one row per element
            return t.mutate(value=t[split])
        return t.mutate(value=t[column].unnest())

    return build


def events(event_type: str) -> Callable[[Context], ir.Table | None]:
    """Events of one type in the period; only envelope dimensions apply (which ones: the
    source's declaration in chatlens.metrics.sources)."""

    def build(ctx: Context) -> ir.Table | None:
        e = ctx.table("events")
        e = e.filter(e.type == event_type, *utc_bounds(ctx, e.ts))
        e = e.mutate(local_ts=local_time(ctx.period.timezone, e.ts))
        e = e.filter(in_period(ctx, e.local_ts))
        e = apply_filters(ctx, e, e.local_ts)
        values = {"bucket": bucket_of(ctx, e.local_ts)}
        values.update({name: dimension_of(e, name, e.local_ts) for name in ctx.dimensions})
        return e.mutate(**values)

    return build


def counts_by(column: str) -> Callable[[Context], ir.Table | None]:
    """Conversations counted per value of `column` within each row (for peaks)."""

    def build(ctx: Context) -> ir.Table | None:
        t = conversations(ctx)
        assert t is not None
        t = t.mutate(local_value=dimension_of(t, column, t.local_ts))
        return t.group_by([*ctx.keys, "local_value"]).aggregate(n=t.count())

    return build


def calendar_table(ctx: Context) -> ir.Table:
    """The query's buckets with their local and UTC bounds (filled by Engine.context)."""
    return ibis.table(CALENDAR_SCHEMA, name="_calendar")
