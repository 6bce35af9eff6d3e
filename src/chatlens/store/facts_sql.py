"""The SQL that derives one row per conversation (docs/facts.md), written once for every engine.

`facts_query(dialect, settings)` renders the conversation facts and `stints_sql(dialect)` the
agent stints for DuckDB (store/facts.py) or Spark (store/spark.py): the steps below are plain
SQL, the few constructs the engines spell differently are calls on the dialect
(facts_dialect.py), and the final columns are the declaration of facts_columns.py. On DuckDB a
run reads the events of the conversations listed in the temp table `_scope` (always closed
under customer: every conversation of every customer in it, so follow-ups and goal attribution
are complete); on Spark every conversation. The settings it depends on are bound as named
parameters.
"""

from __future__ import annotations

from typing import Any

from chatlens.store.facts_columns import FACT_COLUMNS
from chatlens.store.facts_dialect import FactsDialect
from chatlens.store.settings import Settings, conversion_goals, fallback_phrases

VISIT_SESSION_MINUTES = 30
"""A visit is still going on while its start or its last page view is this recent (the usual
session timeout of web analytics): a chat after a longer silence is not part of it."""


def facts_parameters(
    settings: Settings, *, marker: str, apostrophe: str
) -> tuple[str, dict[str, Any]]:
    """The fallback-phrase test to put in `{fallback_match}` and the named parameters of the
    facts SQL, for a dialect's parameter `marker` ($ or :) and its way of writing an
    apostrophe inside a string."""
    phrases = fallback_phrases(settings)
    params: dict[str, Any] = {f"phrase{i}": p for i, p in enumerate(phrases)}
    text = f"lower(replace(text, '\u2019', {apostrophe}))"
    match = " OR ".join(f"contains({text}, {marker}phrase{i})" for i in range(len(phrases)))
    goals = conversion_goals(settings)
    params.update({f"conversion_goal{i}": g for i, g in enumerate(goals)})
    params.update(
        session_minutes=VISIT_SESSION_MINUTES,
        grace=settings.missed_chat_grace_seconds,
        attribution_days=settings.attribution_days,
        followup_days=settings.fcr_followup_days,
    )
    return f"({match})", params


def conversion_test(marker: str, count: int) -> str:
    """`goal IN (...)` over the workspace's conversion goals bound as parameters (`false`
    when it names none)."""
    if not count:
        return "false"
    return "goal IN (" + ", ".join(f"{marker}conversion_goal{i}" for i in range(count)) + ")"


IS_FALLBACK = "sender = 'bot' AND coalesce(fallback, {fallback_match}, false)"
"""Whether a message row is a bot fallback: its flag, else the phrase test (also used by
chatlens.topics, to find the questions the bot failed on)."""

AGENT_WROTE = "type = 'message' AND sender = 'agent' AND NOT coalesce(private, false)"
"""An agent's message to the customer (private notes excluded)."""

EVENT_COLUMNS = (
    "event_id", "type", "ts", "conversation_id", "customer_id", "agent_id", "bot_id", "team",
    "channel", "attrs", "initiated_by", "page_url", "sender", "text", "fallback", "welcome",
    "canned_response_id", "private", "reason", "tag", "category", "priority", "resolution",
    "resolved_by", "kind", "score", "comment", "goal", "value", "session_id", "status",
)  # fmt: skip
"""The event columns the facts and stints SQL read (with `seq`): a derivation over a lake
reads only these (tests/test_facts_declaration.py binds the SQL without each of them)."""

TEXT_READ = "type = 'message' AND sender = 'bot' AND fallback IS NULL"
"""The only events whose `text` the facts read: bot messages without a fallback flag, for
the phrase test of IS_FALLBACK (a lake derivation keeps no other text)."""

ANSWERED_RUN = (
    "sender = 'customer' AND prev_sender IS DISTINCT FROM 'customer' "
    "AND next_agent_ts IS NOT NULL AND NOT overtaken"
)
"""The first message of a run of customer messages that an agent answered."""


