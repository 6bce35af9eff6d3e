"""How the answers of a rating spread over its scores, for the conversations a query covers
(its period, filters and the reader's scope): the bars behind the `csat` mean."""

from __future__ import annotations

from chatlens.metrics.query import Engine, Query
from chatlens.reports.drill import CSAT_SCORES
from chatlens.reports.export import conversations_sql
from chatlens.store.sql import run


def csat_distribution(engine: Engine, query: Query) -> list[dict[str, int]]:
    """`[{"score": 1, "conversations": n1}, ... {"score": 5, ...}]`, every score present. A
    conversation counts once, with its last CSAT answer (as the `csat` metric reads it)."""
    scope = conversations_sql(engine, query)
    rows = run(
        engine.store.con,
        f"SELECT csat, count(*) FROM ({scope}) WHERE csat IS NOT NULL GROUP BY csat",
    )
    counts = {int(score): int(n) for score, n in rows}
    return [{"score": s, "conversations": counts.get(s, 0)} for s in CSAT_SCORES]
