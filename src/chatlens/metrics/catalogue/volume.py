"""1. Volume and engagement (docs/metrics.md section 1)."""

from __future__ import annotations

from chatlens.metrics import measures as m
from chatlens.metrics.catalogue.common import (
    MESSAGE_BINS,
    V,
    derived,
    div,
    durations,
    metric,
)
from chatlens.metrics.model import Measure, Metric

VOLUME: list[Metric] = [
    metric(
        "conversations",
        "Conversations",
        "count",
        V,
        m.count(),
        "Conversations started (every widget open counts, missed ones too).",
    ),
    metric(
        "conversations_per_hour",
        "Conversations per hour",
        "per_hour",
        V,
        derived(("conversations",), lambda v, c: div(v["conversations"], c.hours)),
        "Conversations / hours in the period (real hours in the time zone).",
    ),
    metric(
        "peak_hour",
        "Peak hour",
        "hour",
        V,
        Measure("counts:hour_of_day", lambda t, s: t.local_value.argmax(t.n * 24 - t.local_value)),
        "Hour of day (0-23, local) with most conversations; ties go to the earlier hour.",
    ),
    metric(
        "peak_weekday",
        "Peak weekday",
        "weekday",
        V,
        Measure("counts:weekday", lambda t, s: t.local_value.argmax(t.n * 7 - t.local_value)),
        "Weekday (0 = Monday) with most conversations; ties go to the earlier day.",
    ),
    metric(
        "engaged_conversations",
        "Engaged conversations",
        "count",
        V,
        m.count(m.col("engaged")),
        "Conversations in which the customer wrote after the bot's welcome message (or at "
        "all where there was none).",
    ),
    metric(
        "engagement_rate",
        "Engagement rate",
        "rate",
        V,
        m.share(m.col("engaged")),
        "engaged_conversations / conversations.",
    ),
    metric(
        "unique_customers",
        "Unique customers",
        "count",
        V,
        Measure(m.CONVERSATIONS, lambda t, s: t.customer_id.nunique()),
        "Distinct customers with a conversation in the period.",
    ),
    metric(
        "conversations_per_customer",
        "Conversations per customer",
        "ratio",
        V,
        Measure(m.CONVERSATIONS, lambda t, s: t.count() / t.customer_id.nunique().nullif(0)),
        "conversations / unique_customers.",
    ),
    metric(
        "returning_customers",
        "Returning customers",
        "count",
        V,
        m.count(source="customers:returning"),
        "Customers of the period who also had a conversation in the `returning_window_days` "
        "before it.",
    ),
    metric(
        "returning_rate",
        "Returning rate",
        "rate",
        V,
        derived(
            ("returning_customers", "unique_customers"),
            lambda v, c: div(v["returning_customers"], v["unique_customers"]),
        ),
        "returning_customers / unique_customers.",
    ),
    metric(
        "messages",
        "Messages",
        "count",
        V,
        m.total("messages"),
        "Customer + bot + agent messages (system messages and private notes excluded).",
    ),
    *[
        metric(
            mid, f"Messages per conversation ({label})", unit, V, meas, desc, increase_is_bad=False
        )
        for mid, label, unit, meas, desc in MESSAGE_BINS
    ],
    *durations(
        "conversation_duration",
        "Conversation duration",
        V,
        m.col("duration_seconds"),
        "Last message time - first message time (the close when later).",
        increase_is_bad=False,
    ),
    metric(
        "channel_mix",
        "Channel mix",
        "rate",
        V,
        derived(("conversations",), lambda v, c: div(v["conversations"], c.group_total)),
        "Share of the conversations of the row's time bucket (and other dimensions) that "
        "came through the row's channel; split by channel to read it.",
        read_by=("channel",),
    ),
]
