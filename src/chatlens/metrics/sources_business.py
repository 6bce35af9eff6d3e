"""Sources beyond the conversations: customers (returning, retention), website visitors,
help-desk tickets and health-check incidents (docs/metrics.md sections 2 and 5)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import ibis
import ibis.expr.types as ir

from chatlens.metrics.dimensions import TICKET_PEOPLE
from chatlens.metrics.periods import Period
from chatlens.metrics.sources_base import (
    ALIGNED_UNITS,
    Context,
    aligned,
    bucket_of,
    calendar_table,
    conversations,
    events,
    in_period,
    local_time,
    period_facts,
    utc_bounds,
)


def _days(days: float) -> ir.IntervalScalar:
    return ibis.interval(seconds=round(days * 86400))


def _customer_buckets(ctx: Context, t: ir.Table, start: str, end: str) -> ir.Table:
    """Distinct (bucket, customer) of conversations started in [cal.start, cal.end), where
    `start`/`end` are `bucket_start`/`bucket_end` (the bucket itself) or
    `previous_start`/`bucket_start` (the window of equal length before it)."""
    cal = calendar_table(ctx)
    t = t.filter(t.customer_id.notnull())
    if ctx.grain in ALIGNED_UNITS and aligned(ctx):
        # an equality join on the truncated start: 7x faster than the range join below over
        # 1M conversations by day (same rows; tests compare both)
        bucket = bucket_of(ctx, t.local_ts)
        if start == "previous_start":
            bucket = bucket + ibis.interval(**ALIGNED_UNITS[ctx.grain])
        keyed = t.select(bucket=bucket, customer_id=t.customer_id).distinct()
        return keyed.semi_join(cal, "bucket")
    j = t.join(cal, [t.local_ts >= cal[start], t.local_ts < cal[end]])
    return j.select("bucket", "customer_id").distinct()


def _reaching_back(ctx: Context, span: dt.timedelta) -> Period:
    """The query's period extended `span` back (which facts a window before it can read)."""
    p = ctx.period
    return Period(p.start - span, p.end, p.timezone, closed=True)


def returning_customers(ctx: Context) -> ir.Table | None:
    """Customers of each bucket who had a conversation in the `returning_window_days`
    before the bucket starts."""
    facts = period_facts(ctx, ctx.period)
    current = _customer_buckets(ctx, facts, "bucket_start", "bucket_end")
    cal = calendar_table(ctx)
    window = _days(ctx.settings.returning_window_days)
    current = current.join(cal, "bucket").select("bucket", "customer_id", "bucket_start")
    days = dt.timedelta(days=ctx.settings.returning_window_days)
    prior = period_facts(ctx, _reaching_back(ctx, days))
    prior = prior.select(prior_customer="customer_id", prior_ts="local_ts")
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
    longest = max(b.end - b.start for b in ctx.calendar)
    earlier = period_facts(ctx, _reaching_back(ctx, longest))
    before = _customer_buckets(ctx, earlier, "previous_start", "bucket_start")
    back = _customer_buckets(ctx, period_facts(ctx, ctx.period), "bucket_start", "bucket_end")
    back = back.select(back_bucket="bucket", back_customer="customer_id")
    j = before.left_join(
        back, [before.bucket == back.back_bucket, before.customer_id == back.back_customer]
    )
    return j.select("bucket", "customer_id", came_back=j.back_customer.notnull())


def visitors(ctx: Context) -> ir.Table | None:
    """Distinct visitors (`visit_started`) per bucket, flagged `chatted` when they started a
    conversation in the same bucket."""
    visits = events("visit_started")(ctx)
    assert visits is not None
    seen = visits.select("bucket", "customer_id").distinct()
    chats = conversations(ctx, split=False)
    assert chats is not None
    talked = chats.select(chat_bucket="bucket", chat_customer="customer_id").distinct()
    j = seen.left_join(
        talked, [seen.bucket == talked.chat_bucket, seen.customer_id == talked.chat_customer]
    )
    return j.select("bucket", "customer_id", chatted=j.chat_customer.notnull())


