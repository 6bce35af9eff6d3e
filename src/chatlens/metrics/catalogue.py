"""The KPI catalogue: every metric of metrics.md sections 1-6, declared as data.

Adding a metric = one declaration here + its test. Ids are those of metrics.md; for a
duration `<id>` is the mean and `<id>_median`, `<id>_p90` the percentiles; rates are
fractions 0-1. docs/metrics.md is generated from this file (`chatlens docs metrics`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import ibis

from chatlens.metrics import measures as m
from chatlens.metrics.model import DIMENSIONS, Band, Derived, Measure, Metric, Unit

V = "1. Volume and engagement"
B = "2. Chatbot performance"
L = "3. Live chat and agents"
F = "4. Customer feedback"
I = "5. Business impact"  # noqa: E741

_ENVELOPE = frozenset({"channel", "bot_id", "agent_id", "team"})
_NONE: frozenset[str] = frozenset()
_ALL = frozenset(DIMENSIONS)
_NO_TIME_SPLIT = _ALL - {"hour_of_day", "weekday"}


def metric(
    id: str,
    label: str,
    unit: Unit,
    section: str,
    measure: Measure | Derived,
    description: str,
    **kw: Any,
) -> Metric:
    if kw.get("dimensions") == _NONE:
        kw.setdefault("attrs_dimensions", False)
    return Metric(
        id=id,
        label=label,
        description=description,
        unit=unit,
        section=section,
        measure=measure,
        **kw,
    )


def durations(
    id: str,
    label: str,
    section: str,
    column: m.Col,
    description: str,
    source: str = m.CONVERSATIONS,
    **kw: Any,
) -> list[Metric]:
    """Mean, median and p90 of a duration in seconds."""
    kw.setdefault("increase_is_bad", True)
    band = kw.pop("band", None)
    return [
        metric(
            id,
            f"{label} (mean)",
            "seconds",
            section,
            m.mean(column, source),
            description,
            band=band,
            **kw,
        ),
        metric(
            f"{id}_median",
            f"{label} (median)",
            "seconds",
            section,
            m.quantile(column, 0.5, source),
            f"Median of {id}.",
            **kw,
        ),
        metric(
            f"{id}_p90",
            f"{label} (p90)",
            "seconds",
            section,
            m.quantile(column, 0.9, source),
            f"90th percentile of {id}.",
            **kw,
        ),
    ]


def _derived(needs: tuple[str, ...], fn: Any) -> Derived:
    return Derived(needs, fn)


def _div(a: float | None, b: float | None, scale: float = 1.0) -> float | None:
    if a is None or b is None or b == 0:
        return None
    return a / b * scale


def _cost_savings(v: Mapping[str, Any], ctx: Mapping[str, Any]) -> float | None:
    settings = ctx["settings"]
    agent, bot = settings.cost_per_agent_conversation, settings.cost_per_bot_conversation
    if agent is None or v["conversations"] is None:
        return None
    bot = bot or 0.0
    without_bot = v["conversations"] * agent
    with_bot = v["human_conversations"] * agent + v["bot_only_conversations"] * bot
    return float(without_bot - with_bot)


def _msg_bin(low: int, high: int | None) -> Measure:
    def inside(t: Any) -> Any:
        upper = t.messages <= high if high is not None else ibis.literal(True)
        return (t.messages >= low) & upper

    return m.share(inside)


_SLA = m.with_settings(
    m.CONVERSATIONS,
    lambda t, s: (
        t.count(where=t.first_response_seconds <= s.sla_first_response_seconds)
        / t.count(where=t.first_response_seconds.notnull()).nullif(0)
    ),
)


def _canned_time_saved(t: Any, s: Any) -> Any:
    seconds = s.canned_seconds_saved
    if seconds is None:
        return ibis.null("float64")
    return t.canned_messages.sum().fill_null(0) * seconds


def _nps(t: Any, s: Any) -> Any:
    answered = t.count(where=t.nps.notnull())
    promoters = t.count(where=t.nps >= 9)
    detractors = t.count(where=t.nps <= 6)
    return (promoters - detractors) * 100.0 / answered.nullif(0)


def _goal_rate(goal: str) -> Metric:
    return metric(
        f"goal_completion_rate_{goal}",
        f"Goal completion: {goal}",
        "rate",
        B,
        m.share(lambda t: t.goals.contains(goal)),
        f"Conversations with a `{goal}` goal credited / conversations.",
    )


_human = m.col("has_human_part")


def _equals(column: str, wanted: str) -> m.Pred:
    return lambda t: t[column] == wanted


def _not_fcr(reason: m.Pred) -> m.Pred:
    return lambda t: t.is_closed & ~t.first_contact_resolved & reason(t)


_MESSAGE_BINS: list[tuple[str, str, Unit, Measure, str]] = [
    (
        "messages_per_conversation",
        "mean",
        "ratio",
        m.mean(m.col("messages")),
        "Mean messages per conversation.",
    ),
    (
        "messages_per_conversation_median",
        "median",
        "ratio",
        m.quantile(m.col("messages"), 0.5),
        "Median messages per conversation.",
    ),
    (
        "messages_per_conversation_p90",
        "p90",
        "ratio",
        m.quantile(m.col("messages"), 0.9),
        "90th percentile of messages per conversation.",
    ),
    (
        "messages_1_2_share",
        "1-2",
        "rate",
        _msg_bin(1, 2),
        "Share of conversations with 1-2 messages.",
    ),
    (
        "messages_3_5_share",
        "3-5",
        "rate",
        _msg_bin(3, 5),
        "Share of conversations with 3-5 messages.",
    ),
    (
        "messages_6_10_share",
        "6-10",
        "rate",
        _msg_bin(6, 10),
        "Share of conversations with 6-10 messages.",
    ),
    (
        "messages_11_20_share",
        "11-20",
        "rate",
        _msg_bin(11, 20),
        "Share of conversations with 11-20 messages.",
    ),
    (
        "messages_over_20_share",
        "over 20",
        "rate",
        _msg_bin(21, None),
        "Share of conversations with more than 20 messages.",
    ),
]


METRICS_LIST: list[Metric] = [
    # 1. Volume and engagement
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
        _derived(("conversations",), lambda v, c: _div(v["conversations"], c["hours"])),
        "Conversations / hours in the period (real hours in the time zone).",
    ),
    metric(
        "peak_hour",
        "Peak hour",
        "hour",
        V,
        Measure("counts:hour_of_day", lambda t, s: t.local_value.argmax(t.n * 24 - t.local_value)),
        "Hour of day (0-23, local) with most conversations; ties go to the earlier hour.",
        dimensions=_NO_TIME_SPLIT,
    ),
    metric(
        "peak_weekday",
        "Peak weekday",
        "weekday",
        V,
        Measure("counts:weekday", lambda t, s: t.local_value.argmax(t.n * 7 - t.local_value)),
        "Weekday (0 = Monday) with most conversations; ties go to the earlier day.",
        dimensions=_NO_TIME_SPLIT,
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
        dimensions=_NONE,
    ),
    metric(
        "returning_rate",
        "Returning rate",
        "rate",
        V,
        _derived(
            ("returning_customers", "unique_customers"),
            lambda v, c: _div(v["returning_customers"], v["unique_customers"]),
        ),
        "returning_customers / unique_customers.",
        dimensions=_NONE,
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
        for mid, label, unit, meas, desc in _MESSAGE_BINS
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
        _derived(("conversations",), lambda v, c: _div(v["conversations"], c["group_total"])),
        "Share of the conversations of the row's time bucket (and other dimensions) that "
        "came through the row's channel; split by channel to read it.",
    ),
    # 2. Chatbot performance
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
        m.share(_human, of=m.col("bot_involved")),
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
        band=Band("up to 80% reported"),
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
        band=Band("60-80%", "80-90%", "> 90%", "retail, e-commerce"),
    ),
    metric(
        "goal_completion_rate",
        "Goal completion rate",
        "rate",
        B,
        m.share(lambda t: t.goals.length() > 0),
        "Conversations with any goal credited / conversations.",
    ),
    *[_goal_rate(goal) for goal in ("purchase", "signup", "lead", "add_to_cart")],
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
        dimensions=frozenset({"bot_id"}),
    ),
    metric(
        "learning_rate",
        "Learning rate",
        "rate",
        B,
        _derived(
            ("knowledge_items_added", "conversations"),
            lambda v, c: _div(v["knowledge_items_added"], v["conversations"]),
        ),
        "knowledge_items_added / conversations in the period.",
        dimensions=frozenset({"bot_id"}),
        band=Band("", "15-30%", ">= 40%"),
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
        dimensions=_NONE,
        attrs_dimensions=False,
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
        dimensions=_NONE,
        attrs_dimensions=False,
    ),
    # 3. Live chat and agents
    metric(
        "human_conversations",
        "Human conversations",
        "count",
        L,
        m.count(_human),
        "Conversations with a human part (handoff, pickup, agent message, or no bot).",
    ),
    *durations(
        "wait_time",
        "Wait time (pickup)",
        L,
        m.col("wait_seconds"),
        "Queue entry -> agent_joined; missed chats excluded.",
    ),
    *durations(
        "first_response_time",
        "First response time",
        L,
        m.col("first_response_seconds"),
        "Queue entry -> first agent message.",
        band=Band("30-45 s average; under 1 min matters to buyers", note="live chat"),
    ),
    metric(
        "frt_within_sla",
        "First responses within SLA",
        "rate",
        L,
        _SLA,
        "Share of first responses within `sla_first_response_seconds`.",
    ),
    *durations(
        "response_time",
        "Response time",
        L,
        m.value,
        "For every run of customer messages answered by an agent: time to that reply.",
        source="list:response_times",
    ),
    metric(
        "missed_chats",
        "Missed chats",
        "count",
        L,
        m.count(m.col("missed")),
        "Chats with a human part in which no agent wrote before the chat ended, excluding "
        "customers who left within `missed_chat_grace_seconds` of queue entry.",
        increase_is_bad=True,
    ),
    metric(
        "missed_rate",
        "Missed rate",
        "rate",
        L,
        m.share(m.col("missed"), of=_human),
        "missed_chats / human_conversations.",
        increase_is_bad=True,
    ),
    *[
        metric(
            f"missed_chats_{reason}",
            f"Missed chats: {reason.replace('_', ' ')}",
            "count",
            L,
            m.count(_equals("missed_reason", reason)),
            f"Missed chats whose reason is `{reason}`.",
            increase_is_bad=True,
        )
        for reason in ("declined", "timeout", "customer_left")
    ],
    metric(
        "chats_declined",
        "Declined chats",
        "count",
        L,
        m.count(source="events:chat_declined"),
        "`chat_declined` events (offers not taken: declined or timed out).",
        increase_is_bad=True,
        dimensions=_ENVELOPE,
    ),
    metric(
        "successful_chats",
        "Successful chats",
        "count",
        L,
        m.count(
            lambda t: (
                t.has_human_part
                & (t.resolution == "resolved")
                & t.resolved_by.isin(["agent", "customer"])
            )
        ),
        "Chats with a human part closed `resolved` by an agent or the customer.",
    ),
    *durations(
        "handle_time",
        "Handle time (AHT)",
        L,
        m.col("seconds"),
        "Per chat, the sum of agent stints (agent_joined -> the next transfer or close, else "
        "the agent's last message); split by agent, each agent's own stints per chat.",
        source="stints:chat",
    ),
    metric(
        "transfer_rate",
        "Transfer rate",
        "rate",
        L,
        m.share(lambda t: t.transfers > 0, of=_human),
        "Human conversations with at least one transfer / human conversations.",
        increase_is_bad=True,
    ),
    *durations(
        "resolution_time",
        "Resolution time",
        L,
        m.col("resolution_seconds"),
        "Conversation start -> final `resolved` close (time reopened included).",
        band=Band(
            "4-5 min (retail), 6-7 min (healthcare)", "", "3 min (retail), 4-5 min (healthcare)"
        ),
    ),
    metric(
        "fcr_rate",
        "First contact resolution",
        "rate",
        L,
        m.share(m.col("first_contact_resolved"), of=m.col("is_closed")),
        "Closed conversations resolved, never reopened, transferred or escalated, with no "
        "follow-up contact within `fcr_followup_days` / closed conversations.",
        band=Band("70-75%", "80-85%", "> 90%"),
    ),
    *[
        metric(
            f"not_fcr_{reason}",
            f"Not first-contact resolved: {label}",
            "count",
            L,
            m.count(_not_fcr(pred)),
            f"Closed conversations not resolved at first contact that were {label}.",
            increase_is_bad=True,
        )
        for reason, label, pred in [
            ("reopened", "reopened", lambda t: t.reopens > 0),
            ("transferred", "transferred", lambda t: t.transfers > 0),
            ("escalated", "escalated", lambda t: t.escalated),
            ("followup", "followed by another contact", lambda t: t.followup_contact),
            (
                "unresolved",
                "closed unresolved or without a resolution",
                lambda t: (t.resolution != "resolved").fill_null(True),
            ),
        ]
    ],
    metric(
        "handled_conversations",
        "Handled conversations",
        "count",
        L,
        m.count(lambda t: t.agents.length() > 0),
        "Conversations an agent joined, was transferred or wrote in.",
    ),
    metric(
        "active_agents",
        "Active agents",
        "count",
        L,
        Measure("list:agents", lambda t, s: t.value.nunique()),
        "Distinct agents who handled a conversation.",
    ),
    metric(
        "chats_per_agent",
        "Chats per agent",
        "ratio",
        L,
        _derived(
            ("handled_conversations", "active_agents"),
            lambda v, c: _div(v["handled_conversations"], v["active_agents"]),
        ),
        "handled_conversations / active_agents.",
    ),
    metric(
        "online_hours",
        "Online hours",
        "count",
        L,
        Measure(
            "intervals:agent_status", lambda t, s: t.seconds.sum(where=t.state == "online") / 3600.0
        ),
        "Hours agents were `online` (from agent_status intervals).",
        dimensions=frozenset({"agent_id", "team"}),
        attrs_dimensions=False,
    ),
    metric(
        "chats_per_online_hour",
        "Chats per online hour",
        "per_hour",
        L,
        _derived(
            ("handled_conversations", "online_hours"),
            lambda v, c: _div(v["handled_conversations"], v["online_hours"]),
        ),
        "handled_conversations / online_hours.",
        band=Band("3-5"),
        dimensions=frozenset({"agent_id", "team"}),
        attrs_dimensions=False,
    ),
    metric(
        "busy_hours",
        "Busy hours",
        "count",
        L,
        Measure("intervals:busy", lambda t, s: t.seconds.sum() / 3600.0),
        "Hours agents had at least one chat (the union of their stints).",
        dimensions=frozenset({"agent_id"}),
        attrs_dimensions=False,
    ),
    metric(
        "chat_hours",
        "Chat hours",
        "count",
        L,
        Measure("intervals:stints", lambda t, s: t.seconds.sum() / 3600.0),
        "Sum of the lengths of all agent stints, in hours (two chats at once count twice).",
        dimensions=frozenset({"agent_id"}),
        attrs_dimensions=False,
    ),
    metric(
        "utilization",
        "Utilization",
        "rate",
        L,
        _derived(
            ("busy_hours", "online_hours"),
            lambda v, c: _div(v["busy_hours"], v["online_hours"]),
        ),
        "Time with at least one active chat / time online (agent_status intervals).",
        dimensions=frozenset({"agent_id"}),
        attrs_dimensions=False,
    ),
    metric(
        "concurrency",
        "Concurrency",
        "ratio",
        L,
        _derived(("chat_hours", "busy_hours"), lambda v, c: _div(v["chat_hours"], v["busy_hours"])),
        "Mean number of simultaneous chats per agent while busy: chat_hours / busy_hours.",
        dimensions=frozenset({"agent_id"}),
        attrs_dimensions=False,
    ),
    metric(
        "tag_usage",
        "Tagged conversations",
        "rate",
        L,
        m.share(lambda t: t.tags.length() > 0),
        "Share of conversations with >= 1 tag.",
    ),
    metric(
        "tags_per_conversation",
        "Tags per conversation",
        "ratio",
        L,
        m.mean(lambda t: t.tags.length()),
        "Mean number of tags per conversation.",
    ),
    metric(
        "high_priority_share",
        "High-priority share",
        "rate",
        L,
        m.share(lambda t: t.top_priority.isin(["high", "urgent"])),
        "Share of conversations with a high or urgent tag.",
        increase_is_bad=True,
    ),
    metric(
        "canned_usage",
        "Canned response usage",
        "rate",
        L,
        m.share(lambda t: t.canned_messages > 0, of=lambda t: t.agent_messages > 0),
        "Share of agent-handled chats (an agent wrote) using canned responses.",
    ),
    metric(
        "canned_per_chat",
        "Canned messages per chat",
        "ratio",
        L,
        m.ratio(m.col("canned_messages"), lambda t: (t.agent_messages > 0).cast("int64")),
        "Canned messages / agent-handled chats.",
    ),
    metric(
        "csat_with_canned",
        "CSAT with canned responses",
        "score",
        L,
        m.mean(lambda t: ibis.ifelse(t.canned_messages > 0, t.csat, None)),
        "Mean CSAT of chats that used canned responses.",
    ),
    metric(
        "csat_without_canned",
        "CSAT without canned responses",
        "score",
        L,
        m.mean(
            lambda t: ibis.ifelse((t.canned_messages == 0) & (t.agent_messages > 0), t.csat, None)
        ),
        "Mean CSAT of agent-handled chats without canned responses.",
    ),
    metric(
        "canned_time_saved",
        "Time saved by canned responses",
        "seconds",
        L,
        Measure(m.CONVERSATIONS, _canned_time_saved),
        "Canned messages x the `canned_seconds_saved` setting.",
    ),
    metric(
        "escalation_rate",
        "Escalation rate",
        "rate",
        L,
        m.share(lambda t: t.resolution == "escalated", of=m.col("is_closed")),
        "Conversations closed `escalated` / closed conversations.",
        increase_is_bad=True,
    ),
    # 4. Customer feedback
    metric("csat", "CSAT", "score", F, m.mean(m.col("csat")), "Mean CSAT score (1-5)."),
    metric(
        "csat_satisfied_rate",
        "CSAT satisfied",
        "rate",
        F,
        m.share(lambda t: t.csat >= 4, of=lambda t: t.csat.notnull()),
        "Share of CSAT answers 4-5.",
    ),
    metric(
        "csat_very_satisfied_rate",
        "CSAT very satisfied",
        "rate",
        F,
        m.share(lambda t: t.csat == 5, of=lambda t: t.csat.notnull()),
        "Share of CSAT answers 5.",
    ),
    metric(
        "negative_feedback",
        "Negative feedback",
        "count",
        F,
        m.count(lambda t: (t.csat <= 2).fill_null(False) | (t.thumbs == 0).fill_null(False)),
        "Conversations rated CSAT 1-2 or thumbs down.",
        increase_is_bad=True,
    ),
    metric(
        "csat_response_rate",
        "CSAT response rate",
        "rate",
        F,
        m.share(lambda t: t.csat.notnull(), of=m.col("is_closed")),
        "Closed conversations with a CSAT answer / closed conversations.",
    ),
    metric(
        "uss",
        "User satisfaction score",
        "score",
        F,
        m.mean(m.col("uss")),
        "Mean USS (0-100).",
        band=Band("~85 (retail), ~80 (healthcare)", "85 (healthcare)", ">= 90"),
    ),
    metric(
        "nps",
        "Net promoter score",
        "nps",
        F,
        Measure(m.CONVERSATIONS, _nps),
        "% promoters (9-10) - % detractors (0-6); -100..100.",
    ),
    metric(
        "nps_promoters",
        "NPS promoters",
        "count",
        F,
        m.count(lambda t: t.nps >= 9),
        "NPS answers 9-10.",
    ),
    metric(
        "nps_passives",
        "NPS passives",
        "count",
        F,
        m.count(lambda t: (t.nps >= 7) & (t.nps <= 8)),
        "NPS answers 7-8.",
    ),
    metric(
        "nps_detractors",
        "NPS detractors",
        "count",
        F,
        m.count(lambda t: t.nps <= 6),
        "NPS answers 0-6.",
        increase_is_bad=True,
    ),
    metric(
        "ces",
        "Customer effort score",
        "score",
        F,
        m.mean(m.col("ces")),
        "Mean CES (1-7, lower effort is better).",
        increase_is_bad=True,
    ),
    metric(
        "ces_csat_correlation",
        "CES-CSAT correlation",
        "ratio",
        F,
        Measure(m.CONVERSATIONS, lambda t, s: t.ces.corr(t.csat, how="pop")),
        "Pearson correlation of CES and CSAT over conversations that have both.",
    ),
    metric(
        "positive_rating_rate",
        "Positive ratings",
        "rate",
        F,
        m.share(lambda t: t.thumbs == 1, of=lambda t: t.thumbs.notnull()),
        "Thumbs up / thumbs answers.",
    ),
    metric(
        "negative_rating_rate",
        "Negative ratings",
        "rate",
        F,
        m.share(lambda t: t.thumbs == 0, of=lambda t: t.thumbs.notnull()),
        "Thumbs down / thumbs answers.",
        increase_is_bad=True,
    ),
    # 5. Business impact
    metric(
        "conversion_rate",
        "Conversion rate",
        "rate",
        I,
        m.share(lambda t: t.conversions > 0),
        "Conversations followed by a purchase, signup or lead of the same customer within "
        "`attribution_days` / conversations.",
    ),
    metric(
        "conversions",
        "Conversions",
        "count",
        I,
        m.total("conversions"),
        "Conversion goals (purchase, signup, lead) credited to conversations.",
    ),
    *durations(
        "time_to_conversion",
        "Time to conversion",
        I,
        m.seconds_between("first_conversion_at", "started_at"),
        "Conversation start -> first credited conversion.",
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
        _derived(
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
        _derived(("conversations", "human_conversations", "bot_only_conversations"), _cost_savings),
        "Cost without the bot (every conversation at `cost_per_agent_conversation`) - cost "
        "with it (human conversations at that cost + bot-only ones at "
        "`cost_per_bot_conversation`).",
    ),
    metric(
        "cost_savings_per_conversation",
        "Cost savings per conversation",
        "money",
        I,
        _derived(
            ("cost_savings", "conversations"),
            lambda v, c: _div(v["cost_savings"], v["conversations"]),
        ),
        "cost_savings / conversations.",
        band=Band("~2.50 USD (retail), ~3 USD (finance)", "", "5 USD (retail), 7 (finance)"),
    ),
    metric(
        "visitors",
        "Visitors",
        "count",
        I,
        m.count(source="customers:visitors"),
        "Distinct visitors (`visit_started`) in the period.",
        dimensions=_NONE,
    ),
    metric(
        "visitor_chat_rate",
        "Visitor-to-chat rate",
        "rate",
        I,
        m.share(m.col("chatted"), source="customers:visitors"),
        "Visitors who started a conversation in the period / visitors.",
        dimensions=_NONE,
    ),
    metric(
        "previous_customers",
        "Customers of the previous period",
        "count",
        I,
        m.count(source="customers:previous"),
        "Customers with a conversation in the period of equal length just before.",
        dimensions=_NONE,
    ),
    metric(
        "retention_rate",
        "Retention rate",
        "rate",
        I,
        m.share(m.col("came_back"), source="customers:previous"),
        "Customers of the previous period who came back in this one / customers of the "
        "previous period.",
        dimensions=_NONE,
        band=Band("~80% (retail), ~70% (healthcare)", "", ">= 90% (retail), >= 85% (healthcare)"),
    ),
    metric(
        "tickets_created",
        "Tickets created",
        "count",
        I,
        m.count(source="events:ticket_created"),
        "`ticket_created` events.",
        dimensions=_NONE,
    ),
    metric(
        "tickets_resolved",
        "Tickets resolved",
        "count",
        I,
        m.count(source="events:ticket_resolved"),
        "`ticket_resolved` events.",
        dimensions=_NONE,
    ),
]

METRICS_LIST += [
    *durations(
        "ticket_resolution_time",
        "Ticket resolution time",
        I,
        m.col("seconds"),
        "Tickets resolved in the period: ticket_created -> first ticket_resolved.",
        source="tickets:resolved",
        dimensions=_NONE,
    ),
    metric(
        "ticket_backlog",
        "Ticket backlog",
        "count",
        I,
        m.count(m.col("open"), source="tickets:backlog"),
        "Tickets created and not resolved at the period's (bucket's) end.",
        increase_is_bad=True,
        dimensions=_NONE,
    ),
]

_BUSINESS_HOURS = [
    ("first_response_time", "First response time", "first_response"),
    ("wait_time", "Wait time", "wait"),
    ("resolution_time", "Resolution time", "resolution"),
]
for _base, _label, _source in _BUSINESS_HOURS:
    METRICS_LIST += durations(
        f"{_base}_business_hours",
        f"{_label} in business hours",
        L,
        m.value,
        f"{_label}, counting only time inside the workspace's `business_hours` (null without "
        "them).",
        source=f"business:{_source}",
    )

METRICS: dict[str, Metric] = {}
for _metric in METRICS_LIST:
    if _metric.id in METRICS:
        raise ValueError(f"metric {_metric.id} declared twice")
    METRICS[_metric.id] = _metric
