"""What each column of the conversation facts means; the source of docs/facts.md.

A test checks that these are exactly the columns the facts SQL produces.
"""

from __future__ import annotations

FACT_COLUMNS: dict[str, str] = {
    "conversation_id": "The conversation.",
    "started_at": "Time of `conversation_started` (else of its first event). The conversation "
    "belongs to the period in which it started.",
    "channel": "Channel: the value on `conversation_started` wins, later events fill it in.",
    "initiated_by": "`customer` (reactive) or `business` (proactive); `customer` when not given.",
    "customer_id": "The customer (same rule as channel).",
    "bot_id": "The bot (same rule as channel).",
    "team": "The team (same rule as channel; the first team named).",
    "attrs": "Segment attributes, merged key by key over the conversation's events: a key "
    "keeps its first value (`conversation_started` first, then in time order); a key first "
    "seen on a later event is added (a key whose value is null is not set).",
    "page_url": "Page the conversation started on.",
    "agents": "Agents who handled it (joined, were transferred to, or wrote), in order.",
    "first_agent_id": "The first of `agents`.",
    "messages": "Customer + bot + agent messages (system messages and private notes excluded).",
    "customer_messages": "Messages from the customer.",
    "bot_messages": "Messages from the bot.",
    "agent_messages": "Messages from agents (private notes excluded).",
    "first_message_at": "Time of the first counted message.",
    "last_message_at": "Time of the last counted message.",
    "welcome_messages": "Bot messages flagged `welcome`.",
    "welcome_only": "Every message was a welcome message.",
    "engaged": "The customer wrote after the bot's welcome (or at all, where there was none).",
    "fallback_messages": "Bot messages that are fallbacks: `fallback: true`, or no flag and a "
    "fallback phrase in the text (defaults plus the `fallback_phrases` setting).",
    "last_bot_turn_fallback": "The bot's last message was a fallback.",
    "bot_involved": "The bot sent at least one message (a bot conversation).",
    "has_human_part": "A handoff, an agent joining, an agent message, or no bot at all.",
    "bot_only": "The bot spoke and there was no human part.",
    "handoff_at": "First `handoff_requested`.",
    "queue_entry_at": "Entry to the human queue: the handoff, else the start when no bot took "
    "part, else the first pickup or agent message.",
    "picked_up_at": "First `agent_joined` at or after queue entry.",
    "first_agent_message_at": "First agent message.",
    "first_response_at": "First agent message at or after queue entry.",
    "pickup_agent_id": "The agent who picked the chat up (of the `agent_joined` at "
    "`picked_up_at`): `wait_seconds` is credited to this agent.",
    "first_response_agent_id": "The agent who sent the first response (`first_response_at`): "
    "the conversation's FRT is credited to this agent, never to every agent of the chat.",
    "closing_agent_id": "The agent of the last stint (else the last agent who wrote): the "
    "agent who closed it, credited with FCR, transfers and conversions.",
    "csat_agent_id": "The agent credited with the CSAT rating: the agent of the last stint "
    "begun at or before the latest `csat` rating (else the last agent who wrote before it).",
    "nps_agent_id": "The same for the NPS answer.",
    "ces_agent_id": "The same for the customer effort score.",
    "thumbs_agent_id": "The same for the thumbs rating.",
    "uss_agent_id": "The same for the user satisfaction score.",
    "offered_to": "Agents the chat was offered to (`chat_offered`).",
    "declined_by": "Agents who declined the chat or let the offer time out (`chat_declined`): "
    "per agent, the chat is missed by each of them.",
    "timed_out_by": "Those of `declined_by` with a `timeout` decline.",
    "unanswered": "Human part and no agent message before the conversation ended.",
    "left_within_grace": "Ended within `missed_chat_grace_seconds` of queue entry (at most "
    "that many seconds after it: a customer leaving exactly at the limit is not missed).",
    "missed": "Unanswered and not left within the grace period (a missed chat).",
    "missed_reason": "For missed chats: `timeout` or `declined` when an offer was not taken "
    "(some `chat_declined`; `timeout` wins); else `no_agent_online` when agents report "
    "their status and none was `online` at queue entry (each agent's latest `agent_status` "
    "at or before it); else `customer_left` (also when no agent had reported a status yet).",
    "wait_seconds": "Queue entry to pickup (pickup time); null for missed chats.",
    "first_response_seconds": "Queue entry to the first agent message (FRT).",
    "response_times": "For each run of customer messages answered by an agent before the "
    "customer wrote again after another turn: seconds from the run's first message to the "
    "agent's reply.",
    "response_started_at": "For each of `response_times`: the first message of the run.",
    "response_answered_at": "For each of `response_times`: the agent's reply.",
    "bot_response_times": "For each bot message right after a customer message: seconds "
    "between them (bot latency).",
    "chats_offered": "`chat_offered` events.",
    "chats_declined": "`chat_declined` events.",
    "transfers": "`transferred` events.",
    "handle_seconds": "Sum over agent stints of `agent_joined` (or transfer to the agent) to "
    "the next transfer or close, else to that agent's last message.",
    "tags": "Tags on the conversation now (each tag's latest add or remove wins).",
    "tag_categories": "Categories of those tags.",
    "top_priority": "Highest priority among those tags (low, medium, high, urgent).",
    "canned_messages": "Agent messages sent from a canned response.",
    "is_closed": "Its final state is closed (the last close is not followed by a reopen).",
    "closed_at": "Time of the final close.",
    "ended_at": "The final close, else the last event other than a rating.",
    "resolution": "`resolution` of the final close.",
    "resolved_by": "`resolved_by` of the final close.",
    "closes": "`conversation_closed` events.",
    "reopens": "`conversation_reopened` events.",
    "escalated": "Some close had resolution `escalated`.",
    "resolution_seconds": "Start to the final close when that close is `resolved` (time "
    "reopened included).",
    "duration_seconds": "First message to the last message, or to the close when later.",
    "bot_resolved": "Bot-only and either closed `resolved` by the bot or the customer, or not "
    "closed with an outcome and the bot's last turn was not a fallback.",
    "followup_contact": "The customer started another conversation after this one started "
    "and at most `fcr_followup_days` after its end (its close; the limit included).",
    "is_followup": "A follow-up contact: the customer had an earlier conversation, and this "
    "one started after that one started and at most `fcr_followup_days` after its end.",
    "first_contact_resolved": "Closed `resolved`, never reopened, transferred or escalated, "
    "and no follow-up contact.",
    "csat": "Latest CSAT score (1-5).",
    "nps": "Latest NPS answer (0-10).",
    "ces": "Latest customer effort score (1-7).",
    "thumbs": "Latest thumbs rating (1 up, 0 down).",
    "uss": "Latest user satisfaction score (0-100).",
    "rating_comments": "Ratings with a comment.",
    "first_rated_at": "Time of the first rating.",
    "rated_negative": "CSAT 1-2 or thumbs down.",
    "goals": "Goals credited to this conversation (last touch): each `goal_completed` of its "
    "customer goes to the customer's latest conversation that started at or before it, when "
    "that start is at most `attribution_days` before the completion (the limit included).",
    "conversions": "Credited goals that are conversions: those named in the workspace's "
    "`conversion_goals` (default purchase, signup, lead).",
    "leads": "Credited `lead` goals.",
    "revenue": "Sum of `value` of credited purchases.",
    "first_conversion_at": "Time of the first credited conversion.",
    "visit_started_at": "The visit the chat happened in: the customer's latest `visit_started` "
    "at or before the conversation started, if that visit was still going on (its start or a "
    "`page_view` of its session at most 30 minutes before the chat, the usual session "
    "timeout of web analytics); else null.",
    "bounced": "A missed chat during a visit after which the visitor viewed no other page: no "
    "`page_view` of the same customer and session after the conversation ended.",
    "outcome": "`missed`; else the final close's resolution (`resolved`, `unresolved`, "
    "`escalated`, or `closed` without one); else `resolved` for a bot-only conversation "
    "whose last bot turn was not a fallback; else `open`.",
}


