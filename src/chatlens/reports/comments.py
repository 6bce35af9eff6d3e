"""The comments customers left with their ratings, newest first, for the conversations a
query covers (its period, filters and the reader's scope)."""

from __future__ import annotations

from typing import Any

from chatlens.metrics.query import Engine, Query
from chatlens.reports.export import conversations_sql


def rating_comments(engine: Engine, query: Query, limit: int = 50) -> list[dict[str, Any]]:
    scope = conversations_sql(engine, query)
    cursor = engine.store.con.execute(
        f"""
        SELECT r.ts, r.conversation_id, r.kind, r.score, r.comment
        FROM events r JOIN ({scope}) c USING (conversation_id)
        WHERE r.type = 'rating' AND r.comment IS NOT NULL AND trim(r.comment) <> ''
        ORDER BY r.ts DESC, r.seq DESC
        LIMIT {int(limit)}
        """
    )
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
