"""A summary of what a store holds (`chatlens info`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from chatlens.store.db import Store


@dataclass
class StoreInfo:
    summary: dict[str, Any]
    events_by_type: dict[str, int]


def store_info(store: Store) -> StoreInfo:
    con = store.con
    row = con.execute(
        """
        SELECT count(*), count(DISTINCT conversation_id), count(DISTINCT agent_id),
               count(DISTINCT customer_id), min(ts), max(ts)
        FROM events
        """
    ).fetchone()
    assert row is not None
    version = con.execute("SELECT max(version) FROM schema_migrations").fetchone()
    by_type = con.execute(
        "SELECT type, count(*) FROM events GROUP BY type ORDER BY count(*) DESC, type"
    ).fetchall()
    fmt = "%Y-%m-%d %H:%M UTC"
    summary = {
        "events": int(row[0]),
        "conversations": int(row[1]),
        "agents": int(row[2]),
        "customers": int(row[3]),
        "first event": row[4].strftime(fmt) if row[4] else "-",
        "last event": row[5].strftime(fmt) if row[5] else "-",
        "schema version": version[0] if version else 0,
    }
    return StoreInfo(summary, {name: int(count) for name, count in by_type})
