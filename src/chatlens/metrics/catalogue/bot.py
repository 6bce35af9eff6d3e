"""2. Chatbot performance (docs/metrics.md section 2)."""

from __future__ import annotations

import ibis

from chatlens.metrics import measures as m
from chatlens.metrics.catalogue.common import (
    B,
    derived,
    div,
    durations,
    goal_rate,
    goal_rate_of,
    human,
    metric,
)
from chatlens.metrics.model import Derived, Measure, Metric

BOT: list[Metric] = [
    metric(
        "bot_conversations",
        "Bot conversations",
        "count",
        B,
        m.count(m.col("bot_involved")),
        "Conversations in which the bot sent at least one message.",
    ),
    metric(
        "bot_only_conversations",
        "Bot-only conversations",
        "count",
        B,
        m.count(m.col("bot_only")),
        "Bot conversations without any human part.",
    ),
    metric(
        "fallback_messages",
        "Fallback messages",
        "count",
        B,
        m.total("fallback_messages"),
        "Bot messages that are fallbacks (flagged, or matching a fallback phrase).",
        increase_is_bad=True,
    ),
    metric(
        "fallback_rate",
        "Fallback rate",
        "rate",
        B,
        m.ratio(m.col("fallback_messages"), m.col("bot_messages")),
        "fallback_messages / bot messages.",
        increase_is_bad=True,
    ),
    metric(
        "conversations_with_fallback",
        "Conversations with a fallback",
        "count",
        B,
        m.count(lambda t: t.fallback_messages > 0),
        "Conversations with at least one fallback message.",
        increase_is_bad=True,
    ),
    metric(
        "handoff_rate",
        "Handoff rate (human takeover)",
        "rate",
        B,
        m.share(human, of=m.col("bot_involved")),
        "Bot conversations that got a human part / bot conversations.",
        increase_is_bad=True,
    ),
    metric(
        "containment_rate",
        "Containment rate",
        "rate",
        B,
        m.share(lambda t: ~t.has_human_part, of=m.col("bot_involved")),
        "1 - handoff_rate.",
    ),
    metric(
        "bot_resolution_rate",
        "Bot resolution rate",
        "rate",
        B,
        m.share(m.col("bot_resolved"), of=m.col("bot_involved")),
        "Bot conversations resolved without any human part / bot conversations.",
    ),
    metric(
        "bot_success_rate",
        "Bot success rate",
        "rate",
        B,
        m.share(lambda t: t.bot_resolved & ~t.rated_negative, of=m.col("bot_involved")),
        "Bot conversations resolved without a human and not rated negatively (CSAT 1-2 or "
        "thumbs down) / bot conversations.",
    ),
    metric(
        "goal_completion_rate",
        "Goal completion rate",
        "rate",
        B,
        Derived(("goal_conversations", "conversations"), goal_rate_of, unsplit=("conversations",)),
        "Conversations with any goal credited / conversations. Split by `goal`: per goal name "
        "seen in the events (any name), conversations with that goal credited / all the "
        "conversations of the row's bucket and other dimensions.",
    ),
    metric(
        "goal_conversations",
        "Conversations with a goal",
        "count",
        B,
        m.count(lambda t: t.goals.length() > 0),
        "Conversations with at least one goal credited (split by `goal`: with that goal).",
    ),
    *[goal_rate(goal) for goal in ("purchase", "signup", "lead", "add_to_cart")],
    *durations(
        "bot_response_time",
        "Bot response time",
        B,
        m.value,
        "Delay between a customer message and the bot's reply (technical latency).",
        source="list:bot_response_times",
    ),
    metric(
        "knowledge_items_added",
        "Knowledge items added",
        "count",
        B,
        m.count(source="events:knowledge_item_added"),
        "`knowledge_item_added` events in the period.",
    ),
    metric(
        "learning_rate",
        "Learning rate",
        "rate",
        B,
        derived(
            ("knowledge_items_added", "conversations"),
            lambda v, c: div(v["knowledge_items_added"], v["conversations"]),
        ),
        "knowledge_items_added / conversations in the period.",
    ),
    metric(
        "availability",
        "Availability",
        "rate",
        B,
        Measure(
            "intervals:health_check",
            lambda t, s: (
                t.seconds.sum(where=t.state == "true").fill_null(0) / t.seconds.sum().nullif(0)
            ),
        ),
        "Share of observed time the system was up (each health check's state holds until "
        "the next check of the same component).",
    ),
    metric(
        "downtime_seconds",
        "Downtime",
        "seconds",
        B,
        Measure(
            "intervals:health_check",
            lambda t, s: ibis.ifelse(
                t.count() > 0, t.seconds.sum(where=t.state == "false").fill_null(0), None
            ),
        ),
        "Observed time the system was down.",
        increase_is_bad=True,
    ),
    metric(
        "downtime_incidents",
        "Downtime incidents",
        "count",
        B,
        m.count(source="incidents:health_check"),
        "Incidents that started in the period: a run of health checks of one component "
        "answering down, until its next check answering up (listed by "
        "`chatlens.metrics.incidents.downtime_incidents`).",
        increase_is_bad=True,
    ),
]