def _scope_ctes(d: FactsDialect, fallback_match: str) -> str:
    """The events of the conversations derived, and their counted messages."""
    return f"""
ev AS (
  SELECT * FROM events WHERE {d.in_scope}
),
msg AS (  -- counted messages: customer, bot and agent; private notes and system excluded
  SELECT conversation_id, ts, seq, sender, agent_id, welcome, canned_response_id,
    {IS_FALLBACK.format(fallback_match=fallback_match)} AS is_fallback
  FROM ev
  WHERE type = 'message' AND sender IN ('customer', 'bot', 'agent')
    AND NOT coalesce(private, false)
),"""


def _message_ctes(d: FactsDialect) -> str:
    """The counted messages in order, their response runs and their counts."""
    return f"""
msg_seq AS (
  SELECT *,
    lag(sender) OVER (PARTITION BY conversation_id ORDER BY ts, seq) AS prev_sender,
    lag(ts) OVER (PARTITION BY conversation_id ORDER BY ts, seq) AS prev_ts,
    min(CASE WHEN sender = 'agent' THEN ts END) OVER (PARTITION BY conversation_id
        ORDER BY ts, seq ROWS BETWEEN 1 FOLLOWING AND UNBOUNDED FOLLOWING) AS next_agent_ts
  FROM msg
),
run_marks AS (  -- overtaken: another customer run starts (after a bot turn) before the agent
  -- answers this one
  SELECT *,
    coalesce(next_run_ts < next_agent_ts, false) AS overtaken
  FROM (
    SELECT *,
      min(CASE WHEN sender = 'customer' AND prev_sender IS DISTINCT FROM 'customer'
               THEN ts END)
        OVER (PARTITION BY conversation_id ORDER BY ts, seq
              ROWS BETWEEN 1 FOLLOWING AND UNBOUNDED FOLLOWING) AS next_run_ts
    FROM msg_seq
  )
),
runs AS (  -- a run of consecutive customer messages, answered by the next agent message
  SELECT conversation_id,
    {d.ordered_list(f"{d.epoch('next_agent_ts')} - {d.epoch('ts')}", "ts, seq", ANSWERED_RUN)}
      AS response_times,
    {d.ordered_list("ts", "ts, seq", ANSWERED_RUN)} AS response_started_at,
    {d.ordered_list("next_agent_ts", "ts, seq", ANSWERED_RUN)} AS response_answered_at,
    {
        d.ordered_list(
            f"{d.epoch('ts')} - {d.epoch('prev_ts')}",
            "ts, seq",
            "sender = 'bot' AND prev_sender = 'customer'",
        )
    } AS bot_response_times
  FROM run_marks
  GROUP BY conversation_id
),
msg_facts AS (
  SELECT conversation_id,
    min(ts) AS first_message_at,
    max(ts) AS last_message_at,
    count(*) AS messages,
    count(*) FILTER (WHERE sender = 'customer') AS customer_messages,
    count(*) FILTER (WHERE sender = 'bot') AS bot_messages,
    count(*) FILTER (WHERE sender = 'agent') AS agent_messages,
    count(*) FILTER (WHERE welcome) AS welcome_messages,
    count(*) FILTER (WHERE is_fallback) AS fallback_messages,
    coalesce({d.last("is_fallback", "ts, seq", "sender = 'bot'")}, false)
      AS last_bot_turn_fallback,
    min(ts) FILTER (WHERE sender = 'agent') AS first_agent_message_at,
    count(*) FILTER (WHERE sender = 'agent' AND canned_response_id IS NOT NULL)
      AS canned_messages,
    min(ts) FILTER (WHERE welcome) AS first_welcome_at,
    max(ts) FILTER (WHERE sender = 'customer') AS last_customer_message_at
  FROM msg_seq GROUP BY conversation_id
),"""


def _first(d: FactsDialect, column: str) -> str:
    """The conversation_started value of a column, else its first non-null one."""
    keys = "type <> 'conversation_started', ts, seq"
    return f"{d.first(column, keys, f'{column} IS NOT NULL')} AS {column}"


