"""The SQL that derives one row per conversation (metrics.md "Conversation facts").

It reads the events of the conversations listed in the temp table `_scope` (always closed
under customer: every conversation of every customer in it, so follow-ups and goal attribution
are complete) and yields their facts. `{fallback_match}` is filled with the phrase test; the
settings it depends on are bound as named parameters.
"""

from __future__ import annotations

from typing import Any

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

STATE_CTES = """
-- shared with the Spark facts (store/spark_facts.py): the human part, the end and the
-- queue entry of a conversation, from the columns of f1
f2 AS (
  SELECT *,
    handoff_at IS NOT NULL OR first_agent_joined_at IS NOT NULL
      OR first_agent_message_at IS NOT NULL OR NOT bot_involved AS has_human_part,
    CASE WHEN is_closed THEN last_close_at ELSE last_activity_at END AS ended_at,
    CASE WHEN is_closed THEN last_close_at END AS closed_at,
    CASE WHEN is_closed THEN last_resolution END AS resolution,
    CASE WHEN is_closed THEN last_resolved_by END AS resolved_by
  FROM f1
),
f3 AS (
  SELECT *,
    CASE WHEN has_human_part THEN coalesce(handoff_at,
      CASE WHEN NOT bot_involved THEN started_at END,
      first_agent_joined_at, first_agent_message_at) END AS queue_entry_at
  FROM f2
),
"""

