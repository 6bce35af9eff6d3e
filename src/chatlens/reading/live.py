"""The live view: what is happening now, from the facts (refreshed every second or so) and
the latest agent statuses.

A conversation counts as open when it is not closed and had activity recently: in the last
`CHAT_IDLE` on web chat (a synchronous chat quiet for an hour is over: its customer left
without the widget recording a close) and in the last `MESSAGING_IDLE` on every other
channel (messaging and email are asynchronous: a customer answers hours later; WhatsApp's
customer-service window is 24 hours). Chats that were never closed do not stay open forever.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from chatlens.store.sql import run

CHAT_IDLE = dt.timedelta(hours=1)
MESSAGING_IDLE = dt.timedelta(hours=24)


def live_status(con: Any, facts: str, now: dt.datetime) -> dict[str, Any]:
    since = now - MESSAGING_IDLE
    row = run(
        con,
        f"""
        WITH open AS (
          SELECT * FROM {facts}
          WHERE NOT is_closed AND ended_at >= $since
            AND (coalesce(channel, 'web') <> 'web' OR ended_at >= $chat_since)
        )
        SELECT
          count(*) AS open_conversations,
          count(*) FILTER (WHERE has_human_part AND queue_entry_at IS NOT NULL
                           AND picked_up_at IS NULL AND first_response_at IS NULL) AS waiting,
          max(epoch($now::TIMESTAMPTZ) - epoch(queue_entry_at)) FILTER (
            WHERE has_human_part AND queue_entry_at IS NOT NULL AND picked_up_at IS NULL
              AND first_response_at IS NULL) AS longest_wait_seconds,
          count(*) FILTER (WHERE has_human_part AND len(agents) = 0) AS unassigned,
          count(*) FILTER (WHERE bot_involved AND NOT has_human_part) AS with_bot
        FROM open
        """,
        {"since": since, "chat_since": now - CHAT_IDLE, "now": now},
    )[0]
    statuses = run(
        con,
        """
        SELECT status, count(*) FROM (
          SELECT agent_id, arg_max(status, ts) AS status FROM events
          WHERE type = 'agent_status' AND ts >= $since GROUP BY agent_id
        ) GROUP BY status
        """,
        {"since": since},
    )
    agents = {"online": 0, "away": 0, "offline": 0, **{s: int(n) for s, n in statuses}}
    names = ("open_conversations", "waiting", "longest_wait_seconds", "unassigned", "with_bot")
    status = dict(zip(names, row, strict=True))
    return {
        **status,
        "agents_online": agents["online"],
        "agents_away": agents["away"],
        "as_of": now.isoformat(),
    }