def _event_ctes(d: FactsDialect) -> str:
    """What the other events say: dimensions, state, ratings, agents, offers and tags."""
    started = "type = 'conversation_started'"
    closed = "type = 'conversation_closed'"
    ratings = ",\n    ".join(
        d.last("score", "ts, seq", f"type = 'rating' AND kind = '{kind}'") + f" AS {kind}"
        for kind in ("csat", "nps", "ces", "thumbs", "uss")
    )
    return f"""
base AS (
  SELECT conversation_id,
    coalesce(min(ts) FILTER (WHERE {started}), min(ts)) AS started_at,
    {_first(d, "channel")},
    coalesce({d.first("initiated_by", "ts, seq", started)}, 'customer') AS initiated_by,
    {_first(d, "customer_id")},
    {_first(d, "bot_id")},
    {_first(d, "team")},
    {d.first("page_url", "ts, seq", started)} AS page_url,
    max(ts) FILTER (WHERE type <> 'rating') AS last_activity_at,
    min(ts) FILTER (WHERE type = 'handoff_requested') AS handoff_at,
    min(ts) FILTER (WHERE type = 'agent_joined') AS first_agent_joined_at,
    max(ts) FILTER (WHERE {closed}) AS last_close_at,
    {d.last("resolution", "ts, seq", closed)} AS last_resolution,
    {d.last("resolved_by", "ts, seq", closed)} AS last_resolved_by,
    max(ts) FILTER (WHERE type = 'conversation_reopened') AS last_reopen_at,
    count(*) FILTER (WHERE {closed}) AS closes,
    count(*) FILTER (WHERE type = 'conversation_reopened') AS reopens,
    coalesce(bool_or(resolution = 'escalated') FILTER (WHERE {closed}), false) AS escalated,
    count(*) FILTER (WHERE type = 'transferred') AS transfers,
    count(*) FILTER (WHERE type = 'chat_offered') AS chats_offered,
    count(*) FILTER (WHERE type = 'chat_declined') AS chats_declined,
    count(*) FILTER (WHERE type = 'chat_declined' AND reason = 'timeout') AS chats_timed_out,
    {ratings},
    count(*) FILTER (WHERE type = 'rating' AND comment IS NOT NULL) AS rating_comments,
    min(ts) FILTER (WHERE type = 'rating') AS first_rated_at
  FROM ev GROUP BY conversation_id
),{d.attr_ctes}
agent_points AS (  -- where an agent takes the chat (a stint starts) or writes in it
  SELECT conversation_id, agent_id, type IN ('agent_joined', 'transferred') AS is_stint,
    ts, seq
  FROM ev
  WHERE agent_id IS NOT NULL AND (type IN ('agent_joined', 'transferred') OR ({AGENT_WROTE}))
),
rating_agents AS (  -- per kind, the agent of the last stint begun at or before the latest
  -- rating (else the last agent who wrote before it)
  SELECT r.conversation_id, r.kind, {d.arg_max("p.agent_id", "p.is_stint, p.ts, p.seq")}
    AS agent_id
  FROM (
    SELECT conversation_id, kind, max(ts) AS ts FROM ev
    WHERE type = 'rating' AND score IS NOT NULL GROUP BY conversation_id, kind
  ) r
  JOIN agent_points p ON p.conversation_id = r.conversation_id AND p.ts <= r.ts
  GROUP BY r.conversation_id, r.kind
),
credit AS (
  SELECT conversation_id,
    max(agent_id) FILTER (WHERE kind = 'csat') AS csat_agent_id,
    max(agent_id) FILTER (WHERE kind = 'nps') AS nps_agent_id,
    max(agent_id) FILTER (WHERE kind = 'ces') AS ces_agent_id,
    max(agent_id) FILTER (WHERE kind = 'thumbs') AS thumbs_agent_id,
    max(agent_id) FILTER (WHERE kind = 'uss') AS uss_agent_id
  FROM rating_agents GROUP BY conversation_id
),
closing AS (  -- the agent of the last stint (else the last agent who wrote)
  SELECT conversation_id, {d.arg_max("agent_id", "is_stint, ts, seq")} AS closing_agent_id
  FROM agent_points GROUP BY conversation_id
),
offers AS (  -- agents offered the chat, and those who declined it or let the offer time out
  SELECT conversation_id,
    {d.sorted_set("agent_id", "type = 'chat_offered'")} AS offered_to,
    {d.sorted_set("agent_id", "type = 'chat_declined'")} AS declined_by,
    {d.sorted_set("agent_id", "type = 'chat_declined' AND reason = 'timeout'")}
      AS timed_out_by
  FROM ev WHERE type IN ('chat_offered', 'chat_declined') AND agent_id IS NOT NULL
  GROUP BY conversation_id
),
agent_list AS (  -- agents who handled the chat, in order of first appearance
  SELECT conversation_id, {d.ordered_list("agent_id", "first_ts, agent_id")} AS agents
  FROM (
    SELECT conversation_id, agent_id, min(ts) AS first_ts FROM ev
    WHERE agent_id IS NOT NULL AND (type IN ('agent_joined', 'transferred') OR ({AGENT_WROTE}))
    GROUP BY conversation_id, agent_id
  )
  GROUP BY conversation_id
),
tag_state AS (  -- tags on the conversation now: each tag's latest add/remove wins
  SELECT conversation_id, tag,
    {d.last("type", "ts, seq")} AS last_op,
    {d.last("category", "ts, seq", "type = 'tag_added'")} AS category,
    {d.last("priority", "ts, seq", "type = 'tag_added'")} AS priority
  FROM ev WHERE type IN ('tag_added', 'tag_removed') GROUP BY conversation_id, tag
),
tags AS (
  SELECT conversation_id,
    {d.sorted_list("tag")} AS tags,
    {d.sorted_set("category", "category IS NOT NULL")} AS tag_categories,
    max(CASE priority WHEN 'urgent' THEN 4 WHEN 'high' THEN 3 WHEN 'medium' THEN 2
        WHEN 'normal' THEN 2 WHEN 'low' THEN 1 END) AS priority_rank
  FROM tag_state WHERE last_op = 'tag_added' GROUP BY conversation_id
),
handle AS (
  SELECT conversation_id, sum(seconds) AS handle_seconds FROM agent_stints
  WHERE {d.in_scope}
  GROUP BY conversation_id
),"""