FACTS_SQL = (
    """
WITH ev AS (
  SELECT * FROM events
  WHERE conversation_id IN (SELECT conversation_id FROM _scope)
),
msg AS (  -- counted messages: customer, bot and agent; private notes and system excluded
  SELECT conversation_id, ts, seq, sender, agent_id, welcome, canned_response_id,
         """
    + IS_FALLBACK
    + """ AS is_fallback
  FROM ev
  WHERE type = 'message' AND sender IN ('customer', 'bot', 'agent')
    AND NOT coalesce(private, false)
),
msg_seq AS (
  SELECT *,
    lag(sender) OVER w AS prev_sender,
    lag(ts) OVER w AS prev_ts,
    min(CASE WHEN sender = 'agent' THEN ts END) OVER (w ROWS BETWEEN 1 FOLLOWING
        AND UNBOUNDED FOLLOWING) AS next_agent_ts,
  FROM msg
  WINDOW w AS (PARTITION BY conversation_id ORDER BY ts, seq)
),
runs AS (  -- a run of consecutive customer messages, answered by the next agent message
  SELECT conversation_id,
    list(epoch(next_agent_ts) - epoch(ts) ORDER BY ts, seq) FILTER (
      WHERE sender = 'customer' AND prev_sender IS DISTINCT FROM 'customer'
        AND next_agent_ts IS NOT NULL
        AND NOT overtaken) AS response_times,
    list(ts ORDER BY ts, seq) FILTER (
      WHERE sender = 'customer' AND prev_sender IS DISTINCT FROM 'customer'
        AND next_agent_ts IS NOT NULL
        AND NOT overtaken) AS response_started_at,
    list(next_agent_ts ORDER BY ts, seq) FILTER (
      WHERE sender = 'customer' AND prev_sender IS DISTINCT FROM 'customer'
        AND next_agent_ts IS NOT NULL
        AND NOT overtaken) AS response_answered_at,
    list(epoch(ts) - epoch(prev_ts) ORDER BY ts, seq) FILTER (
      WHERE sender = 'bot' AND prev_sender = 'customer') AS bot_response_times
  FROM (
    SELECT *,
      -- another customer run starts (after a bot turn) before the agent answers this one
      coalesce(next_run_ts < next_agent_ts, false) AS overtaken
    FROM (
      SELECT *,
        min(CASE WHEN sender = 'customer' AND prev_sender IS DISTINCT FROM 'customer'
                 THEN ts END)
          OVER (PARTITION BY conversation_id ORDER BY ts, seq
                ROWS BETWEEN 1 FOLLOWING AND UNBOUNDED FOLLOWING) AS next_run_ts
      FROM msg_seq
    )
  )
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
    coalesce(arg_max(is_fallback, (ts, seq)) FILTER (WHERE sender = 'bot'), false)
      AS last_bot_turn_fallback,
    min(ts) FILTER (WHERE sender = 'agent') AS first_agent_message_at,
    count(*) FILTER (WHERE sender = 'agent' AND canned_response_id IS NOT NULL)
      AS canned_messages,
    min(ts) FILTER (WHERE welcome) AS first_welcome_at,
    max(ts) FILTER (WHERE sender = 'customer') AS last_customer_message_at
  FROM msg_seq GROUP BY conversation_id
),
base AS (
  SELECT conversation_id,
    coalesce(min(ts) FILTER (WHERE type = 'conversation_started'), min(ts)) AS started_at,
    first(channel ORDER BY type <> 'conversation_started', ts, seq)
      FILTER (WHERE channel IS NOT NULL) AS channel,
    coalesce(first(initiated_by ORDER BY ts, seq)
      FILTER (WHERE type = 'conversation_started'), 'customer') AS initiated_by,
    first(customer_id ORDER BY type <> 'conversation_started', ts, seq)
      FILTER (WHERE customer_id IS NOT NULL) AS customer_id,
    first(bot_id ORDER BY type <> 'conversation_started', ts, seq)
      FILTER (WHERE bot_id IS NOT NULL) AS bot_id,
    first(team ORDER BY type <> 'conversation_started', ts, seq)
      FILTER (WHERE team IS NOT NULL) AS team,
    first(page_url ORDER BY ts, seq) FILTER (WHERE type = 'conversation_started') AS page_url,
    max(ts) FILTER (WHERE type <> 'rating') AS last_activity_at,
    min(ts) FILTER (WHERE type = 'handoff_requested') AS handoff_at,
    min(ts) FILTER (WHERE type = 'agent_joined') AS first_agent_joined_at,
    max(ts) FILTER (WHERE type = 'conversation_closed') AS last_close_at,
    arg_max(resolution, (ts, seq)) FILTER (WHERE type = 'conversation_closed') AS last_resolution,
    arg_max(resolved_by, (ts, seq)) FILTER (WHERE type = 'conversation_closed') AS last_resolved_by,
    max(ts) FILTER (WHERE type = 'conversation_reopened') AS last_reopen_at,
    count(*) FILTER (WHERE type = 'conversation_closed') AS closes,
    count(*) FILTER (WHERE type = 'conversation_reopened') AS reopens,
    coalesce(bool_or(resolution = 'escalated') FILTER (WHERE type = 'conversation_closed'),
      false) AS escalated,
    count(*) FILTER (WHERE type = 'transferred') AS transfers,
    count(*) FILTER (WHERE type = 'chat_offered') AS chats_offered,
    count(*) FILTER (WHERE type = 'chat_declined') AS chats_declined,
    count(*) FILTER (WHERE type = 'chat_declined' AND reason = 'timeout') AS chats_timed_out,
    arg_max(score, (ts, seq)) FILTER (WHERE type = 'rating' AND kind = 'csat') AS csat,
    arg_max(score, (ts, seq)) FILTER (WHERE type = 'rating' AND kind = 'nps') AS nps,
    arg_max(score, (ts, seq)) FILTER (WHERE type = 'rating' AND kind = 'ces') AS ces,
    arg_max(score, (ts, seq)) FILTER (WHERE type = 'rating' AND kind = 'thumbs') AS thumbs,
    arg_max(score, (ts, seq)) FILTER (WHERE type = 'rating' AND kind = 'uss') AS uss,
    count(*) FILTER (WHERE type = 'rating' AND comment IS NOT NULL) AS rating_comments,
    min(ts) FILTER (WHERE type = 'rating') AS first_rated_at
  FROM ev GROUP BY conversation_id
),
attr_pairs AS (  -- attrs merge key by key: each key's first value (conversation_started first)
  SELECT conversation_id, a.key, arg_min(a.value, (late, ts, seq)) AS value
  FROM (
    SELECT conversation_id, type <> 'conversation_started' AS late, ts, seq,
      unnest(map_entries(CAST(attrs AS MAP(VARCHAR, JSON)))) AS a
    FROM ev WHERE attrs IS NOT NULL
  )
  WHERE a.value IS NOT NULL
  GROUP BY conversation_id, a.key
),
attr_merged AS (
  SELECT conversation_id,
    CAST(map_from_entries(list(struct_pack(k := key, v := value) ORDER BY key)) AS JSON)
      AS attrs
  FROM attr_pairs GROUP BY conversation_id
),
agent_points AS (  -- where an agent takes the chat (a stint starts) or writes in it
  SELECT conversation_id, agent_id, type IN ('agent_joined', 'transferred') AS is_stint,
    ts, seq
  FROM ev
  WHERE agent_id IS NOT NULL AND (type IN ('agent_joined', 'transferred')
    OR (type = 'message' AND sender = 'agent' AND NOT coalesce(private, false)))
),
rating_agents AS (  -- per kind, the agent of the last stint begun at or before the latest
  -- rating (else the last agent who wrote before it)
  SELECT r.conversation_id, r.kind, arg_max(p.agent_id, (p.is_stint, p.ts, p.seq)) AS agent_id
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
  SELECT conversation_id, arg_max(agent_id, (is_stint, ts, seq)) AS closing_agent_id
  FROM agent_points GROUP BY conversation_id
),
offers AS (  -- agents offered the chat, and those who declined it or let the offer time out
  SELECT conversation_id,
    list_sort(list_distinct(list(agent_id) FILTER (WHERE type = 'chat_offered')))
      AS offered_to,
    list_sort(list_distinct(list(agent_id) FILTER (WHERE type = 'chat_declined')))
      AS declined_by,
    list_sort(list_distinct(list(agent_id) FILTER (WHERE type = 'chat_declined'
      AND reason = 'timeout'))) AS timed_out_by
  FROM ev WHERE type IN ('chat_offered', 'chat_declined') AND agent_id IS NOT NULL
  GROUP BY conversation_id
),
agent_list AS (  -- agents who handled the chat, in order of first appearance
  SELECT conversation_id, list(agent_id ORDER BY first_ts, agent_id) AS agents
  FROM (
    SELECT conversation_id, agent_id, min(ts) AS first_ts FROM ev
    WHERE agent_id IS NOT NULL AND (type IN ('agent_joined', 'transferred')
      OR (type = 'message' AND sender = 'agent' AND NOT coalesce(private, false)))
    GROUP BY conversation_id, agent_id
  )
  GROUP BY conversation_id
),
tag_state AS (  -- tags on the conversation now: each tag's latest add/remove wins
  SELECT conversation_id, tag,
    arg_max(type, (ts, seq)) AS last_op,
    arg_max(category, (ts, seq)) FILTER (WHERE type = 'tag_added') AS category,
    arg_max(priority, (ts, seq)) FILTER (WHERE type = 'tag_added') AS priority
  FROM ev WHERE type IN ('tag_added', 'tag_removed') GROUP BY conversation_id, tag
),
tags AS (
  SELECT conversation_id,
    list(tag ORDER BY tag) AS tags,
    list_sort(list_distinct(list(category) FILTER (WHERE category IS NOT NULL)))
      AS tag_categories,
    max(CASE priority WHEN 'urgent' THEN 4 WHEN 'high' THEN 3 WHEN 'medium' THEN 2
        WHEN 'normal' THEN 2 WHEN 'low' THEN 1 END) AS priority_rank
  FROM tag_state WHERE last_op = 'tag_added' GROUP BY conversation_id
),
handle AS (
  SELECT conversation_id, sum(seconds) AS handle_seconds FROM agent_stints
  WHERE conversation_id IN (SELECT conversation_id FROM _scope)
  GROUP BY conversation_id
),
f1 AS (
  SELECT b.*, m.* EXCLUDE (conversation_id), t.* EXCLUDE (conversation_id), a.agents,
    am.attrs, cr.* EXCLUDE (conversation_id), cl.closing_agent_id,
    o.* EXCLUDE (conversation_id),
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
"""
    + STATE_CTES
    + """
pickups AS (  -- the first pickup and the first agent message at or after queue entry
  SELECT f.conversation_id, min(e.ts) AS picked_up_at,
    arg_min(e.agent_id, (e.ts, e.seq)) AS pickup_agent_id
  FROM f3 f JOIN ev e ON e.conversation_id = f.conversation_id
    AND e.type = 'agent_joined' AND e.ts >= f.queue_entry_at
  GROUP BY f.conversation_id
),
responses AS (
  SELECT f.conversation_id, min(m.ts) AS first_response_at,
    arg_min(m.agent_id, (m.ts, m.seq)) AS first_response_agent_id
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
    epoch(ended_at) - epoch(queue_entry_at) <= $grace AS left_within_grace
  FROM f4
),
goals AS (  -- goal completions credited to the customer's latest conversation in the window
  SELECT g.event_id, g.goal, g.value, g.ts,
    arg_max(c.conversation_id, (c.started_at, c.conversation_id)) AS conversation_id
  FROM events g JOIN f5 c
    ON g.customer_id = c.customer_id AND c.started_at <= g.ts
    AND c.started_at >= g.ts - to_microseconds(CAST($attribution_days * 86400e6 AS BIGINT))
  WHERE g.type = 'goal_completed'
  GROUP BY g.event_id, g.goal, g.value, g.ts
),
goal_facts AS (
  SELECT conversation_id,
    list_sort(list_distinct(list(goal))) AS goals,
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
    AND n.started_at > c.started_at
    AND n.started_at <= c.ended_at + to_microseconds(CAST($followup_days * 86400e6 AS BIGINT))
  GROUP BY c.conversation_id
),
earlier AS (  -- the same pairs seen from the later conversation: it is a follow-up
  SELECT n.conversation_id, count(c.conversation_id) > 0 AS is_followup
  FROM f5 n LEFT JOIN f5 c
    ON c.customer_id = n.customer_id AND c.conversation_id <> n.conversation_id
    AND n.started_at > c.started_at
    AND n.started_at <= c.ended_at + to_microseconds(CAST($followup_days * 86400e6 AS BIGINT))
  GROUP BY n.conversation_id
),
status_spans AS (  -- each agent_status holds until the same agent's next one
  SELECT agent_id, status, ts,
    coalesce(lead(ts) OVER (PARTITION BY agent_id ORDER BY ts, seq),
      TIMESTAMPTZ '9999-12-31 00:00:00+00') AS until
  FROM events WHERE type = 'agent_status' AND agent_id IS NOT NULL
),
queue_status AS (  -- missed chats: whether an agent was online when the chat entered the
  -- queue (no row: no agent had reported a status yet, so it is unknown)
  SELECT f.conversation_id, bool_or(s.status = 'online') AS agent_online
  FROM f5 f JOIN status_spans s ON s.ts <= f.queue_entry_at AND f.queue_entry_at < s.until
  WHERE f.unanswered AND NOT coalesce(f.left_within_grace, false)
  GROUP BY f.conversation_id
),
visits AS (  -- the visit a chat happened in: its customer's latest visit_started before it,
  -- while the visit was still active (its start or a page view of it at most
  -- $session_minutes before the chat: web analytics' session timeout)
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
  HAVING epoch(v.started_at) - epoch(max(p.ts)) <= $session_minutes * 60
),
later_views AS (  -- missed chats: page views of the same visit after the chat ended
  SELECT f.conversation_id, count(*) AS page_views
  FROM f5 f JOIN visits vi USING (conversation_id)
    JOIN events p ON p.type = 'page_view' AND p.customer_id = f.customer_id
      AND p.session_id IS NOT DISTINCT FROM vi.visit_session_id AND p.ts > f.ended_at
  WHERE f.unanswered AND NOT coalesce(f.left_within_grace, false)
  GROUP BY f.conversation_id
)
SELECT
  f.conversation_id, f.started_at, f.channel, f.initiated_by, f.customer_id, f.bot_id, f.team,
  f.attrs, f.page_url, coalesce(f.agents, []) AS agents, f.agents[1] AS first_agent_id,
  coalesce(f.messages, 0) AS messages,
  coalesce(f.customer_messages, 0) AS customer_messages,
  coalesce(f.bot_messages, 0) AS bot_messages,
  coalesce(f.agent_messages, 0) AS agent_messages,
  f.first_message_at, f.last_message_at,
  coalesce(f.welcome_messages, 0) AS welcome_messages,
  coalesce(f.messages, 0) > 0 AND f.messages = f.welcome_messages AS welcome_only,
  coalesce(f.last_customer_message_at > f.first_welcome_at
    OR (f.first_welcome_at IS NULL AND f.customer_messages > 0), false) AS engaged,
  coalesce(f.fallback_messages, 0) AS fallback_messages,
  coalesce(f.last_bot_turn_fallback, false) AS last_bot_turn_fallback,
  f.bot_involved, f.has_human_part, f.bot_involved AND NOT f.has_human_part AS bot_only,
  f.handoff_at, f.queue_entry_at, f.picked_up_at, f.first_agent_message_at,
  f.first_response_at, f.pickup_agent_id, f.first_response_agent_id, f.closing_agent_id,
  f.csat_agent_id, f.nps_agent_id, f.ces_agent_id, f.thumbs_agent_id, f.uss_agent_id,
  coalesce(f.offered_to, []) AS offered_to, coalesce(f.declined_by, []) AS declined_by,
  coalesce(f.timed_out_by, []) AS timed_out_by,
  f.unanswered, f.left_within_grace,
  f.unanswered AND NOT coalesce(f.left_within_grace, false) AS missed,
  CASE WHEN f.unanswered AND NOT coalesce(f.left_within_grace, false) THEN
    CASE WHEN f.chats_timed_out > 0 THEN 'timeout' WHEN f.chats_declined > 0 THEN 'declined'
      WHEN NOT qs.agent_online THEN 'no_agent_online'
      ELSE 'customer_left' END END AS missed_reason,
  CASE WHEN NOT (f.unanswered AND NOT coalesce(f.left_within_grace, false))
    THEN epoch(f.picked_up_at) - epoch(f.queue_entry_at) END AS wait_seconds,
  epoch(f.first_response_at) - epoch(f.queue_entry_at) AS first_response_seconds,
  coalesce(f.response_times, []) AS response_times,
  coalesce(f.response_started_at, []) AS response_started_at,
  coalesce(f.response_answered_at, []) AS response_answered_at,
  coalesce(f.bot_response_times, []) AS bot_response_times,
  f.chats_offered, f.chats_declined, f.transfers, f.handle_seconds,
  coalesce(f.tags, []) AS tags, coalesce(f.tag_categories, []) AS tag_categories,
  CASE f.priority_rank WHEN 4 THEN 'urgent' WHEN 3 THEN 'high' WHEN 2 THEN 'medium'
    WHEN 1 THEN 'low' END AS top_priority,
  coalesce(f.canned_messages, 0) AS canned_messages,
  f.is_closed, f.closed_at, f.ended_at, f.resolution, f.resolved_by,
  f.closes, f.reopens, f.escalated,
  CASE WHEN f.resolution = 'resolved' THEN epoch(f.closed_at) - epoch(f.started_at) END
    AS resolution_seconds,
  epoch(greatest(f.last_message_at, f.closed_at)) - epoch(f.first_message_at)
    AS duration_seconds,
  f.bot_involved AND NOT f.has_human_part AND coalesce(
    (f.resolution = 'resolved' AND f.resolved_by IN ('bot', 'customer'))
    OR (f.resolution IS NULL AND NOT f.last_bot_turn_fallback), false
  ) AS bot_resolved,
  fu.followup_contact, ea.is_followup,
  coalesce(f.is_closed AND f.resolution = 'resolved' AND f.reopens = 0 AND f.transfers = 0
    AND NOT f.escalated AND NOT fu.followup_contact, false) AS first_contact_resolved,
  f.csat, f.nps, f.ces, f.thumbs, f.uss, f.rating_comments, f.first_rated_at,
  coalesce(f.csat <= 2, false) OR coalesce(f.thumbs = 0, false) AS rated_negative,
  coalesce(g.goals, []) AS goals, coalesce(g.conversions, 0) AS conversions,
  coalesce(g.leads, 0) AS leads, g.revenue, g.first_conversion_at,
  vi.visit_started_at,
  f.unanswered AND NOT coalesce(f.left_within_grace, false) AND vi.visit_started_at IS NOT NULL
    AND coalesce(lv.page_views, 0) = 0 AS bounced,
  CASE
    WHEN f.unanswered AND NOT coalesce(f.left_within_grace, false) THEN 'missed'
    WHEN f.is_closed THEN coalesce(f.resolution, 'closed')
    WHEN f.bot_involved AND NOT f.has_human_part
      AND NOT coalesce(f.last_bot_turn_fallback, false) THEN 'resolved'
    ELSE 'open'
  END AS outcome
FROM f5 f
LEFT JOIN goal_facts g USING (conversation_id)
LEFT JOIN followups fu USING (conversation_id)
LEFT JOIN earlier ea USING (conversation_id)
LEFT JOIN queue_status qs USING (conversation_id)
LEFT JOIN visits vi USING (conversation_id)
LEFT JOIN later_views lv USING (conversation_id)
"""
)

