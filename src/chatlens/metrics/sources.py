"""The tables metrics aggregate, by name (`Measure.source`), as ibis expressions over the
store's tables: the conversations and their list columns (sources_base.py), events, state
intervals, agent stints, business-hours spans, and the customer, visitor, ticket and
incident tables of sources_business.py.

Every source carries a `bucket` column (the local start of the row's time bucket; the period
start when there is no grain) and the requested dimension columns, so every metric of a query
groups by the same keys. Each source declares the dimensions it carries (`Source`): asked for
another, it builds nothing (None), and a metric splits by exactly what its source carries
(chatlens.metrics.model.Metric.dimensions), so the two cannot disagree.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

import ibis
import ibis.expr.types as ir

from chatlens.metrics.dimensions import CONVERSATION, ENVELOPE, TICKET, TICKET_PEOPLE
from chatlens.metrics.sources_base import (
    ALIGNED_UNITS,
    BUSINESS_HOURS_SCHEMA,
    CALENDAR_SCHEMA,
    LIST_DIMENSIONS,
    UTC_TIMESTAMP,
    Context,
    agent_match,
    aligned,
    bucket_of,
    by_agent,
    calendar_table,
    conversations,
    counts_by,
    events,
    listed,
    local_time,
)
from chatlens.metrics.sources_business import (
    incidents_started,
    previous_customers,
    returning_customers,
    ticket_backlog,
    ticket_events,
    tickets_resolved,
    visitors,
)

__all__ = [
    "BUSINESS_HOURS_SCHEMA",
    "CALENDAR_SCHEMA",
    "SOURCES",
    "Context",
    "conversations",
    "local_time",
]


@ibis.udf.scalar.builtin(name="now")  # type: ignore[untyped-decorator]  # ibis: untyped
def current_instant() -> UTC_TIMESTAMP:
    """The current instant (DuckDB's and Spark's `now()`), evaluated when the query runs."""


def state_intervals(
    event_type: str, partition: str, value: str
) -> Callable[[Context], ir.Table | None]:
    """Intervals during which a state held (each event's state lasts until the next event
    of the same `partition`), cut by the query's buckets: `seconds` of each state `value`."""

    def build(ctx: Context) -> ir.Table | None:
        e = ctx.table("events")
        e = e.filter(e.type == event_type)
        order = [e.ts, e.seq]
        window = ibis.window(group_by=e[partition], order_by=order)
        # the database's clock, not a literal: compiled SQL is reused by long-lived engines
        now = current_instant()
        e = e.mutate(next_ts=e.ts.lead().over(window))
        e = e.mutate(until=ibis.coalesce(e.next_ts, now))
        cal = calendar_table(ctx)
        j = e.join(cal, [e.ts < cal.end_utc, e.until > cal.start_utc])
        start = ibis.greatest(j.ts, j.start_utc)
        end = ibis.least(j.until, j.end_utc)
        j = j.mutate(
            seconds=end.epoch_seconds() - start.epoch_seconds(), state=j[value].cast("string")
        )
        for name, values in ctx.filters.items():
            j = j.filter(j[name].isin(list(values)))
        return j.mutate(**{name: j[name] for name in ctx.dimensions})

    return build


def stints_per_chat(ctx: Context) -> ir.Table | None:
    """Handle time per chat (per agent and chat when split or filtered by agent): the sum
    of the stints, for conversations started in the period."""
    st = ctx.table("agent_stints")
    by_agent = "agent_id" in ctx.dimensions
    # agents come from the stints; the other list dimensions from the conversations
    chats = conversations(ctx, split=frozenset(LIST_DIMENSIONS) - {"agent_id"})
    assert chats is not None
    keep = ["conversation_id", *[k for k in ctx.keys if k != "agent_id"]]
    chats = chats.select(*keep)
    if "agent_id" in ctx.filters:
        st = st.filter(st.agent_id.isin(list(ctx.filters["agent_id"])))
    j = st.join(chats, "conversation_id")
    group = ["conversation_id", *ctx.keys] if by_agent else keep
    return j.group_by(group).aggregate(seconds=j.seconds.sum())