STATE_CTES = """
f1 AS (
  SELECT b.*,
    m.first_message_at, m.last_message_at, m.messages, m.customer_messages, m.bot_messages,
    m.agent_messages, m.welcome_messages, m.fallback_messages, m.last_bot_turn_fallback,
    m.first_agent_message_at, m.canned_messages, m.first_welcome_at,
    m.last_customer_message_at,
    t.tags, t.tag_categories, t.priority_rank, a.agents, am.attrs,
    cr.csat_agent_id, cr.nps_agent_id, cr.ces_agent_id, cr.thumbs_agent_id, cr.uss_agent_id,
    cl.closing_agent_id, o.offered_to, o.declined_by, o.timed_out_by,
    r.response_times, r.response_started_at, r.response_answered_at, r.bot_response_times,
    h.handle_seconds,
    coalesce(m.bot_messages, 0) > 0 AS bot_involved,
    b.last_close_at IS NOT NULL
      AND (b.last_reopen_at IS NULL OR b.last_close_at >= b.last_reopen_at) AS is_closed
  FROM base b
  LEFT JOIN msg_facts m USING (conversation_id)
  LEFT JOIN tags t USING (conversation_id)
  LEFT JOIN agent_list a USING (conversation_id)
  LEFT JOIN runs r USING (conversation_id)
  LEFT JOIN handle h USING (conversation_id)
  LEFT JOIN attr_merged am USING (conversation_id)
  LEFT JOIN credit cr USING (conversation_id)
  LEFT JOIN closing cl USING (conversation_id)
  LEFT JOIN offers o USING (conversation_id)
),
f2 AS (  -- the human part, the end and the final state of a conversation
  SELECT *,
    handoff_at IS NOT NULL OR first_agent_joined_at IS NOT NULL
      OR first_agent_message_at IS NOT NULL OR NOT bot_involved AS has_human_part,
    CASE WHEN is_closed THEN last_close_at ELSE last_activity_at END AS ended_at,
    CASE WHEN is_closed THEN last_close_at END AS closed_at,
    CASE WHEN is_closed THEN last_resolution END AS resolution,
    CASE WHEN is_closed THEN last_resolved_by END AS resolved_by
  FROM f1
),
f3 AS (  -- the entry to the human queue
  SELECT *,
    CASE WHEN has_human_part THEN coalesce(handoff_at,
      CASE WHEN NOT bot_involved THEN started_at END,
      first_agent_joined_at, first_agent_message_at) END AS queue_entry_at
  FROM f2
),"""