def tickets(ctx: Context) -> ir.Table:
    """One row per ticket: when it was first created and first resolved, its category and
    urgency (the value on `ticket_created` wins, `ticket_resolved` fills in), and its agent
    and team (who resolved it: the first `ticket_resolved` naming one wins, `ticket_created`
    fills in)."""
    e = ctx.table("events")
    e = e.filter(e.type.isin(["ticket_created", "ticket_resolved"]))
    created, resolved = e.type == "ticket_created", e.type == "ticket_resolved"

    def first(column: str, *kinds: ir.BooleanValue) -> ir.Value:
        return ibis.coalesce(
            *(e[column].argmin(e.ts, where=k & e[column].notnull()) for k in kinds)
        )

    return e.group_by("ticket_id").aggregate(
        created_at=e.ts.min(where=created),
        resolved_at=e.ts.min(where=resolved),
        ticket_category=first("category", created, resolved),
        ticket_urgency=first("urgency", created, resolved),
        **{name: first(name, resolved, created) for name in TICKET_PEOPLE},
    )


def _ticket_keys(ctx: Context, t: ir.Table, local: ir.Value | None) -> ir.Table | None:
    """Filtered by the query's ticket filters, with the bucket and ticket dimensions."""
    for name, values in ctx.filters.items():
        t = t.filter(t[name].isin(list(values)))
    keys = {"bucket": bucket_of(ctx, local)} if local is not None else {}
    return t.mutate(**keys, **{name: t[name] for name in ctx.dimensions})


def ticket_events(event_type: str) -> Callable[[Context], ir.Table | None]:
    """`ticket_created` or `ticket_resolved` events in the period, with their ticket's
    category and urgency, and the agent and team the event itself names."""

    def build(ctx: Context) -> ir.Table | None:
        e = ctx.table("events")
        e = e.filter(e.type == event_type, *utc_bounds(ctx, e.ts))
        e = e.mutate(local_ts=local_time(ctx.period.timezone, e.ts))
        e = e.filter(in_period(ctx, e.local_ts)).select("ticket_id", "local_ts", *TICKET_PEOPLE)
        j = e.join(tickets(ctx).drop(*TICKET_PEOPLE), "ticket_id")
        return _ticket_keys(ctx, j, j.local_ts)

    return build


def tickets_resolved(ctx: Context) -> ir.Table | None:
    """Tickets first resolved in the period, with `seconds` since they were created."""
    t = tickets(ctx)
    t = t.filter(t.resolved_at.notnull())
    t = t.mutate(local_ts=local_time(ctx.period.timezone, t.resolved_at))
    t = t.filter(in_period(ctx, t.local_ts))
    t = t.mutate(seconds=t.resolved_at.epoch_seconds() - t.created_at.epoch_seconds())
    return _ticket_keys(ctx, t, t.local_ts)


def ticket_backlog(ctx: Context) -> ir.Table | None:
    """Tickets created before each bucket's end and not resolved by then."""
    t = tickets(ctx)
    cal = calendar_table(ctx)
    j = t.join(cal, t.created_at < cal.end_utc)
    j = j.mutate(open=j.resolved_at.isnull() | (j.resolved_at >= j.end_utc))
    return _ticket_keys(ctx, j, None)


def health_incidents(ctx: Context) -> ir.Table:
    """Every downtime incident: a run of `health_check`s of one component answering down,
    from the first of them to the component's next check that answers up (`ended_at`, null
    while it is still down)."""
    e = ctx.table("events")
    e = e.filter(e.type == "health_check")
    order = [e.ts, e.seq]
    w = ibis.window(group_by=e.component, order_by=order)
    after = ibis.window(group_by=e.component, order_by=order, rows=(1, None))
    e = e.mutate(
        was_up=e.up.lag().over(w),
        next_up=ibis.ifelse(e.up, e.ts, ibis.null("timestamp('UTC')")).min().over(after),
    )
    e = e.filter(~e.up & e.was_up.fill_null(True))  # the first down check of a run
    return e.select("component", started_at=e.ts, ended_at=e.next_up)


def incidents_started(ctx: Context) -> ir.Table | None:
    """Downtime incidents that started in the period (totals and time series only)."""
    t = health_incidents(ctx)
    t = t.mutate(local_ts=local_time(ctx.period.timezone, t.started_at))
    t = t.filter(in_period(ctx, t.local_ts))
    return t.mutate(bucket=bucket_of(ctx, t.local_ts))