def first_responses(ctx: Context) -> ir.Table | None:
    """First responses (`first_response_seconds`): one per conversation; by agent, one per
    agent stint, from its start (the conversation's first stint: from queue entry) to the
    agent's first message in it (docs/facts.md "Crediting agents"), and the chat's FRT for a
    first responder who had no stint in it."""
    if not by_agent(ctx):
        return conversations(ctx)
    st = ctx.table("agent_stints")
    chats = conversations(ctx, split=frozenset(LIST_DIMENSIONS) - {"agent_id"})
    assert chats is not None
    keep = [
        "conversation_id",
        "queue_entry_at",
        *[k for k in ctx.keys if k != "agent_id"],
    ]
    chats = chats.select(
        *keep, _chat_frt=chats.first_response_seconds, _first_by=chats.first_response_agent_id
    )
    if "agent_id" in ctx.filters:
        st = st.filter(st.agent_id.isin(list(ctx.filters["agent_id"])))
    j = st.join(chats, "conversation_id")
    since = ibis.ifelse(j.first_stint, j.queue_entry_at, j.started_at)
    stint = j.first_message_at.epoch_seconds() - since.epoch_seconds()
    # the first stint runs from queue entry: its agent's answer may precede agent_joined
    first = j.first_stint & (j._first_by == j.agent_id).fill_null(False)
    j = j.mutate(first_response_seconds=ibis.ifelse(first, j._chat_frt, stint))
    columns = ["conversation_id", *ctx.keys, "first_response_seconds"]
    # an agent who answered first without any stint in the chat (no agent_joined: some
    # platforms' exports) keeps the chat's FRT
    whole = conversations(ctx)
    assert whole is not None
    whole = whole.filter(whole.first_response_seconds.notnull())
    stinted = st.select(_c=st.conversation_id, _a=st.agent_id).distinct()
    alone = whole.anti_join(
        stinted,
        [whole.conversation_id == stinted._c, whole.first_response_agent_id == stinted._a],
    )
    per_stint = j.select(*columns)
    return per_stint.union(alone.select(*columns).cast(per_stint.schema()))


def missed_chats(ctx: Context) -> ir.Table | None:
    """Conversations with `missed` and `missed_reason`; by agent, the chats the agent handled
    or was offered, missed when the agent declined it or let the offer time out (a chat
    nobody was offered is missed by the team, not by an agent)."""
    if not by_agent(ctx):
        return conversations(ctx)
    f = conversations(ctx, offered=True)
    assert f is not None
    match = agent_match(ctx, f, True)
    assert match is not None
    declined, timed_out = match(f.declined_by), match(f.timed_out_by)
    reason = ibis.ifelse(timed_out, "timeout", ibis.ifelse(declined, "declined", None))
    return f.mutate(missed=declined, missed_reason=reason)


def _near_period(ctx: Context, t: ir.Table, start: str, end: str) -> ir.Table:
    """Only the intervals that can overlap the period (a day's margin on either side): an
    interval wholly outside it adds nothing to any bucket, nor to a union clipped to one."""
    p = ctx.period
    margin = dt.timedelta(days=1)
    lo = ibis.literal(p.utc(p.start) - margin, type=UTC_TIMESTAMP)
    hi = ibis.literal(p.utc(p.end) + margin, type=UTC_TIMESTAMP)
    return t.filter(t[end] > lo, t[start] < hi)


def _clipped(ctx: Context, t: ir.Table, start: str, end: str) -> ir.Table:
    """Intervals cut by the query's buckets: a row per interval and bucket it overlaps, with
    the bucket's columns and the `seconds` inside it."""
    cal = calendar_table(ctx)
    if ctx.grain not in ("day", "week") or not aligned(ctx):
        return _range_clipped(t, start, end, cal)
    # Whole days or weeks: an interval (a stint of minutes) mostly lies inside the bucket of
    # its start, found by an equality join on the truncated local start; only the intervals
    # that cross a boundary take the range join (by day over 400k stints: busy time 0.50 s
    # -> 0.18 s, chat time 0.28 s -> 0.04 s; the same rows, tests compare both). Hours are
    # left to the range join: a repeated local hour (daylight saving ending) is one label
    # for two UTC hours.
    zone = ctx.period.timezone
    first = bucket_of(ctx, local_time(zone, t[start]))
    unit = ibis.interval(**ALIGNED_UNITS[ctx.grain])
    t = t.mutate(_first=first, _inside=local_time(zone, t[end]) <= first + unit)
    inside = t.filter(t._inside)
    whole = inside.join(cal, inside._first == cal.bucket)
    whole = whole.mutate(seconds=whole[end].epoch_seconds() - whole[start].epoch_seconds())
    crossing = _range_clipped(t.filter(~t._inside), start, end, cal)
    return whole.drop("_first", "_inside").union(crossing.drop("_first", "_inside"))


