"""The conversation facts and agent stints in Spark SQL (for `chatlens[spark]`).

The same derivation as facts_sql.py (read that first: its comments say why), over every
conversation of the `events` view, written with what Spark has:

- `first(x ORDER BY k)` and `arg_max(x, k)` become `min_by`/`max_by` over a struct key; DuckDB's
  `arg_max` skips rows whose value is NULL, so those filters add `x IS NOT NULL`.
- `list(x ORDER BY k)` becomes the sorted `collect_list` of `struct(k, x)`, keeping `x`.
- correlated subqueries with inequalities (first pick-up and response after queue entry, a
  stint's end) become joins grouped back to one row.
- `epoch(ts)` becomes `unix_micros(ts) / 1e6` (the same double DuckDB computes), and a window
  of days `CAST(days * 86400e6 AS BIGINT)` microseconds, rounded half to even as DuckDB does.

Settings are bound as named parameters (`:grace`...), the same ones as the DuckDB query.
tests/test_spark.py checks that both give the same rows for a simulated operation.
"""

from __future__ import annotations

from typing import Any

from chatlens.store.facts_sql import STATE_CTES, conversion_test, facts_parameters
from chatlens.store.settings import Settings, conversion_goals


def _epoch(ts: str) -> str:
    return f"unix_micros({ts}) / 1e6"


def _window(param: str) -> str:
    return f"CAST(rint(:{param} * 86400e6) AS BIGINT)"


def _sorted(value: str, *keys: str, where: str | None = None) -> str:
    """`list(value ORDER BY keys) FILTER (WHERE where)` (NULL values dropped, as Spark does)."""
    fields = "".join(f"'k{i}', {key}, " for i, key in enumerate(keys))
    item = f"named_struct({fields}'v', {value})"
    if where:
        item = f"CASE WHEN {where} THEN {item} END"
    return f"transform(array_sort(collect_list({item})), x -> x.v)"


def _first(column: str) -> str:
    """The conversation_started value of a column, else its first non-null one."""
    return (
        f"min_by({column}, struct(type <> 'conversation_started', ts, seq))"
        f" FILTER (WHERE {column} IS NOT NULL) AS {column}"
    )


def _last(value: str, where: str, alias: str) -> str:
    """DuckDB's `arg_max(value, (ts, seq)) FILTER (WHERE where)`."""
    return (
        f"max_by({value}, struct(ts, seq))"
        f" FILTER (WHERE {where} AND {value} IS NOT NULL) AS {alias}"
    )


_RATINGS = ",\n    ".join(
    _last("score", f"type = 'rating' AND kind = '{kind}'", kind)
    for kind in ("csat", "nps", "ces", "thumbs", "uss")
)

_ANSWERED_RUN = (
    "sender = 'customer' AND prev_sender IS DISTINCT FROM 'customer' "
    "AND next_agent_ts IS NOT NULL AND NOT overtaken"
)
_RESPONSE_TIMES = _sorted(
    f"{_epoch('next_agent_ts')} - {_epoch('ts')}",
    "ts",
    "seq",
    where=_ANSWERED_RUN,
)
_RESPONSE_STARTED_AT = _sorted("ts", "ts", "seq", where=_ANSWERED_RUN)
_RESPONSE_ANSWERED_AT = _sorted("next_agent_ts", "ts", "seq", where=_ANSWERED_RUN)
_BOT_RESPONSE_TIMES = _sorted(
    f"{_epoch('ts')} - {_epoch('prev_ts')}",
    "ts",
    "seq",
    where="sender = 'bot' AND prev_sender = 'customer'",
)