def _pickup_ctes(d: FactsDialect) -> str:
    """After queue entry: pickup and first response; whether the chat went unanswered."""
    return f"""
pickups AS (  -- the first pickup and the first agent message at or after queue entry
  SELECT f.conversation_id, min(e.ts) AS picked_up_at,
    {d.arg_min("e.agent_id", "e.ts, e.seq")} AS pickup_agent_id
  FROM f3 f JOIN ev e ON e.conversation_id = f.conversation_id
    AND e.type = 'agent_joined' AND e.ts >= f.queue_entry_at
  GROUP BY f.conversation_id
),
responses AS (
  SELECT f.conversation_id, min(m.ts) AS first_response_at,
    {d.arg_min("m.agent_id", "m.ts, m.seq")} AS first_response_agent_id
  FROM f3 f JOIN msg m ON m.conversation_id = f.conversation_id
    AND m.sender = 'agent' AND m.ts >= f.queue_entry_at
  GROUP BY f.conversation_id
),
f4 AS (
  SELECT f.*, p.picked_up_at, p.pickup_agent_id, r.first_response_at,
    r.first_response_agent_id
  FROM f3 f
  LEFT JOIN pickups p USING (conversation_id)
  LEFT JOIN responses r USING (conversation_id)
),
f5 AS (
  SELECT *,
    has_human_part AND (first_response_at IS NULL OR first_response_at > ended_at)
      AS unanswered,
    {d.epoch("ended_at")} - {d.epoch("queue_entry_at")} <= {d.param("grace")}
      AS left_within_grace
  FROM f4
),"""


