"""The columns of the conversation facts: each one's name, SQL and meaning, declared once.

The SQL of a column reads the last step of the facts query (facts_sql.py: `f` the
conversation's state, `g` its credited goals, `fu`/`ea` follow-ups, `qs` the agents' status
at queue entry, `vi`/`lv` its visit). Where the engines spell something differently the
expression is a function of the dialect (facts_dialect.py). The same list renders the SELECT
for DuckDB and for Spark, and docs/facts.md (`chatlens docs facts`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from chatlens.store.facts_dialect import FactsDialect

Expression = str | Callable[[FactsDialect], str]


@dataclass(frozen=True)
class FactColumn:
    name: str
    expression: Expression
    """SQL over the facts query's last step, or a function of the dialect giving it."""
    doc: str
    """What the column means (a row of docs/facts.md)."""

    def sql(self, dialect: FactsDialect) -> str:
        expression = self.expression
        text = expression(dialect) if callable(expression) else expression
        return text if text == f"f.{self.name}" else f"{text} AS {self.name}"


MISSED = "f.unanswered AND NOT coalesce(f.left_within_grace, false)"
"""A missed chat: unanswered and not left within the grace period."""

FACT_COLUMNS: tuple[FactColumn, ...] = (
    FactColumn("conversation_id", "f.conversation_id", "The conversation."),
    FactColumn(
        "started_at",
        "f.started_at",
        "Time of `conversation_started` (else of its first event). The conversation belongs "
        "to the period in which it started.",
    ),
    FactColumn(
        "channel",
        "f.channel",
        "Channel: the value on `conversation_started` wins, later events fill it in.",
    ),
    FactColumn(
        "initiated_by",
        "f.initiated_by",
        "`customer` (reactive) or `business` (proactive); `customer` when not given.",
    ),
    FactColumn("customer_id", "f.customer_id", "The customer (same rule as channel)."),
    FactColumn("bot_id", "f.bot_id", "The bot (same rule as channel)."),
    FactColumn("team", "f.team", "The team (same rule as channel; the first team named)."),
    FactColumn(
        "attrs",
        "f.attrs",
        "Segment attributes, merged key by key over the conversation's events: a key keeps "
        "its first value (`conversation_started` first, then in time order); a key first seen"
        " on a later event is added (a key whose value is null is not set).",
    ),
    FactColumn("page_url", "f.page_url", "Page the conversation started on."),
    FactColumn(
        "agents",
        lambda d: f"coalesce(f.agents, {d.empty('string')})",
        "Agents who handled it (joined, were transferred to, or wrote), in order.",
    ),
    FactColumn("first_agent_id", lambda d: d.first_item("f.agents"), "The first of `agents`."),
    FactColumn(
        "messages",
        "coalesce(f.messages, 0)",
        "Customer + bot + agent messages (system messages and private notes excluded).",
    ),
    FactColumn(
        "customer_messages", "coalesce(f.customer_messages, 0)", "Messages from the customer."
    ),
    FactColumn("bot_messages", "coalesce(f.bot_messages, 0)", "Messages from the bot."),
    FactColumn(
        "agent_messages",
        "coalesce(f.agent_messages, 0)",
        "Messages from agents (private notes excluded).",
    ),
    FactColumn("first_message_at", "f.first_message_at", "Time of the first counted message."),
    FactColumn("last_message_at", "f.last_message_at", "Time of the last counted message."),
    FactColumn(
        "welcome_messages", "coalesce(f.welcome_messages, 0)", "Bot messages flagged `welcome`."
    ),
    FactColumn(
        "welcome_only",
        "coalesce(f.messages, 0) > 0 AND f.messages = f.welcome_messages",
        "Every message was a welcome message.",
    ),
    FactColumn(
        "engaged",
        "coalesce(f.last_customer_message_at > f.first_welcome_at"
        " OR (f.first_welcome_at IS NULL AND f.customer_messages > 0), false)",
        "The customer wrote after the bot's welcome (or at all, where there was none).",
    ),
    FactColumn(
        "fallback_messages",
        "coalesce(f.fallback_messages, 0)",
        "Bot messages that are fallbacks: `fallback: true`, or no flag and a fallback phrase "
        "in the text (defaults plus the `fallback_phrases` setting).",
    ),
    FactColumn(
        "last_bot_turn_fallback",
        "coalesce(f.last_bot_turn_fallback, false)",
        "The bot's last message was a fallback.",
    ),
    FactColumn(
        "bot_involved", "f.bot_involved", "The bot sent at least one message (a bot conversation)."
    ),
    FactColumn(
        "has_human_part",
        "f.has_human_part",
        "A handoff, an agent joining, an agent message, or no bot at all.",
    ),
    FactColumn(
        "bot_only",
        "f.bot_involved AND NOT f.has_human_part",
        "The bot spoke and there was no human part.",
    ),
    FactColumn("handoff_at", "f.handoff_at", "First `handoff_requested`."),
    FactColumn(
        "queue_entry_at",
        "f.queue_entry_at",
        "Entry to the human queue: the handoff, else the start when no bot took part, else "
        "the first pickup or agent message.",
    ),
    FactColumn("picked_up_at", "f.picked_up_at", "First `agent_joined` at or after queue entry."),
    FactColumn("first_agent_message_at", "f.first_agent_message_at", "First agent message."),
    FactColumn(
        "first_response_at", "f.first_response_at", "First agent message at or after queue entry."
    ),
    FactColumn(
        "pickup_agent_id",
        "f.pickup_agent_id",
        "The agent who picked the chat up (of the `agent_joined` at `picked_up_at`): "
        "`wait_seconds` is credited to this agent.",
    ),
    FactColumn(
        "first_response_agent_id",
        "f.first_response_agent_id",
        "The agent who sent the first response (`first_response_at`): the conversation's FRT "
        "is credited to this agent, never to every agent of the chat.",
    ),
    FactColumn(
        "closing_agent_id",
        "f.closing_agent_id",
        "The agent of the last stint (else the last agent who wrote): the agent who closed "
        "it, credited with FCR, transfers and conversions.",
    ),
    FactColumn(
        "csat_agent_id",
        "f.csat_agent_id",
        "The agent credited with the CSAT rating: the agent of the last stint begun at or "
        "before the latest `csat` rating (else the last agent who wrote before it).",
    ),
    FactColumn("nps_agent_id", "f.nps_agent_id", "The same for the NPS answer."),
    FactColumn("ces_agent_id", "f.ces_agent_id", "The same for the customer effort score."),
    FactColumn("thumbs_agent_id", "f.thumbs_agent_id", "The same for the thumbs rating."),
    FactColumn("uss_agent_id", "f.uss_agent_id", "The same for the user satisfaction score."),
    FactColumn(
        "offered_to",
        lambda d: f"coalesce(f.offered_to, {d.empty('string')})",
        "Agents the chat was offered to (`chat_offered`).",
    ),
    FactColumn(
        "declined_by",
        lambda d: f"coalesce(f.declined_by, {d.empty('string')})",
        "Agents who declined the chat or let the offer time out (`chat_declined`): per agent,"
        " the chat is missed by each of them.",
    ),
    FactColumn(
        "timed_out_by",
        lambda d: f"coalesce(f.timed_out_by, {d.empty('string')})",
        "Those of `declined_by` with a `timeout` decline.",
    ),
    FactColumn(
        "unanswered",
        "f.unanswered",
        "Human part and no agent message before the conversation ended.",
    ),
    FactColumn(
        "left_within_grace",
        "f.left_within_grace",
        "Ended within `missed_chat_grace_seconds` of queue entry (at most that many seconds "
        "after it: a customer leaving exactly at the limit is not missed).",
    ),
    FactColumn(
        "missed", MISSED, "Unanswered and not left within the grace period (a missed chat)."
    ),
    FactColumn(
        "missed_reason",
        f"CASE WHEN {MISSED} THEN"
        " CASE WHEN f.chats_timed_out > 0 THEN 'timeout' WHEN f.chats_declined > 0 THEN 'declined'"
        " WHEN NOT qs.agent_online THEN 'no_agent_online' ELSE 'customer_left' END END",
        "For missed chats: `timeout` or `declined` when an offer was not taken (some "
        "`chat_declined`; `timeout` wins); else `no_agent_online` when agents report their "
        "status and none was `online` at queue entry (each agent's latest `agent_status` at "
        "or before it); else `customer_left` (also when no agent had reported a status yet).",
    ),
    FactColumn(
        "wait_seconds",
        lambda d: (
            f"CASE WHEN NOT ({MISSED})"
            f" THEN {d.epoch('f.picked_up_at')} - {d.epoch('f.queue_entry_at')} END"
        ),
        "Queue entry to pickup (pickup time); null for missed chats.",
    ),
    FactColumn(
        "first_response_seconds",
        lambda d: f"{d.epoch('f.first_response_at')} - {d.epoch('f.queue_entry_at')}",
        "Queue entry to the first agent message (FRT).",
    ),
    FactColumn(
        "response_times",
        lambda d: f"coalesce(f.response_times, {d.empty('double')})",
        "For each run of customer messages answered by an agent before the customer wrote "
        "again after another turn: seconds from the run's first message to the agent's reply.",
    ),
    FactColumn(
        "response_started_at",
        lambda d: f"coalesce(f.response_started_at, {d.empty('timestamp')})",
        "For each of `response_times`: the first message of the run.",
    ),
    FactColumn(
        "response_answered_at",
        lambda d: f"coalesce(f.response_answered_at, {d.empty('timestamp')})",
        "For each of `response_times`: the agent's reply.",
    ),
    FactColumn(
        "bot_response_times",
        lambda d: f"coalesce(f.bot_response_times, {d.empty('double')})",
        "For each bot message right after a customer message: seconds between them (bot latency).",
    ),
    FactColumn("chats_offered", "f.chats_offered", "`chat_offered` events."),
    FactColumn("chats_declined", "f.chats_declined", "`chat_declined` events."),
    FactColumn("transfers", "f.transfers", "`transferred` events."),
    FactColumn(
        "handle_seconds",
        "f.handle_seconds",
        "Sum over agent stints of `agent_joined` (or transfer to the agent) to the next "
        "transfer or close, else to that agent's last message.",
    ),
    FactColumn(
        "tags",
        lambda d: f"coalesce(f.tags, {d.empty('string')})",
        "Tags on the conversation now (each tag's latest add or remove wins).",
    ),
    FactColumn(
        "tag_categories",
        lambda d: f"coalesce(f.tag_categories, {d.empty('string')})",
        "Categories of those tags.",
    ),
    FactColumn(
        "top_priority",
        "CASE f.priority_rank WHEN 4 THEN 'urgent' WHEN 3 THEN 'high' WHEN 2 THEN 'medium'"
        " WHEN 1 THEN 'low' END",
        "Highest priority among those tags (low, medium, high, urgent).",
    ),
    FactColumn(
        "canned_messages",
        "coalesce(f.canned_messages, 0)",
        "Agent messages sent from a canned response.",
    ),
    FactColumn(
        "is_closed",
        "f.is_closed",
        "Its final state is closed (the last close is not followed by a reopen).",
    ),
    FactColumn("closed_at", "f.closed_at", "Time of the final close."),
    FactColumn(
        "ended_at", "f.ended_at", "The final close, else the last event other than a rating."
    ),
    FactColumn("resolution", "f.resolution", "`resolution` of the final close."),
    FactColumn("resolved_by", "f.resolved_by", "`resolved_by` of the final close."),
    FactColumn("closes", "f.closes", "`conversation_closed` events."),
    FactColumn("reopens", "f.reopens", "`conversation_reopened` events."),
    FactColumn("escalated", "f.escalated", "Some close had resolution `escalated`."),
    FactColumn(
        "resolution_seconds",
        lambda d: (
            f"CASE WHEN f.resolution = 'resolved'"
            f" THEN {d.epoch('f.closed_at')} - {d.epoch('f.started_at')} END"
        ),
        "Start to the final close when that close is `resolved` (time reopened included).",
    ),
    FactColumn(
        "duration_seconds",
        lambda d: (
            f"{d.epoch('greatest(f.last_message_at, f.closed_at)')}"
            f" - {d.epoch('f.first_message_at')}"
        ),
        "First message to the last message, or to the close when later.",
    ),
    FactColumn(
        "bot_resolved",
        "f.bot_involved AND NOT f.has_human_part AND coalesce("
        "(f.resolution = 'resolved' AND f.resolved_by IN ('bot', 'customer'))"
        " OR (f.resolution IS NULL AND NOT f.last_bot_turn_fallback), false)",
        "Bot-only and either closed `resolved` by the bot or the customer, or not closed with"
        " an outcome and the bot's last turn was not a fallback.",
    ),
    FactColumn(
        "followup_contact",
        "fu.followup_contact",
        "The customer started another conversation after this one started and at most "
        "`fcr_followup_days` after its end (its close; the limit included).",
    ),
    FactColumn(
        "is_followup",
        "ea.is_followup",
        "A follow-up contact: the customer had an earlier conversation, and this one started "
        "after that one started and at most `fcr_followup_days` after its end.",
    ),
    FactColumn(
        "first_contact_resolved",
        "coalesce(f.is_closed AND f.resolution = 'resolved' AND f.reopens = 0"
        " AND f.transfers = 0 AND NOT f.escalated AND NOT fu.followup_contact, false)",
        "Closed `resolved`, never reopened, transferred or escalated, and no follow-up contact.",
    ),
    FactColumn("csat", "f.csat", "Latest CSAT score (1-5)."),
    FactColumn("nps", "f.nps", "Latest NPS answer (0-10)."),
    FactColumn("ces", "f.ces", "Latest customer effort score (1-7)."),
    FactColumn("thumbs", "f.thumbs", "Latest thumbs rating (1 up, 0 down)."),
    FactColumn("uss", "f.uss", "Latest user satisfaction score (0-100)."),
    FactColumn("rating_comments", "f.rating_comments", "Ratings with a comment."),
    FactColumn("first_rated_at", "f.first_rated_at", "Time of the first rating."),
    FactColumn(
        "rated_negative",
        "coalesce(f.csat <= 2, false) OR coalesce(f.thumbs = 0, false)",
        "CSAT 1-2 or thumbs down.",
    ),
    FactColumn(
        "goals",
        lambda d: f"coalesce(g.goals, {d.empty('string')})",
        "Goals credited to this conversation (last touch): each `goal_completed` of its "
        "customer goes to the customer's latest conversation that started at or before it, "
        "when that start is at most `attribution_days` before the completion (the limit "
        "included).",
    ),
    FactColumn(
        "conversions",
        "coalesce(g.conversions, 0)",
        "Credited goals that are conversions: those named in the workspace's "
        "`conversion_goals` (default purchase, signup, lead).",
    ),
    FactColumn("leads", "coalesce(g.leads, 0)", "Credited `lead` goals."),
    FactColumn("revenue", "g.revenue", "Sum of `value` of credited purchases."),
    FactColumn(
        "first_conversion_at", "g.first_conversion_at", "Time of the first credited conversion."
    ),
    FactColumn(
        "visit_started_at",
        "vi.visit_started_at",
        "The visit the chat happened in: the customer's latest `visit_started` at or before "
        "the conversation started, if that visit was still going on (its start or a "
        "`page_view` of its session at most 30 minutes before the chat, the usual session "
        "timeout of web analytics); else null.",
    ),
    FactColumn(
        "bounced",
        f"{MISSED} AND vi.visit_started_at IS NOT NULL AND coalesce(lv.page_views, 0) = 0",
        "A missed chat during a visit after which the visitor viewed no other page: no "
        "`page_view` of the same customer and session after the conversation ended.",
    ),
    FactColumn(
        "outcome",
        f"CASE WHEN {MISSED} THEN 'missed'"
        " WHEN f.is_closed THEN coalesce(f.resolution, 'closed')"
        " WHEN f.bot_involved AND NOT f.has_human_part"
        " AND NOT coalesce(f.last_bot_turn_fallback, false) THEN 'resolved'"
        " ELSE 'open' END",
        "`missed`; else the final close's resolution (`resolved`, `unresolved`, `escalated`, "
        "or `closed` without one); else `resolved` for a bot-only conversation whose last bot"
        " turn was not a fallback; else `open`.",
    ),
)