SPARK_FACTS_SQL = f"""
WITH ev AS (
  SELECT * FROM events WHERE conversation_id IS NOT NULL
),
msg AS (
  SELECT conversation_id, ts, seq, sender, agent_id, welcome, canned_response_id,
         sender = 'bot' AND coalesce(fallback, {{fallback_match}}, false) AS is_fallback
  FROM ev
  WHERE type = 'message' AND sender IN ('customer', 'bot', 'agent')
    AND NOT coalesce(private, false)
),
msg_seq AS (
  SELECT *,
    lag(sender) OVER (PARTITION BY conversation_id ORDER BY ts, seq) AS prev_sender,
    lag(ts) OVER (PARTITION BY conversation_id ORDER BY ts, seq) AS prev_ts,
    min(CASE WHEN sender = 'agent' THEN ts END) OVER (PARTITION BY conversation_id
        ORDER BY ts, seq ROWS BETWEEN 1 FOLLOWING AND UNBOUNDED FOLLOWING) AS next_agent_ts
  FROM msg
),
run_marks AS (
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
runs AS (
  SELECT conversation_id,
    {_RESPONSE_TIMES} AS response_times,
    {_RESPONSE_STARTED_AT} AS response_started_at,
    {_RESPONSE_ANSWERED_AT} AS response_answered_at,
    {_BOT_RESPONSE_TIMES} AS bot_response_times
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
    coalesce(max_by(is_fallback, struct(ts, seq))
      FILTER (WHERE sender = 'bot' AND is_fallback IS NOT NULL), false) AS last_bot_turn_fallback,
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
    {_first("channel")},
    coalesce(min_by(initiated_by, struct(ts, seq)) FILTER (WHERE type = 'conversation_started'),
      'customer') AS initiated_by,
    {_first("customer_id")},
    {_first("bot_id")},
    {_first("team")},
    min_by(page_url, struct(ts, seq)) FILTER (WHERE type = 'conversation_started') AS page_url,
    max(ts) FILTER (WHERE type <> 'rating') AS last_activity_at,
    min(ts) FILTER (WHERE type = 'handoff_requested') AS handoff_at,
    min(ts) FILTER (WHERE type = 'agent_joined') AS first_agent_joined_at,
    max(ts) FILTER (WHERE type = 'conversation_closed') AS last_close_at,
    {_last("resolution", "type = 'conversation_closed'", "last_resolution")},
    {_last("resolved_by", "type = 'conversation_closed'", "last_resolved_by")},
    max(ts) FILTER (WHERE type = 'conversation_reopened') AS last_reopen_at,
    count(*) FILTER (WHERE type = 'conversation_closed') AS closes,
    count(*) FILTER (WHERE type = 'conversation_reopened') AS reopens,
    coalesce(bool_or(resolution = 'escalated') FILTER (WHERE type = 'conversation_closed'),
      false) AS escalated,
    count(*) FILTER (WHERE type = 'transferred') AS transfers,
    count(*) FILTER (WHERE type = 'chat_offered') AS chats_offered,
    count(*) FILTER (WHERE type = 'chat_declined') AS chats_declined,
    count(*) FILTER (WHERE type = 'chat_declined' AND reason = 'timeout') AS chats_timed_out,
    {_RATINGS},
    count(*) FILTER (WHERE type = 'rating' AND comment IS NOT NULL) AS rating_comments,
    min(ts) FILTER (WHERE type = 'rating') AS first_rated_at
  FROM ev GROUP BY conversation_id
),
attr_pairs AS (  -- attrs merge key by key (VARIANT: Spark 4's JSON values kept as they are)
  SELECT conversation_id, a.key,
    min_by(to_json(a.value), struct(late, ts, seq)) AS value
  FROM (
    SELECT conversation_id, type <> 'conversation_started' AS late, ts, seq,
      parse_json(attrs) AS parsed
    FROM ev WHERE attrs IS NOT NULL
  ) e, LATERAL variant_explode(e.parsed) AS a
  WHERE NOT is_variant_null(a.value)
  GROUP BY conversation_id, a.key
),
attr_merged AS (  -- the object written as DuckDB writes it: keys in order, no spaces
  SELECT conversation_id,
    concat('{{{{', array_join(transform(array_sort(collect_list(struct(key, value))),
      x -> concat(substring(to_json(array(x.key)), 2, length(to_json(array(x.key))) - 2),
                  ':', x.value)), ','), '}}}}') AS attrs
  FROM attr_pairs GROUP BY conversation_id
),
agent_points AS (
  SELECT conversation_id, agent_id, type IN ('agent_joined', 'transferred') AS is_stint,
    ts, seq
  FROM ev
  WHERE agent_id IS NOT NULL AND (type IN ('agent_joined', 'transferred')
    OR (type = 'message' AND sender = 'agent' AND NOT coalesce(private, false)))
),
rating_agents AS (
  SELECT r.conversation_id, r.kind, max_by(p.agent_id, struct(p.is_stint, p.ts, p.seq))
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
closing AS (
  SELECT conversation_id, max_by(agent_id, struct(is_stint, ts, seq)) AS closing_agent_id
  FROM agent_points GROUP BY conversation_id
),
offers AS (
  SELECT conversation_id,
    array_sort(array_distinct(collect_list(CASE WHEN type = 'chat_offered'
      THEN agent_id END))) AS offered_to,
    array_sort(array_distinct(collect_list(CASE WHEN type = 'chat_declined'
      THEN agent_id END))) AS declined_by,
    array_sort(array_distinct(collect_list(CASE WHEN type = 'chat_declined'
      AND reason = 'timeout' THEN agent_id END))) AS timed_out_by
  FROM ev WHERE type IN ('chat_offered', 'chat_declined') AND agent_id IS NOT NULL
  GROUP BY conversation_id
),
agent_list AS (
  SELECT conversation_id, {_sorted("agent_id", "first_ts", "agent_id")} AS agents
  FROM (
    SELECT conversation_id, agent_id, min(ts) AS first_ts FROM ev
    WHERE agent_id IS NOT NULL AND (type IN ('agent_joined', 'transferred')
      OR (type = 'message' AND sender = 'agent' AND NOT coalesce(private, false)))
    GROUP BY conversation_id, agent_id
  )
  GROUP BY conversation_id
),
tag_state AS (
  SELECT conversation_id, tag,
    {_last("type", "true", "last_op")},
    {_last("category", "type = 'tag_added'", "category")},
    {_last("priority", "type = 'tag_added'", "priority")}
  FROM ev WHERE type IN ('tag_added', 'tag_removed') GROUP BY conversation_id, tag
),
tags AS (
  SELECT conversation_id,
    array_sort(collect_list(tag)) AS tags,
    array_sort(array_distinct(collect_list(category))) AS tag_categories,
    max(CASE priority WHEN 'urgent' THEN 4 WHEN 'high' THEN 3 WHEN 'medium' THEN 2
        WHEN 'normal' THEN 2 WHEN 'low' THEN 1 END) AS priority_rank
  FROM tag_state WHERE last_op = 'tag_added' GROUP BY conversation_id
),
handle AS (
  SELECT conversation_id, sum(seconds) AS handle_seconds FROM agent_stints
  GROUP BY conversation_id
),
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
{STATE_CTES}pickups AS (
  SELECT f.conversation_id, min(e.ts) AS picked_up_at,
    min_by(e.agent_id, struct(e.ts, e.seq)) AS pickup_agent_id
  FROM f3 f JOIN ev e ON e.conversation_id = f.conversation_id
    AND e.type = 'agent_joined' AND e.ts >= f.queue_entry_at
  GROUP BY f.conversation_id
),
responses AS (
  SELECT f.conversation_id, min(m.ts) AS first_response_at,
    min_by(m.agent_id, struct(m.ts, m.seq)) AS first_response_agent_id
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
    {_epoch("ended_at")} - {_epoch("queue_entry_at")} <= :grace AS left_within_grace
  FROM f4
),
goals AS (
  SELECT g.event_id, g.goal, g.value, g.ts,
    max_by(c.conversation_id, struct(c.started_at, c.conversation_id)) AS conversation_id
  FROM events g JOIN f5 c
    ON g.customer_id = c.customer_id AND c.started_at <= g.ts
    AND unix_micros(c.started_at) >= unix_micros(g.ts) - {_window("attribution_days")}
  WHERE g.type = 'goal_completed'
  GROUP BY g.event_id, g.goal, g.value, g.ts
),
goal_facts AS (
  SELECT conversation_id,
    array_sort(array_distinct(collect_list(goal))) AS goals,
    count(*) FILTER (WHERE {{conversion_match}}) AS conversions,
    count(*) FILTER (WHERE goal = 'lead') AS leads,
    sum(value) FILTER (WHERE goal = 'purchase') AS revenue,
    min(ts) FILTER (WHERE {{conversion_match}}) AS first_conversion_at
  FROM goals GROUP BY conversation_id
),
followups AS (
  SELECT c.conversation_id, count(n.conversation_id) > 0 AS followup_contact
  FROM f5 c LEFT JOIN f5 n
    ON n.customer_id = c.customer_id AND n.conversation_id <> c.conversation_id
    AND n.started_at > c.started_at
    AND unix_micros(n.started_at) <= unix_micros(c.ended_at) + {_window("followup_days")}
  GROUP BY c.conversation_id
),
earlier AS (
  SELECT n.conversation_id, count(c.conversation_id) > 0 AS is_followup
  FROM f5 n LEFT JOIN f5 c
    ON c.customer_id = n.customer_id AND c.conversation_id <> n.conversation_id
    AND n.started_at > c.started_at
    AND unix_micros(n.started_at) <= unix_micros(c.ended_at) + {_window("followup_days")}
  GROUP BY n.conversation_id
),
status_spans AS (
  SELECT agent_id, status, ts,
    coalesce(lead(ts) OVER (PARTITION BY agent_id ORDER BY ts, seq),
      TIMESTAMP '9999-12-31 00:00:00') AS until
  FROM events WHERE type = 'agent_status' AND agent_id IS NOT NULL
),
queue_status AS (
  SELECT f.conversation_id, bool_or(s.status = 'online') AS agent_online
  FROM f5 f JOIN status_spans s ON s.ts <= f.queue_entry_at AND f.queue_entry_at < s.until
  WHERE f.unanswered AND NOT coalesce(f.left_within_grace, false)
  GROUP BY f.conversation_id
),
visits AS (
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
  HAVING unix_micros(v.started_at) / 1e6 - unix_micros(max(p.ts)) / 1e6 <= :session_minutes * 60
),
later_views AS (
  SELECT f.conversation_id, count(*) AS page_views
  FROM f5 f JOIN visits vi ON vi.conversation_id = f.conversation_id
    JOIN events p ON p.type = 'page_view' AND p.customer_id = f.customer_id
      AND p.session_id IS NOT DISTINCT FROM vi.visit_session_id AND p.ts > f.ended_at
  WHERE f.unanswered AND NOT coalesce(f.left_within_grace, false)
  GROUP BY f.conversation_id
)
SELECT
  f.conversation_id, f.started_at, f.channel, f.initiated_by, f.customer_id, f.bot_id, f.team,
  f.attrs, f.page_url, coalesce(f.agents, CAST(array() AS ARRAY<STRING>)) AS agents,
  try_element_at(f.agents, 1) AS first_agent_id,
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
  coalesce(f.offered_to, CAST(array() AS ARRAY<STRING>)) AS offered_to,
  coalesce(f.declined_by, CAST(array() AS ARRAY<STRING>)) AS declined_by,
  coalesce(f.timed_out_by, CAST(array() AS ARRAY<STRING>)) AS timed_out_by,
  f.unanswered, f.left_within_grace,
  f.unanswered AND NOT coalesce(f.left_within_grace, false) AS missed,
  CASE WHEN f.unanswered AND NOT coalesce(f.left_within_grace, false) THEN
    CASE WHEN f.chats_timed_out > 0 THEN 'timeout' WHEN f.chats_declined > 0 THEN 'declined'
      WHEN NOT qs.agent_online THEN 'no_agent_online'
      ELSE 'customer_left' END END AS missed_reason,
  CASE WHEN NOT (f.unanswered AND NOT coalesce(f.left_within_grace, false))
    THEN {_epoch("f.picked_up_at")} - {_epoch("f.queue_entry_at")} END AS wait_seconds,
  {_epoch("f.first_response_at")} - {_epoch("f.queue_entry_at")} AS first_response_seconds,
  coalesce(f.response_times, CAST(array() AS ARRAY<DOUBLE>)) AS response_times,
  coalesce(f.response_started_at, CAST(array() AS ARRAY<TIMESTAMP>)) AS response_started_at,
  coalesce(f.response_answered_at, CAST(array() AS ARRAY<TIMESTAMP>)) AS response_answered_at,
  coalesce(f.bot_response_times, CAST(array() AS ARRAY<DOUBLE>)) AS bot_response_times,
  f.chats_offered, f.chats_declined, f.transfers, f.handle_seconds,
  coalesce(f.tags, CAST(array() AS ARRAY<STRING>)) AS tags,
  coalesce(f.tag_categories, CAST(array() AS ARRAY<STRING>)) AS tag_categories,
  CASE f.priority_rank WHEN 4 THEN 'urgent' WHEN 3 THEN 'high' WHEN 2 THEN 'medium'
    WHEN 1 THEN 'low' END AS top_priority,
  coalesce(f.canned_messages, 0) AS canned_messages,
  f.is_closed, f.closed_at, f.ended_at, f.resolution, f.resolved_by,
  f.closes, f.reopens, f.escalated,
  CASE WHEN f.resolution = 'resolved' THEN {_epoch("f.closed_at")} - {_epoch("f.started_at")}
    END AS resolution_seconds,
  {_epoch("greatest(f.last_message_at, f.closed_at)")} - {_epoch("f.first_message_at")}
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
  coalesce(g.goals, CAST(array() AS ARRAY<STRING>)) AS goals,
  coalesce(g.conversions, 0) AS conversions,
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

SPARK_STINTS_SQL = f"""
WITH ev AS (
  SELECT * FROM events WHERE conversation_id IS NOT NULL
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
    AND m.type = 'message' AND m.sender = 'agent' AND NOT coalesce(m.private, false)
    AND m.agent_id = s.agent_id AND m.ts >= s.ts
  GROUP BY s.seq
),
stints AS (
  SELECT s.conversation_id, s.agent_id, s.team, s.ts AS started_at,
    coalesce(n.ts, l.ts, s.ts) AS ended_at, s.first_stint, s.seq
  FROM starts s
  LEFT JOIN next_end n ON n.seq = s.seq
  LEFT JOIN last_said l ON l.seq = s.seq
),
first_said AS (  -- the agent's first message inside the stint
  SELECT s.seq, min(m.ts) AS ts
  FROM stints s JOIN ev m ON m.conversation_id = s.conversation_id
    AND m.type = 'message' AND m.sender = 'agent' AND NOT coalesce(m.private, false)
    AND m.agent_id = s.agent_id AND m.ts >= s.started_at AND m.ts <= s.ended_at
  GROUP BY s.seq
)
SELECT s.conversation_id, s.agent_id, s.team, s.started_at, s.ended_at,
  {_epoch("s.ended_at")} - {_epoch("s.started_at")} AS seconds, s.first_stint,
  f.ts AS first_message_at
FROM stints s
LEFT JOIN first_said f ON f.seq = s.seq
"""


def spark_facts_query(settings: Settings) -> tuple[str, dict[str, Any]]:
    """The Spark facts SELECT for these settings and its named parameters."""
    match, params = facts_parameters(settings, marker=":", apostrophe="chr(39)")
    goals = conversion_test(":", len(conversion_goals(settings)))
    return SPARK_FACTS_SQL.format(fallback_match=match, conversion_match=goals), params