def _range_clipped(t: ir.Table, start: str, end: str, cal: ir.Table) -> ir.Table:
    j = t.join(cal, [t[start] < cal.end_utc, t[end] > cal.start_utc])
    lo = ibis.greatest(j[start], j.start_utc)
    hi = ibis.least(j[end], j.end_utc)
    return j.mutate(seconds=hi.epoch_seconds() - lo.epoch_seconds())


def stint_time(ctx: Context) -> ir.Table | None:
    """Agent stints cut by the buckets: chat-seconds handled in each (for concurrency)."""
    st = _near_period(ctx, ctx.table("agent_stints"), "started_at", "ended_at")
    if "agent_id" in ctx.filters:
        st = st.filter(st.agent_id.isin(list(ctx.filters["agent_id"])))
    return _clipped(ctx, st, "started_at", "ended_at")


def busy_time(ctx: Context) -> ir.Table | None:
    """Time each agent had at least one chat (the union of their stints), cut by buckets."""
    st = _near_period(ctx, ctx.table("agent_stints"), "started_at", "ended_at")
    if "agent_id" in ctx.filters:
        st = st.filter(st.agent_id.isin(list(ctx.filters["agent_id"])))
    # Taken in order of start, each stint adds to the union only what lies beyond the
    # latest end before it (`reach`): those pieces tile the union exactly, without
    # gathering the overlapping stints into islands first (one window instead of two
    # windows and a grouping: 0.28 s -> 0.17 s for a year's total over 400k stints).
    order = [st.started_at, st.ended_at]
    before = ibis.window(group_by=st.agent_id, order_by=order, rows=(None, -1))
    st = st.mutate(reach=st.ended_at.max().over(before))
    beyond = ibis.ifelse(st.reach.notnull() & (st.reach > st.started_at), st.reach, st.started_at)
    st = st.mutate(piece_start=beyond)
    pieces = st.filter(st.ended_at > st.piece_start).select(
        "agent_id", started_at=st.piece_start, ended_at=st.ended_at
    )
    return _clipped(ctx, pieces, "started_at", "ended_at")


def _business_overlap(ctx: Context, c: ir.Table, start: str, end: str, key: list[str]) -> ir.Table:
    """Per row of `c` (identified by `key`), the seconds between its `start` and `end` that
    fall inside business hours (`value`)."""
    c = c.filter(c[start].notnull() & c[end].notnull())
    bh = ibis.table(BUSINESS_HOURS_SCHEMA, name="_business_hours")
    j = c.left_join(bh, [bh.start_utc < c[end], bh.end_utc > c[start]])
    lo = ibis.greatest(j[start], j.start_utc)
    hi = ibis.least(j[end], j.end_utc)
    # no business window overlaps: 0 (greatest/least would skip the NULLs of the join)
    overlap = hi.epoch_seconds() - lo.epoch_seconds()
    j = j.mutate(part=ibis.ifelse(j.start_utc.isnull(), 0, overlap))
    return j.group_by([*key, *ctx.keys]).aggregate(value=j.part.sum())


def business_seconds(
    start: str, end: str, where: Callable[[ir.Table], ir.Value] | None = None
) -> Callable[[Context], ir.Table | None]:
    """Per conversation, the seconds between two of its times that fall inside business
    hours (`value`); None when the workspace has no business hours."""

    def build(ctx: Context) -> ir.Table | None:
        if not ctx.settings.business_hours:
            return None
        c = conversations(ctx)
        assert c is not None
        if where is not None:
            c = c.filter(where(c))
        return _business_overlap(ctx, c, start, end, ["conversation_id"])

    return build