STINTS_SQL = """
-- An agent's stint: from agent_joined (or a transfer to the agent) until the next transfer or
-- close of the conversation, else until that agent's last message (never before its start);
-- whether it is the conversation's first stint, and the agent's first message inside it.
WITH ev AS (
  SELECT * FROM events
  WHERE conversation_id IN (SELECT conversation_id FROM _scope)
),
ends AS (
  SELECT conversation_id, ts, seq FROM ev
  WHERE type IN ('transferred', 'conversation_closed')
),
said AS (
  SELECT conversation_id, agent_id, ts FROM ev
  WHERE type = 'message' AND sender = 'agent' AND NOT coalesce(private, false)
),
stints AS (
  SELECT s.conversation_id, s.agent_id, s.team, s.ts AS started_at,
    coalesce(
      (SELECT min(e.ts) FROM ends e WHERE e.conversation_id = s.conversation_id
         AND (e.ts, e.seq) > (s.ts, s.seq)),
      (SELECT max(m.ts) FROM said m WHERE m.conversation_id = s.conversation_id
         AND m.agent_id = s.agent_id AND m.ts >= s.ts),
      s.ts) AS ended_at,
    row_number() OVER (PARTITION BY s.conversation_id ORDER BY s.ts, s.seq) = 1 AS first_stint
  FROM ev s
  WHERE s.type IN ('agent_joined', 'transferred') AND s.agent_id IS NOT NULL
)
SELECT s.conversation_id, s.agent_id, s.team, s.started_at, s.ended_at,
  epoch(s.ended_at) - epoch(s.started_at) AS seconds, s.first_stint,
  -- the agent's first message in the stint (the stint's first response)
  (SELECT min(m.ts) FROM said m WHERE m.conversation_id = s.conversation_id
     AND m.agent_id = s.agent_id AND m.ts >= s.started_at AND m.ts <= s.ended_at)
    AS first_message_at
FROM stints s
"""
