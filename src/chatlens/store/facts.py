"""Keeping the conversation facts table in step with the events.

The facts depend on a few settings (grace period, follow-up and attribution windows, fallback
phrases, conversion goals); when those change the table is rebuilt, so history always follows
the settings.
After an import only the conversations touched by new events are recomputed, together with
every other conversation of the same customers (follow-ups and goal attribution cross them).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import orjson

from chatlens.store.db import Store
from chatlens.store.facts_dialect import DUCKDB
from chatlens.store.facts_sql import facts_query, stints_sql
from chatlens.store.settings import Settings, load_settings
from chatlens.store.sql import run

STINTS_SQL = stints_sql(DUCKDB)
FACTS_TABLE = "conversation_facts"
STINTS_TABLE = "agent_stints"
_STATE = FACTS_TABLE


@dataclass
class RefreshResult:
    full: bool
    conversations: int


def _query(settings: Settings) -> tuple[str, dict[str, Any], str]:
    """The facts SELECT for these settings, its parameters, and a version key.

    The key is a hash of the SQL that builds the stints and the facts and of the values bound
    to it: a change to the declaration or to a setting the facts depend on rebuilds them."""
    sql, params = facts_query(DUCKDB, settings)
    key = hashlib.sha256(orjson.dumps([STINTS_SQL, sql, params], option=orjson.OPT_SORT_KEYS))
    return sql, params, key.hexdigest()[:16]


def facts_version(settings: Settings) -> str:
    """The version key of the facts built under `settings` (kept in derived_state)."""
    return _query(settings)[2]


def facts_settings_differ(a: Settings, b: Settings) -> bool:
    """Whether facts built under `a` would differ from facts built under `b`."""
    return facts_version(a) != facts_version(b)


def build_facts_table(store: Store, settings: Settings, table: str) -> None:
    """Compute every conversation's facts under `settings` into a temp table (one run's
    `--set` overrides)."""
    sql, params, _ = _query(settings)
    run(
        store.con,
        "CREATE OR REPLACE TEMP TABLE _scope AS SELECT DISTINCT conversation_id "
        "FROM events WHERE conversation_id IS NOT NULL",
    )
    try:
        run(store.con, f"CREATE OR REPLACE TEMP TABLE {table} AS {sql}", params)
    finally:
        run(store.con, "DROP TABLE IF EXISTS _scope")


def refresh_facts(store: Store, *, full: bool = False) -> RefreshResult:
    """Bring the facts up to date with the events; returns what was recomputed."""
    con = store.con
    sql, params, version = _query(load_settings(con))
    found = run(con, "SELECT version, upto_seq FROM derived_state WHERE name = ?", [_STATE])
    state = found[0] if found else None
    full = full or state is None or state[0] != version
    run(con, "BEGIN")
    try:
        upto = store.max_seq()  # inside the transaction: the events its snapshot holds
        if full:
            run(
                con,
                "CREATE OR REPLACE TEMP TABLE _scope AS "
                "SELECT DISTINCT conversation_id FROM events WHERE conversation_id IS NOT NULL",
            )
            run(con, f"CREATE OR REPLACE TABLE {STINTS_TABLE} AS {STINTS_SQL}")
            run(con, f"CREATE OR REPLACE TABLE {FACTS_TABLE} AS {sql}", params)
        else:
            since = state[1] if state else 0
            _touched_scope(store, since)
            # new events that touch no conversation (page views of visitors who never
            # chatted, health checks) skip the facts query and its fixed ~0.1 s
            if run(con, "SELECT count(*) FROM _scope")[0][0]:
                for table in (STINTS_TABLE, FACTS_TABLE):
                    run(
                        con,
                        f"DELETE FROM {table} WHERE conversation_id IN "
                        "(SELECT conversation_id FROM _scope)",
                    )
                run(con, f"INSERT INTO {STINTS_TABLE} BY NAME {STINTS_SQL}")
                run(con, f"INSERT INTO {FACTS_TABLE} BY NAME {sql}", params)
        row = run(con, "SELECT count(*) FROM _scope")[0]
        run(con, "INSERT OR REPLACE INTO derived_state VALUES (?, ?, ?)", [_STATE, version, upto])
        run(con, "COMMIT")
    except Exception:
        run(con, "ROLLBACK")
        raise
    finally:
        run(con, "DROP TABLE IF EXISTS _scope")
    return RefreshResult(full, int(row[0]) if row else 0)


def _touched_scope(store: Store, since: int) -> None:
    """Fill _scope with the conversations new events touch, closed under customer (an
    agent's status touches the missed chats that entered the queue after it)."""
    run(
        store.con,
        """
        CREATE OR REPLACE TEMP TABLE _scope AS
        WITH new AS (
          SELECT conversation_id, customer_id, type, ts FROM events WHERE seq > $since
        ),
        convs AS (
          SELECT conversation_id FROM new WHERE conversation_id IS NOT NULL
          UNION
          -- an agent status changes the reason of the missed chats queued from its time on
          SELECT conversation_id FROM conversation_facts
          WHERE missed AND queue_entry_at >= (
            SELECT min(ts) FROM new WHERE type = 'agent_status')
        ),
        customers AS (
          SELECT customer_id FROM new WHERE customer_id IS NOT NULL
          UNION
          SELECT customer_id FROM events
          WHERE conversation_id IN (SELECT conversation_id FROM convs)
            AND customer_id IS NOT NULL
        )
        SELECT conversation_id FROM convs
        UNION
        SELECT conversation_id FROM events
        WHERE customer_id IN (SELECT customer_id FROM customers)
          AND conversation_id IS NOT NULL
        """,
        {"since": since},
    )
