"""The downtime incidents behind `availability` (docs/metrics.md, `downtime_incidents`)."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

import ibis

from chatlens.metrics.dialects import COMPILERS
from chatlens.metrics.sources_base import UTC_TIMESTAMP
from chatlens.metrics.sources_business import health_incidents

if TYPE_CHECKING:
    from chatlens.metrics.query import Engine


def downtime_incidents(engine: Engine, start: str, end: str) -> list[dict[str, Any]]:
    """The incidents that overlap the period (bounds as in a report: dates or date-times in
    the workspace time zone, both inclusive), oldest first: `component`, `started_at`,
    `ended_at` (None while it is still down) and `seconds` (None while still down). An
    incident is a run of health checks of one component answering down, from the first of
    them to the component's next check answering up (the same rule as `availability`)."""
    period = engine.period(start, end)
    ctx = engine.sources_over(period)
    t = health_incidents(ctx)
    lo = ibis.literal(period.utc(period.start), type=UTC_TIMESTAMP)
    hi = ibis.literal(period.utc(period.end), type=UTC_TIMESTAMP)
    before_end = t.started_at <= hi if period.closed else t.started_at < hi
    t = t.filter(before_end, t.ended_at.isnull() | (t.ended_at > lo))
    t = t.mutate(
        component=t.component.cast("string"),
        seconds=t.ended_at.epoch_seconds() - t.started_at.epoch_seconds(),
    )
    t = t.order_by(["started_at", "component"])
    rows = engine.backend.sql(COMPILERS[engine.backend.dialect](t))
    for row in rows:
        for key in ("started_at", "ended_at"):
            moment = row[key]
            if isinstance(moment, dt.datetime) and moment.tzinfo is None:
                row[key] = moment.replace(tzinfo=dt.UTC)  # backends run in UTC
    return rows
