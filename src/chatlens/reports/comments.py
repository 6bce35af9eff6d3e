"""The comments customers left with their ratings, newest first, for the conversations a
query covers (its period, filters and the reader's scope)."""

from __future__ import annotations

from typing import Any

from chatlens.metrics.query import Engine, Query
from chatlens.reports.export import conversations_sql


def rating_comments(engine: Engine, query: Query, limit: int = 50) -> list[dict[str, Any]]:
    scope = conversations_sql(engine, query)
    return engine.backend.sql(
        f"""
        SELECT r.ts, r.conversation_id, r.kind, r.score, r.comment
        FROM events r JOIN ({scope}) AS c USING (conversation_id)
        WHERE r.type = 'rating' AND r.comment IS NOT NULL AND trim(r.comment) <> ''
        ORDER BY r.ts DESC, r.seq DESC
        LIMIT {int(limit)}
        """
    )
