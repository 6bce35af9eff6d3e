"""3. Live chat and agents (docs/metrics.md section 3; the agent report of docs/server.md)."""

from __future__ import annotations

import ibis

from chatlens.metrics import measures as m
from chatlens.metrics.catalogue.common import (
    FIRST_RESPONSES,
    MISSED,
    WITHIN_SLA,
    L,
    canned_time_saved_seconds,
    closed_by_agent,
    closed_with_resolution,
    derived,
    div,
    durations,
    equals,
    human,
    metric,
    not_fcr,
    tag_share_of,
)
from chatlens.metrics.model import Derived, Measure, Metric

LIVE: list[Metric] = [
    metric(
        "human_conversations",
        "Human conversations",
        "count",
        L,
        m.count(human),
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
        "Queue entry -> first agent message (exactly at the SLA meets it). By agent, per "
        "stint: from its start (the first stint: queue entry) to that agent's first message "
        "in it.",
        source=FIRST_RESPONSES,
    ),
    metric(
        "frt_within_sla",
        "First responses within SLA",
        "rate",
        L,
        WITHIN_SLA,
        "Share of first responses within `sla_first_response_seconds` (at or under it); by "
        "agent, of the agent's stints' first responses.",
    ),
    *durations(
        "response_time",
        "Response time",
        L,
        m.value,
        "For every run of consecutive customer messages (bot messages in between do not end "
        "it) answered by an agent before the customer's next run: time from the run's first "
        "message to that reply; a run overtaken by another customer run is not answered by "
        "itself (the later run carries the wait).",
        source="list:response_times",
    ),
    metric(
        "missed_chats",
        "Missed chats",
        "count",
        L,
        m.count(m.col("missed"), source=MISSED),
        "Chats with a human part in which no agent wrote before the chat ended, excluding "
        "customers who left within `missed_chat_grace_seconds` of queue entry (the limit "
        "included). By agent: the chats offered to the agent and declined or timed out.",
        increase_is_bad=True,
    ),
    metric(
        "missed_rate",
        "Missed rate",
        "rate",
        L,
        m.share(m.col("missed"), of=human, source=MISSED),
        "missed_chats / human_conversations; by agent, of the chats the agent handled or "
        "was offered.",
        increase_is_bad=True,
    ),
    *[
        metric(
            f"missed_chats_{reason}",
            f"Missed chats: {reason.replace('_', ' ')}",
            "count",
            L,
            m.count(equals("missed_reason", reason), source=MISSED),
            f"Missed chats whose reason is `{reason}` (by agent: the agent's own declines).",
            increase_is_bad=True,
        )
        for reason in ("declined", "timeout", "no_agent_online", "customer_left")
    ],
    metric(
        "chats_declined",
        "Declined chats",
        "count",
        L,
        m.count(source="events:chat_declined"),
        "`chat_declined` events (offers not taken: declined or timed out).",
        increase_is_bad=True,
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
        m.share(lambda t: t.transfers > 0, of=lambda t: t.has_human_part & t.credited_close),
        "Human conversations with at least one transfer / human conversations; by agent, of "
        "the chats the agent closed (the last stint).",
        increase_is_bad=True,
    ),
    *durations(
        "resolution_time",
        "Resolution time",
        L,
        m.col("resolution_seconds"),
        "Conversation start -> final `resolved` close (time reopened included).",
    ),
    metric(
        "fcr_rate",
        "First contact resolution",
        "rate",
        L,
        m.share(m.col("first_contact_resolved"), of=closed_by_agent),
        "Closed conversations resolved, never reopened, transferred or escalated, with no "
        "follow-up contact within `fcr_followup_days` of the close / closed conversations (a "
        "close that carries no `resolution`, as some platforms' exports, counts on neither "
        "side: its outcome is unknown). By agent: the chats the agent closed (the last stint).",
    ),
    *[
        metric(
            f"not_fcr_{reason}",
            f"Not first-contact resolved: {label}",
            "count",
            L,
            m.count(not_fcr(pred)),
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
                "closed unresolved or escalated",
                lambda t: t.resolution != "resolved",
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
        derived(
            ("handled_conversations", "active_agents"),
            lambda v, c: div(v["handled_conversations"], v["active_agents"]),
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
    ),
    metric(
        "chats_per_online_hour",
        "Chats per online hour",
        "per_hour",
        L,
        derived(
            ("handled_conversations", "online_hours"),
            lambda v, c: div(v["handled_conversations"], v["online_hours"]),
        ),
        "handled_conversations / online_hours.",
    ),
    metric(
        "busy_hours",
        "Busy hours",
        "count",
        L,
        Measure("intervals:busy", lambda t, s: t.seconds.sum() / 3600.0),
        "Hours agents had at least one chat (the union of their stints).",
    ),
    metric(
        "chat_hours",
        "Chat hours",
        "count",
        L,
        Measure("intervals:stints", lambda t, s: t.seconds.sum() / 3600.0),
        "Sum of the lengths of all agent stints, in hours (two chats at once count twice).",
    ),
    metric(
        "utilization",
        "Utilization",
        "rate",
        L,
        derived(
            ("busy_hours", "online_hours"),
            lambda v, c: div(v["busy_hours"], v["online_hours"]),
        ),
        "Time with at least one active chat / time online (agent_status intervals).",
    ),
    metric(
        "concurrency",
        "Concurrency",
        "ratio",
        L,
        derived(("chat_hours", "busy_hours"), lambda v, c: div(v["chat_hours"], v["busy_hours"])),
        "Mean number of simultaneous chats per agent while busy: chat_hours / busy_hours.",
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
        "tag_share",
        "Share with the tag",
        "rate",
        L,
        Derived(("conversations",), tag_share_of, unsplit=("conversations",)),
        "Share of the conversations of the row's time bucket (and other dimensions) that "
        "carry the row's tag (or a tag of its category); split by tag or tag_category to "
        "read it. A conversation with several tags counts for each, so the shares of a "
        "bucket can add up to more than 1.",
        read_by=("tag", "tag_category"),
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
        Measure(m.CONVERSATIONS, canned_time_saved_seconds),
        "Canned messages x the `canned_seconds_saved` setting.",
    ),
    metric(
        "escalation_rate",
        "Escalation rate",
        "rate",
        L,
        m.share(lambda t: t.resolution == "escalated", of=closed_with_resolution),
        "Conversations closed `escalated` / closed conversations (those whose close carries "
        "a `resolution`).",
        increase_is_bad=True,
    ),
]

_BUSINESS_HOURS = [
    ("first_response_time", "First response time", "first_response"),
    ("wait_time", "Wait time", "wait"),
    ("resolution_time", "Resolution time", "resolution"),
    ("response_time", "Response time", "response"),
]
for _base, _label, _source in _BUSINESS_HOURS:
    LIVE += durations(
        f"{_base}_business_hours",
        f"{_label} in business hours",
        L,
        m.value,
        f"{_label}, counting only time inside the workspace's `business_hours` (null without "
        "them).",
        source=f"business:{_source}",
    )