def _outcome_ctes(d: FactsDialect, conversion_match: str) -> str:
    """Over the conversations (f5): goals, follow-ups, missed chats' agents and visits."""
    followup = (
        f"{d.instant('n.started_at')} <= {d.instant('c.ended_at')} + {d.days('followup_days')}"
    )
    unanswered = "f.unanswered AND NOT coalesce(f.left_within_grace, false)"
    return f"""
goals AS (  -- goal completions credited to the customer's latest conversation in the window
  SELECT g.event_id, g.goal, g.value, g.ts,
    {d.arg_max("c.conversation_id", "c.started_at, c.conversation_id")} AS conversation_id
  FROM events g JOIN f5 c
    ON g.customer_id = c.customer_id AND c.started_at <= g.ts
    AND {d.instant("c.started_at")} >= {d.instant("g.ts")} - {d.days("attribution_days")}
  WHERE g.type = 'goal_completed'
  GROUP BY g.event_id, g.goal, g.value, g.ts
),
goal_facts AS (
  SELECT conversation_id,
    {d.sorted_set("goal")} AS goals,
    count(*) FILTER (WHERE {conversion_match}) AS conversions,
    count(*) FILTER (WHERE goal = 'lead') AS leads,
    sum(value) FILTER (WHERE goal = 'purchase') AS revenue,
    min(ts) FILTER (WHERE {conversion_match}) AS first_conversion_at
  FROM goals GROUP BY conversation_id
),
followups AS (
  SELECT c.conversation_id, count(n.conversation_id) > 0 AS followup_contact
  FROM f5 c LEFT JOIN f5 n
    ON n.customer_id = c.customer_id AND n.conversation_id <> c.conversation_id
    AND n.started_at > c.started_at AND {followup}
  GROUP BY c.conversation_id
),
earlier AS (  -- the same pairs seen from the later conversation: it is a follow-up
  SELECT n.conversation_id, count(c.conversation_id) > 0 AS is_followup
  FROM f5 n LEFT JOIN f5 c
    ON c.customer_id = n.customer_id AND c.conversation_id <> n.conversation_id
    AND n.started_at > c.started_at AND {followup}
  GROUP BY n.conversation_id
),
status_changes AS (  -- each agent_status holds until the same agent's next one: what it
  -- adds to the agents online and to the agents with a known status
  SELECT ts,
    online - coalesce(lag(online) OVER (PARTITION BY agent_id ORDER BY ts, seq), 0) AS online,
    known - coalesce(lag(known) OVER (PARTITION BY agent_id ORDER BY ts, seq), 0) AS known
  FROM (
    SELECT agent_id, ts, seq, CASE WHEN status = 'online' THEN 1 ELSE 0 END AS online,
      CASE WHEN status IS NOT NULL THEN 1 ELSE 0 END AS known
    FROM events WHERE type = 'agent_status' AND agent_id IS NOT NULL
  )
),
queue_status AS (  -- missed chats: whether an agent was online when the chat entered the
  -- queue, from the status changes up to that time in one ordered pass (a join on the time
  -- range alone is a nested loop); no agent with a known status yet: NULL, unknown
  SELECT conversation_id,
    CASE WHEN online > 0 THEN true WHEN known > 0 THEN false END AS agent_online
  FROM (
    SELECT conversation_id, is_entry,
      sum(online) OVER (ORDER BY ts, is_entry ROWS UNBOUNDED PRECEDING) AS online,
      sum(known) OVER (ORDER BY ts, is_entry ROWS UNBOUNDED PRECEDING) AS known
    FROM (
      SELECT NULL AS conversation_id, ts, 0 AS is_entry, online, known FROM status_changes
      UNION ALL
      SELECT f.conversation_id, f.queue_entry_at, 1, 0, 0 FROM f5 f
      WHERE {unanswered} AND f.queue_entry_at IS NOT NULL
    )
  )
  WHERE is_entry = 1
),
visits AS (  -- the visit a chat happened in: its customer's latest visit_started before it,
  -- while the visit was still active (its start or a page view of it at most
  -- session_minutes before the chat: web analytics' session timeout)
  SELECT v.conversation_id, v.visit_started_at, v.visit_session_id
  FROM (
    SELECT f.conversation_id, f.customer_id, f.started_at, s.ts AS visit_started_at,
      s.session_id AS visit_session_id,
      row_number() OVER (PARTITION BY f.conversation_id ORDER BY s.ts DESC, s.seq DESC) AS n
    FROM f5 f JOIN events s ON s.type = 'visit_started' AND s.customer_id = f.customer_id
      AND s.ts <= f.started_at
  ) v
  JOIN events p ON p.type IN ('visit_started', 'page_view') AND p.customer_id = v.customer_id
    AND p.session_id IS NOT DISTINCT FROM v.visit_session_id
    AND p.ts >= v.visit_started_at AND p.ts <= v.started_at
  WHERE v.n = 1
  GROUP BY v.conversation_id, v.visit_started_at, v.visit_session_id, v.started_at
  HAVING {d.epoch("v.started_at")} - {d.epoch("max(p.ts)")}
    <= {d.param("session_minutes")} * 60
),
later_views AS (  -- missed chats: page views of the same visit after the chat ended
  SELECT f.conversation_id, count(*) AS page_views
  FROM f5 f JOIN visits vi ON vi.conversation_id = f.conversation_id
    JOIN events p ON p.type = 'page_view' AND p.customer_id = f.customer_id
      AND p.session_id IS NOT DISTINCT FROM vi.visit_session_id AND p.ts > f.ended_at
  WHERE {unanswered}
  GROUP BY f.conversation_id
)"""


FACTS_JOINS = """
SELECT
  {columns}
FROM f5 f
LEFT JOIN goal_facts g USING (conversation_id)
LEFT JOIN followups fu USING (conversation_id)
LEFT JOIN earlier ea USING (conversation_id)
LEFT JOIN queue_status qs USING (conversation_id)
LEFT JOIN visits vi USING (conversation_id)
LEFT JOIN later_views lv USING (conversation_id)
"""


def facts_query(d: FactsDialect, settings: Settings) -> tuple[str, dict[str, Any]]:
    """The facts SELECT in dialect `d` for these settings, and its named parameters."""
    match, params = facts_parameters(settings, marker=d.marker, apostrophe=d.apostrophe)
    goals = conversion_test(d.marker, len(conversion_goals(settings)))
    ctes = (
        _scope_ctes(d, match)
        + _message_ctes(d)
        + _event_ctes(d)
        + STATE_CTES
        + _pickup_ctes(d)
        + _outcome_ctes(d, goals)
    )
    return f"WITH{ctes}{_final_select(d)}", params


FACTS_STEPS = ("_facts_f3", "_facts_f5")
"""The views `facts_steps` computes before the facts: the conversations' state (f3), and
with their pickup and first response (f5)."""


