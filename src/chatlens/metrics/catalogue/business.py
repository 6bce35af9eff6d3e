"""5. Business impact (docs/metrics.md section 5)."""

from __future__ import annotations

from chatlens.metrics import measures as m
from chatlens.metrics.catalogue.common import (
    I,
    cost_savings_of,
    derived,
    div,
    durations,
    metric,
    points_between,
)
from chatlens.metrics.model import Derived, Measure, Metric

BUSINESS: list[Metric] = [
    metric(
        "conversion_rate",
        "Conversion rate",
        "rate",
        I,
        m.share(lambda t: t.conversions > 0, of=m.col("credited_close")),
        "Conversations credited with a completion of a conversion goal (the workspace's "
        "`conversion_goals`, default purchase, signup, lead) / conversations. Last touch: a "
        "completion goes to the customer's latest conversation that started at most "
        "`attribution_days` before it. By agent: the chats the agent closed.",
    ),
    metric(
        "conversions",
        "Conversions",
        "count",
        I,
        m.total("conversions"),
        "Completions of conversion goals (`conversion_goals`) credited to conversations; by "
        "agent, to the agent who closed the chat.",
    ),
    *durations(
        "time_to_conversion",
        "Time to conversion",
        I,
        m.seconds_between("first_conversion_at", "started_at"),
        "Conversation start -> first credited conversion.",
    ),
    metric(
        "followup_conversions",
        "Conversions after a follow-up",
        "count",
        I,
        m.total("conversions", where=m.col("is_followup")),
        "Conversions credited to follow-up conversations (started after an earlier "
        "conversation of the customer and within `fcr_followup_days` of its end).",
    ),
    metric(
        "followup_conversion_rate",
        "Follow-up conversion rate",
        "rate",
        I,
        m.share(lambda t: t.conversions > 0, of=lambda t: t.is_followup & t.credited_close),
        "Follow-up conversations followed by a conversion / follow-up conversations.",
    ),
    metric("leads", "Leads", "count", I, m.total("leads"), "`lead` goals credited."),
    metric(
        "revenue",
        "Revenue",
        "money",
        I,
        Measure(m.CONVERSATIONS, lambda t, s: t.revenue.sum()),
        "Sum of `value` of credited purchases.",
    ),
    metric(
        "bot_resolved_conversations",
        "Bot-resolved conversations",
        "count",
        I,
        m.count(m.col("bot_resolved")),
        "Conversations resolved by the bot alone.",
    ),
    metric(
        "time_saved",
        "Agent time saved",
        "seconds",
        I,
        derived(
            ("bot_resolved_conversations", "handle_time"),
            lambda v, c: (
                None
                if v["handle_time"] is None
                else v["bot_resolved_conversations"] * v["handle_time"]
            ),
        ),
        "bot_resolved_conversations x the period's mean handle time.",
    ),
    metric(
        "cost_savings",
        "Cost savings",
        "money",
        I,
        derived(
            ("conversations", "human_conversations", "bot_only_conversations"), cost_savings_of
        ),
        "Cost without the bot (every conversation at `cost_per_agent_conversation`) - cost "
        "with it (human conversations at that cost + bot-only ones at "
        "`cost_per_bot_conversation`).",
    ),
    metric(
        "cost_savings_per_conversation",
        "Cost savings per conversation",
        "money",
        I,
        derived(
            ("cost_savings", "conversations"),
            lambda v, c: div(v["cost_savings"], v["conversations"]),
        ),
        "cost_savings / conversations.",
    ),
    metric(
        "visitors",
        "Visitors",
        "count",
        I,
        m.count(source="customers:visitors"),
        "Distinct visitors (`visit_started`) in the period.",
    ),
    metric(
        "visitor_chat_rate",
        "Visitor-to-chat rate",
        "rate",
        I,
        m.share(m.col("chatted"), source="customers:visitors"),
        "Visitors who started a conversation in the period / visitors.",
    ),
    *durations(
        "time_on_site_before_chat",
        "Time on site before the chat",
        I,
        m.seconds_between("started_at", "visit_started_at"),
        "Start of the visit the chat happened in (the customer's latest `visit_started` "
        "before it, still going on: seen within 30 minutes of the chat) -> conversation start.",
        increase_is_bad=False,
    ),
    metric(
        "chat_bounces",
        "Bounces after a chat request",
        "count",
        I,
        m.count(m.col("bounced")),
        "Missed chats of visitors who then viewed no other page of that visit.",
        increase_is_bad=True,
    ),
    metric(
        "chat_bounce_rate",
        "Bounce rate after a chat request",
        "rate",
        I,
        m.share(m.col("bounced"), of=lambda t: t.missed & t.visit_started_at.notnull()),
        "chat_bounces / missed chats of visitors (a `visit_started` before the chat).",
        increase_is_bad=True,
    ),
    metric(
        "previous_customers",
        "Customers of the previous period",
        "count",
        I,
        m.count(source="customers:previous"),
        "Customers with a conversation in the period of equal length just before.",
    ),
    metric(
        "retention_rate",
        "Retention rate",
        "rate",
        I,
        m.share(m.col("came_back"), source="customers:previous"),
        "Customers of the previous period who came back in this one / customers of the "
        "previous period.",
    ),
    metric(
        "retention_change",
        "Retention change",
        "percent_points",
        I,
        Derived(
            ("retention_rate",),
            lambda v, c: points_between(v["retention_rate"], c.previous.get("retention_rate")),
            previous=("retention_rate",),
        ),
        "retention_rate - the retention_rate of the period of equal length just before (in a "
        "series, of the bucket before), in percentage points.",
    ),
    metric(
        "tickets_created",
        "Tickets created",
        "count",
        I,
        m.count(source="tickets:created"),
        "`ticket_created` events; split by their ticket's category and urgency (the values on "
        "`ticket_created` win, `ticket_resolved` fills in).",
    ),
    metric(
        "tickets_resolved",
        "Tickets resolved",
        "count",
        I,
        m.count(source="tickets:resolved_events"),
        "`ticket_resolved` events.",
    ),
    *durations(
        "ticket_resolution_time",
        "Ticket resolution time",
        I,
        m.col("seconds"),
        "Tickets resolved in the period: ticket_created -> first ticket_resolved.",
        source="tickets:resolved",
    ),
    metric(
        "ticket_backlog",
        "Ticket backlog",
        "count",
        I,
        m.count(m.col("open"), source="tickets:backlog"),
        "Tickets created and not resolved at the period's (bucket's) end.",
        increase_is_bad=True,
    ),
]
