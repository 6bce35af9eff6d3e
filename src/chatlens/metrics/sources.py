"""The tables metrics aggregate, as ibis expressions over the store's tables.

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

from chatlens.metrics.periods import Bucket, Period
from chatlens.store.settings import Settings

_UTC = dtypes.Timestamp(timezone="UTC")
_LOCAL = dtypes.Timestamp()


@ibis.udf.scalar.builtin(name="timezone")
def local_time(zone: str, ts: _UTC) -> _LOCAL:  # type: ignore[valid-type]
    """UTC instant -> wall-clock time in the zone (DuckDB's timezone(zone, timestamptz))."""


_TRUNC = {"hour": "h", "day": "D", "week": "W", "month": "M", "year": "Y"}
LIST_DIMENSIONS = {"agent_id": "agents", "tag": "tags"}
"""Dimensions that are lists on a conversation: split, a conversation counts in each."""
EVENT_DIMENSIONS = ("channel", "bot_id", "agent_id", "team")
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


def _bucket(ctx: Context, local: ir.TimestampValue) -> ir.Value:
    if ctx.grain is None:
        return ibis.literal(ctx.period.start, type="timestamp")
    return local.truncate(_TRUNC[ctx.grain])


def _in_period(ctx: Context, local: ir.TimestampValue, period: Period | None = None) -> ir.Value:
    p = period or ctx.period
    end = ibis.literal(p.end, type="timestamp")
    return (local >= ibis.literal(p.start, type="timestamp")) & (
        local <= end if p.closed else local < end
    )


def _dimension(t: ir.Table, name: str, local: ir.TimestampValue) -> ir.Value:
    if name == "hour_of_day":
        return local.hour()
    if name == "weekday":
        return local.day_of_week.index()  # 0 = Monday
    if name.startswith("attrs."):
        return t.attrs[name[len("attrs.") :]].str
    return t[name]


def _apply_filters(
    ctx: Context, t: ir.Table, local: ir.TimestampValue, allowed: Callable[[str], bool]
) -> ir.Table | None:
    """Filter by every dimension filter; None when a filter cannot apply to this source."""
    for name, values in ctx.filters.items():
        if not allowed(name):
            return None
        if name in LIST_DIMENSIONS and LIST_DIMENSIONS[name] in t.columns:
            column = t[LIST_DIMENSIONS[name]]
            t = t.filter(ibis.or_(*[column.contains(v) for v in values]))
        elif name in ("hour_of_day", "weekday"):
            t = t.filter(_dimension(t, name, local).isin([int(v) for v in values]))
        else:
            t = t.filter(_dimension(t, name, local).cast("string").isin(list(values)))
    return t


def _facts(ctx: Context, period: Period | None = None) -> ir.Table:
    """Conversations' facts with their local start time, filtered by the query's filters
    and, when given, to those started in `period` (bounds compared in UTC first, so the
    scan skips what lies outside)."""
    f = ctx.table(ctx.facts_table)
    if period is not None:
        f = f.filter(
            f.started_at >= ibis.literal(period.utc(period.start), type=_UTC),
            f.started_at <= ibis.literal(period.utc(period.end), type=_UTC),
        )
    f = f.mutate(local_ts=local_time(ctx.period.timezone, f.started_at))
    filtered = _apply_filters(ctx, f, f.local_ts, lambda name: True)
    assert filtered is not None
    return filtered


def conversations(
    ctx: Context, period: Period | None = None, *, split: bool | frozenset[str] = True
) -> ir.Table | None:
    """One row per conversation started in the period (per element, for list dimensions)."""
    splits = set(LIST_DIMENSIONS) if split is True else set(split or ())
    f = _facts(ctx, period or ctx.period)
    f = f.filter(_in_period(ctx, f.local_ts, period))
    values: dict[str, ir.Value] = {"bucket": _bucket(ctx, f.local_ts)}
    for name in ctx.dimensions:
        if name in LIST_DIMENSIONS:
            values[name] = (
                f[LIST_DIMENSIONS[name]].unnest() if name in splits else ibis.null("string")
            )
        else:
            values[name] = _dimension(f, name, f.local_ts)
    f = f.mutate(**values)
    for name in ctx.dimensions:  # split by a list and filtered by it: keep the asked values
        if name in splits and name in ctx.filters:
            f = f.filter(f[name].isin(list(ctx.filters[name])))
    return f


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


def events(
    event_type: str, dimensions: tuple[str, ...] = EVENT_DIMENSIONS
) -> Callable[[Context], ir.Table | None]:
    """Events of one type in the period; only envelope dimensions apply."""

    def build(ctx: Context) -> ir.Table | None:
        if any(d not in dimensions and not d.startswith("attrs.") for d in ctx.dimensions):
            return None
        e = ctx.table("events")
        e = e.filter(e.type == event_type)
        e = e.mutate(local_ts=local_time(ctx.period.timezone, e.ts))
        e = e.filter(_in_period(ctx, e.local_ts))
        filtered = _apply_filters(
            ctx, e, e.local_ts, lambda n: n in dimensions or n.startswith("attrs.")
        )
        if filtered is None:
            return None
        e = filtered
        values = {"bucket": _bucket(ctx, e.local_ts)}
        values.update({name: _dimension(e, name, e.local_ts) for name in ctx.dimensions})
        return e.mutate(**values)

    return build


def counts_by(column: str) -> Callable[[Context], ir.Table | None]:
    """Conversations counted per value of `column` within each row (for peaks)."""

    def build(ctx: Context) -> ir.Table | None:
        t = conversations(ctx)
        assert t is not None
        t = t.mutate(local_value=_dimension(t, column, t.local_ts))
        return t.group_by([*ctx.keys, "local_value"]).aggregate(n=t.count())

    return build


def calendar_table(ctx: Context) -> ir.Table:
    """The query's buckets with their local and UTC bounds (filled by Engine.context)."""
    return ibis.table(CALENDAR_SCHEMA, name="_calendar")


def state_intervals(
    event_type: str, partition: str, value: str
) -> Callable[[Context], ir.Table | None]:
    """Intervals during which a state held (each event's state lasts until the next event
    of the same `partition`), cut by the query's buckets: `seconds` of each state `value`."""

    def build(ctx: Context) -> ir.Table | None:
        allowed = ("agent_id", "team") if partition == "agent_id" else ()
        if any(d not in allowed for d in ctx.dimensions):
            return None
        e = ctx.table("events")
        e = e.filter(e.type == event_type)
        order = [e.ts, e.seq]
        window = ibis.window(group_by=e[partition], order_by=order)
        now = ibis.literal(dt.datetime.now(dt.UTC), type=_UTC)
        e = e.mutate(next_ts=e.ts.lead().over(window))
        e = e.mutate(until=ibis.coalesce(e.next_ts, now))
        cal = calendar_table(ctx)
        j = e.join(cal, [e.ts < cal.end_utc, e.until > cal.start_utc])
        start = ibis.greatest(j.ts, j.start_utc)
        end = ibis.least(j.until, j.end_utc)
        j = j.mutate(
            seconds=end.epoch_seconds() - start.epoch_seconds(), state=j[value].cast("string")
        )
        if ctx.filters:
            if any(name not in allowed for name in ctx.filters):
                return None
            for name, values in ctx.filters.items():
                j = j.filter(j[name].isin(list(values)))
        return j.mutate(**{name: j[name] for name in ctx.dimensions})

    return build


def _days(days: float) -> ir.IntervalScalar:
    return ibis.interval(seconds=round(days * 86400))


def _customer_buckets(ctx: Context, t: ir.Table, start: str, end: str) -> ir.Table:
    """Distinct (bucket, customer) of conversations started in [cal.start, cal.end)."""
    cal = calendar_table(ctx)
    j = t.filter(t.customer_id.notnull()).join(
        cal, [t.local_ts >= cal[start], t.local_ts < cal[end]]
    )
    return j.select("bucket", "customer_id").distinct()


def returning_customers(ctx: Context) -> ir.Table | None:
    """Customers of each bucket who had a conversation in the `returning_window_days`
    before the bucket starts."""
    if ctx.dimensions:
        return None
    facts = _facts(ctx)
    current = _customer_buckets(ctx, facts, "bucket_start", "bucket_end")
    cal = calendar_table(ctx)
    window = _days(ctx.settings.returning_window_days)
    current = current.join(cal, "bucket").select("bucket", "customer_id", "bucket_start")
    prior = _facts(ctx).select(prior_customer="customer_id", prior_ts="local_ts")
    returning = current.semi_join(
        prior,
        [
            current.customer_id == prior.prior_customer,
            prior.prior_ts >= current.bucket_start - window,
            prior.prior_ts < current.bucket_start,
        ],
    )
    return returning.select("bucket", "customer_id")


def previous_customers(ctx: Context) -> ir.Table | None:
    """Customers of the window of equal length before each bucket, flagged `came_back` when
    they had a conversation in the bucket (retention)."""
    if ctx.dimensions:
        return None
    before = _customer_buckets(ctx, _facts(ctx), "previous_start", "bucket_start")
    back = _customer_buckets(ctx, _facts(ctx), "bucket_start", "bucket_end").select(
        back_bucket="bucket", back_customer="customer_id"
    )
    j = before.left_join(
        back, [before.bucket == back.back_bucket, before.customer_id == back.back_customer]
    )
    return j.select("bucket", "customer_id", came_back=j.back_customer.notnull())


def visitors(ctx: Context) -> ir.Table | None:
    """Distinct visitors (`visit_started`) per bucket, flagged `chatted` when they started a
    conversation in the same bucket."""
    if ctx.dimensions or ctx.filters:
        return None
    visits = events("visit_started", ())(ctx)
    if visits is None:
        return None
    seen = visits.select("bucket", "customer_id").distinct()
    chats = conversations(ctx, split=False)
    assert chats is not None
    talked = chats.select(chat_bucket="bucket", chat_customer="customer_id").distinct()
    j = seen.left_join(
        talked, [seen.bucket == talked.chat_bucket, seen.customer_id == talked.chat_customer]
    )
    return j.select("bucket", "customer_id", chatted=j.chat_customer.notnull())


def _tickets(ctx: Context, event_type: str) -> ir.Table:
    e = ctx.table("events")
    e = e.filter(e.type == event_type)
    return e.group_by("ticket_id").aggregate(at=e.ts.min())


def tickets_resolved(ctx: Context) -> ir.Table | None:
    """Tickets first resolved in the period, with `seconds` since they were created."""
    if ctx.dimensions or ctx.filters:
        return None
    created = _tickets(ctx, "ticket_created").rename(created_at="at")
    resolved = _tickets(ctx, "ticket_resolved")
    resolved = resolved.mutate(local_ts=local_time(ctx.period.timezone, resolved.at))
    resolved = resolved.filter(_in_period(ctx, resolved.local_ts))
    j = resolved.left_join(created, resolved.ticket_id == created.ticket_id)
    return j.mutate(
        bucket=_bucket(ctx, j.local_ts), seconds=j.at.epoch_seconds() - j.created_at.epoch_seconds()
    )


def ticket_backlog(ctx: Context) -> ir.Table | None:
    """Tickets created before each bucket's end and not resolved by then."""
    if ctx.dimensions or ctx.filters:
        return None
    created = _tickets(ctx, "ticket_created")
    resolved = _tickets(ctx, "ticket_resolved").rename(resolved_at="at", resolved_id="ticket_id")
    cal = calendar_table(ctx)
    j = created.join(cal, created.at < cal.end_utc)
    j = j.left_join(resolved, j.ticket_id == resolved.resolved_id)
    return j.mutate(open=j.resolved_at.isnull() | (j.resolved_at >= j.end_utc))


def _agent_only(ctx: Context) -> bool:
    return all(d == "agent_id" for d in (*ctx.dimensions, *ctx.filters))


def stints_per_chat(ctx: Context) -> ir.Table | None:
    """Handle time per chat (per agent and chat when split or filtered by agent): the sum
    of the stints, for conversations started in the period."""
    st = ctx.table("agent_stints")
    by_agent = "agent_id" in ctx.dimensions
    chats = conversations(ctx, split=frozenset({"tag"}))  # agents come from the stints
    assert chats is not None
    keep = ["conversation_id", *[k for k in ctx.keys if k != "agent_id"]]
    chats = chats.select(*keep)
    if "agent_id" in ctx.filters:
        st = st.filter(st.agent_id.isin(list(ctx.filters["agent_id"])))
    j = st.join(chats, "conversation_id")
    group = ["conversation_id", *ctx.keys] if by_agent else keep
    return j.group_by(group).aggregate(seconds=j.seconds.sum())


def _clipped(t: ir.Table, start: str, end: str, cal: ir.Table) -> ir.Table:
    j = t.join(cal, [t[start] < cal.end_utc, t[end] > cal.start_utc])
    lo = ibis.greatest(j[start], j.start_utc)
    hi = ibis.least(j[end], j.end_utc)
    return j.mutate(seconds=hi.epoch_seconds() - lo.epoch_seconds())


def stint_time(ctx: Context) -> ir.Table | None:
    """Agent stints cut by the buckets: chat-seconds handled in each (for concurrency)."""
    if not _agent_only(ctx):
        return None
    st = ctx.table("agent_stints")
    if "agent_id" in ctx.filters:
        st = st.filter(st.agent_id.isin(list(ctx.filters["agent_id"])))
    return _clipped(st, "started_at", "ended_at", calendar_table(ctx))


def busy_time(ctx: Context) -> ir.Table | None:
    """Time each agent had at least one chat (the union of their stints), cut by buckets."""
    if not _agent_only(ctx):
        return None
    st = ctx.table("agent_stints")
    if "agent_id" in ctx.filters:
        st = st.filter(st.agent_id.isin(list(ctx.filters["agent_id"])))
    order = [st.started_at, st.ended_at]
    before = ibis.window(group_by=st.agent_id, order_by=order, rows=(None, -1))
    st = st.mutate(reach=st.ended_at.max().over(before))
    st = st.mutate(fresh=(st.reach.isnull() | (st.started_at > st.reach)).cast("int64"))
    upto = ibis.window(group_by=st.agent_id, order_by=[st.started_at, st.ended_at], rows=(None, 0))
    st = st.mutate(island=st.fresh.sum().over(upto))
    islands = st.group_by(["agent_id", "island"]).aggregate(
        started_at=st.started_at.min(), ended_at=st.ended_at.max()
    )
    return _clipped(islands, "started_at", "ended_at", calendar_table(ctx))


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
        c = c.filter(c[start].notnull() & c[end].notnull())
        if where is not None:
            c = c.filter(where(c))
        bh = ibis.table(BUSINESS_HOURS_SCHEMA, name="_business_hours")
        j = c.left_join(bh, [bh.start_utc < c[end], bh.end_utc > c[start]])
        lo = ibis.greatest(j[start], j.start_utc)
        hi = ibis.least(j[end], j.end_utc)
        # no business window overlaps: 0 (greatest/least would skip the NULLs of the join)
        overlap = hi.epoch_seconds() - lo.epoch_seconds()
        j = j.mutate(part=ibis.ifelse(j.start_utc.isnull(), 0, overlap))
        return j.group_by(["conversation_id", *ctx.keys]).aggregate(value=j.part.sum())

    return build


SOURCES: dict[str, Callable[[Context], ir.Table | None]] = {
    "conversations": conversations,
    "list:response_times": listed("response_times"),
    "list:bot_response_times": listed("bot_response_times"),
    "list:agents": listed("agents"),
    "counts:hour_of_day": counts_by("hour_of_day"),
    "counts:weekday": counts_by("weekday"),
    "events:knowledge_item_added": events("knowledge_item_added", ("bot_id",)),
    "events:chat_declined": events("chat_declined"),
    "events:ticket_created": events("ticket_created", ()),
    "events:ticket_resolved": events("ticket_resolved", ()),
    "events:visit_started": events("visit_started", ("channel",)),
    "intervals:health_check": state_intervals("health_check", "component", "up"),
    "intervals:agent_status": state_intervals("agent_status", "agent_id", "status"),
    "customers:returning": returning_customers,
    "customers:previous": previous_customers,
    "customers:visitors": visitors,
    "tickets:resolved": tickets_resolved,
    "tickets:backlog": ticket_backlog,
    "stints:chat": stints_per_chat,
    "intervals:stints": stint_time,
    "intervals:busy": busy_time,
    "business:first_response": business_seconds("queue_entry_at", "first_response_at"),
    "business:wait": business_seconds("queue_entry_at", "picked_up_at", lambda t: ~t.missed),
    "business:resolution": business_seconds(
        "started_at", "closed_at", lambda t: t.resolution == "resolved"
    ),
}