def facts_steps(
    d: FactsDialect, settings: Settings
) -> tuple[list[tuple[str, str]], dict[str, Any]]:
    """The facts SELECT of `facts_query` cut in three: (view, SELECT) for each of FACTS_STEPS,
    to be computed in turn (each reads the views before it), then the facts' SELECT (its view
    name empty). The same CTEs: an engine that computes a CTE again at each reference (Spark
    inlines them) computes f3 and f5 once each this way; in one query the state CTEs were
    derived nine times over, and their sorts and aggregations, chained in one task, ran out
    of Spark's execution memory (docs/spark.md)."""
    match, params = facts_parameters(settings, marker=d.marker, apostrophe=d.apostrophe)
    goals = conversion_test(d.marker, len(conversion_goals(settings)))
    f3, f5 = FACTS_STEPS
    state = _scope_ctes(d, match) + _message_ctes(d) + _event_ctes(d) + STATE_CTES
    pickup = f"{_scope_ctes(d, match)}\nf3 AS (SELECT * FROM {f3}),{_pickup_ctes(d)}"
    outcome = f"\nf5 AS (SELECT * FROM {f5}),{_outcome_ctes(d, goals)}"
    steps = [
        (f3, f"WITH{state.rstrip(',')}\nSELECT * FROM f3"),
        (f5, f"WITH{pickup.rstrip(',')}\nSELECT * FROM f5"),
        ("", f"WITH{outcome}{_final_select(d)}"),
    ]
    return steps, params


def _final_select(d: FactsDialect) -> str:
    columns = ",\n  ".join(column.sql(d) for column in FACT_COLUMNS)
    return FACTS_JOINS.format(columns=columns)


def stints_sql(d: FactsDialect) -> str:
    """An agent's stint: from agent_joined (or a transfer to the agent) until the next transfer
    or close of the conversation, else until that agent's last message (never before its
    start); whether it is the conversation's first stint, and the agent's first message
    inside it. Written with joins grouped back to one row per stint (Spark has no correlated
    subqueries with inequalities); a stint is known by the `seq` of its start."""
    agent_wrote = AGENT_WROTE.replace("type", "m.type").replace("sender", "m.sender")
    agent_wrote = agent_wrote.replace("private", "m.private")
    return f"""
WITH ev AS (
  SELECT * FROM events WHERE {d.in_scope}
),
starts AS (
  SELECT conversation_id, agent_id, team, ts, seq,
    row_number() OVER (PARTITION BY conversation_id ORDER BY ts, seq) = 1 AS first_stint
  FROM ev
  WHERE type IN ('agent_joined', 'transferred') AND agent_id IS NOT NULL
),
next_end AS (  -- the next transfer or close after the start
  SELECT s.seq, min(e.ts) AS ts
  FROM starts s JOIN ev e ON e.conversation_id = s.conversation_id
    AND e.type IN ('transferred', 'conversation_closed')
    AND (e.ts > s.ts OR (e.ts = s.ts AND e.seq > s.seq))
  GROUP BY s.seq
),
last_said AS (  -- else the agent's last message since the start
  SELECT s.seq, max(m.ts) AS ts
  FROM starts s JOIN ev m ON m.conversation_id = s.conversation_id
    AND {agent_wrote} AND m.agent_id = s.agent_id AND m.ts >= s.ts
  GROUP BY s.seq
),
stints AS (
  SELECT s.conversation_id, s.agent_id, s.team, s.ts AS started_at,
    coalesce(n.ts, l.ts, s.ts) AS ended_at, s.first_stint, s.seq
  FROM starts s
  LEFT JOIN next_end n ON n.seq = s.seq
  LEFT JOIN last_said l ON l.seq = s.seq
),
first_said AS (  -- the agent's first message inside the stint (the stint's first response)
  SELECT s.seq, min(m.ts) AS ts
  FROM stints s JOIN ev m ON m.conversation_id = s.conversation_id
    AND {agent_wrote} AND m.agent_id = s.agent_id
    AND m.ts >= s.started_at AND m.ts <= s.ended_at
  GROUP BY s.seq
)
SELECT s.conversation_id, s.agent_id, s.team, s.started_at, s.ended_at,
  {d.epoch("s.ended_at")} - {d.epoch("s.started_at")} AS seconds, s.first_stint,
  f.ts AS first_message_at
FROM stints s
LEFT JOIN first_said f ON f.seq = s.seq
"""