def response_business_seconds(ctx: Context) -> ir.Table | None:
    """Per agent reply of `response_times`, its seconds inside business hours (`value`)."""
    if not ctx.settings.business_hours:
        return None
    c = conversations(ctx)
    assert c is not None
    c = c.mutate(span=c.response_started_at.zip(c.response_answered_at))
    c = c.unnest("span", offset="reply")
    c = c.mutate(asked_at=c.span.f1, answered_at=c.span.f2)
    return _business_overlap(ctx, c, "asked_at", "answered_at", ["conversation_id", "reply"])


@dataclass(frozen=True)
class Source:
    """A table metrics aggregate: how to build it, and the dimensions it carries (split and
    filtered by; `attrs`: also attrs.<key>). Asked for any other, it builds nothing."""

    build: Callable[[Context], ir.Table | None]
    dimensions: frozenset[str]
    attrs: bool = False

    def carries(self, name: str) -> bool:
        return self.attrs if name.startswith("attrs.") else name in self.dimensions

    def __call__(self, ctx: Context) -> ir.Table | None:
        """The table for the query of `ctx`; None when it splits or filters by a dimension
        this source does not carry (or the source has nothing to build: no business hours)."""
        if not all(self.carries(d) for d in (*ctx.dimensions, *ctx.filters)):
            return None
        return self.build(ctx)


NONE: frozenset[str] = frozenset()
TIMELESS = CONVERSATION - {"hour_of_day", "weekday"}
"""A conversation's dimensions but its local hour and weekday (what peaks are counted by)."""
AGENTS = frozenset({"agent_id"})
TICKETS = TICKET | frozenset(TICKET_PEOPLE)


def _chats(build: Callable[[Context], ir.Table | None]) -> Source:
    """A source of conversations (or rows of them): every dimension of a conversation."""
    return Source(build, CONVERSATION, attrs=True)


SOURCES: dict[str, Source] = {
    "conversations": _chats(conversations),
    "conversations:first_responses": _chats(first_responses),
    "conversations:missed": _chats(missed_chats),
    "list:response_times": _chats(listed("response_times")),
    "list:bot_response_times": _chats(listed("bot_response_times")),
    "list:agents": _chats(listed("agents")),
    "counts:hour_of_day": Source(counts_by("hour_of_day"), TIMELESS, attrs=True),
    "counts:weekday": Source(counts_by("weekday"), TIMELESS, attrs=True),
    "events:knowledge_item_added": Source(
        events("knowledge_item_added"), frozenset({"bot_id"}), attrs=True
    ),
    "events:chat_declined": Source(events("chat_declined"), ENVELOPE, attrs=True),
    "events:visit_started": Source(events("visit_started"), frozenset({"channel"}), attrs=True),
    "intervals:health_check": Source(state_intervals("health_check", "component", "up"), NONE),
    "intervals:agent_status": Source(
        state_intervals("agent_status", "agent_id", "status"), frozenset({"agent_id", "team"})
    ),
    "incidents:health_check": Source(incidents_started, NONE),
    "customers:returning": Source(returning_customers, NONE),
    "customers:previous": Source(previous_customers, NONE),
    "customers:visitors": Source(visitors, NONE),
    "tickets:created": Source(ticket_events("ticket_created"), TICKETS),
    "tickets:resolved_events": Source(ticket_events("ticket_resolved"), TICKETS),
    "tickets:resolved": Source(tickets_resolved, TICKETS),
    "tickets:backlog": Source(ticket_backlog, TICKETS),
    "stints:chat": _chats(stints_per_chat),
    "intervals:stints": Source(stint_time, AGENTS),
    "intervals:busy": Source(busy_time, AGENTS),
    "business:first_response": _chats(business_seconds("queue_entry_at", "first_response_at")),
    "business:wait": _chats(
        business_seconds("queue_entry_at", "picked_up_at", lambda t: ~t.missed)
    ),
    "business:resolution": _chats(
        business_seconds("started_at", "closed_at", lambda t: t.resolution == "resolved")
    ),
    "business:response": _chats(response_business_seconds),
}
"""Every source by name (`Measure.source`), with the dimensions it carries."""