def facts_markdown() -> str:
    lines = [
        "# Conversation facts",
        "",
        "<!-- generated by `chatlens docs facts --out docs/facts.md`; do not edit -->",
        "",
        "One row per conversation, derived from its events (and, for follow-ups, goal",
        "attribution and visits, from the other conversations, goals, visits and page views of",
        "the same customer; for the missed reason, from the agents' statuses). Every KPI is an",
        "aggregate over these rows. The table is kept up to date after each import: only the",
        "conversations touched by new events, and the other conversations of their customers,",
        "are recomputed (a new agent status touches the missed chats queued from its time on).",
        "The settings it depends on (`missed_chat_grace_seconds`,",
        "`fcr_followup_days`, `attribution_days`, `fallback_phrases`, `conversion_goals`)",
        "rebuild it when changed, so history always follows the current settings. Times are",
        'UTC; durations in seconds. "Within N" always includes N: a duration exactly at a',
        "limit is within it (grace period, SLA, follow-up and attribution windows).",
        "",
        "| column | meaning |",
        "|---|---|",
    ]
    lines += [f"| `{name}` | {text} |" for name, text in FACT_COLUMNS.items()]
    lines += [
        "",
        "## Agent stints",
        "",
        "Beside the facts, the table `agent_stints` holds one row per agent stint: from",
        "`agent_joined` (or a transfer to the agent) until the next transfer or close of the",
        "conversation, else until that agent's last message (`conversation_id`, `agent_id`,",
        "`team`, `started_at`, `ended_at`, `seconds`), whether it is the conversation's",
        "`first_stint`, and the agent's first message inside it (`first_message_at`). Handle",
        "time, busy time, utilization and concurrency are computed from it, and the per-agent",
        "first response time: per stint, from its start (the first stint: from queue entry) to",
        "`first_message_at`. It is refreshed with the facts.",
        "",
        "## Crediting agents",
        "",
        "Split or filtered by `agent_id`, a conversation counts for every agent who handled it",
        '(`agents`), but its figures are credited as metrics.md "Crediting agents" says:',
        "",
        "- `first_response_time` (and `frt_within_sla`): the agent's own stints, each from its",
        "  start (the first stint: queue entry) to the agent's first message in it (for the",
        "  first stint's agent who answered first, even before joining: the chat's FRT); an",
        "  agent who answered first without any stint keeps the chat's FRT. The",
        "  conversation-level FRT (its business-hours variant too) goes to",
        "  `first_response_agent_id` only.",
        "- `wait_time`: `pickup_agent_id`. `handle_time`: each agent's own stints.",
        "- `csat`, `nps`, `ces`, thumbs and `uss`: `csat_agent_id` ... `uss_agent_id`.",
        "- `missed_chats`, `missed_rate` and the missed reasons: the chats offered to the agent",
        "  and declined or timed out (`declined_by`, `timed_out_by`), among the chats the agent",
        "  handled or was offered; a chat nobody was offered is missed by the team, not an",
        "  agent.",
        "- `fcr_rate`, the not-FCR reasons, `transfer_rate`, conversions (`conversion_rate`,",
        "  `conversions`, `leads`, `revenue`, `time_to_conversion`): `closing_agent_id`, over",
        "  the chats the agent closed.",
    ]
    return "\n".join(lines) + "\n"
