"""How the answers of a rating spread over its scores, for the conversations a query covers
(its period, filters and the reader's scope): the bars behind the `csat` mean."""

from __future__ import annotations

from chatlens.metrics.query import Engine, Query
from chatlens.reports.drill import CSAT_SCORES
from chatlens.reports.export import conversations_sql


def csat_distribution(engine: Engine, query: Query) -> list[dict[str, int]]:
    """`[{"score": 1, "conversations": n1}, ... {"score": 5, ...}]`, every score present. A
    conversation counts once, with its last CSAT answer (as the `csat` metric reads it)."""
    scope = conversations_sql(engine, query)
    rows = engine.backend.sql(
        f"SELECT csat, count(*) AS n FROM ({scope}) AS c WHERE csat IS NOT NULL GROUP BY csat"
    )
    counts = {int(r["csat"]): int(r["n"]) for r in rows}
    return [{"score": s, "conversations": counts.get(s, 0)} for s in CSAT_SCORES]
