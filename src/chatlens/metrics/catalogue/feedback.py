"""4. Customer feedback (docs/metrics.md section 4)."""

from __future__ import annotations

from chatlens.metrics import measures as m
from chatlens.metrics.catalogue.common import (
    F,
    metric,
    nps_score,
)
from chatlens.metrics.model import Measure, Metric


def equals_score(column: str, score: int) -> m.Pred:
    return lambda t: t[column] == score


FEEDBACK: list[Metric] = [
    metric("csat", "CSAT", "score", F, m.mean(m.col("csat")), "Mean CSAT score (1-5)."),
    metric(
        "csat_satisfied_rate",
        "CSAT satisfied",
        "rate",
        F,
        m.share(lambda t: t.csat >= 4, of=lambda t: t.csat.notnull()),
        "Share of CSAT answers 4-5.",
    ),
    metric(
        "csat_very_satisfied_rate",
        "CSAT very satisfied",
        "rate",
        F,
        m.share(lambda t: t.csat == 5, of=lambda t: t.csat.notnull()),
        "Share of CSAT answers 5.",
    ),
    metric(
        "negative_feedback",
        "Negative feedback",
        "count",
        F,
        m.count(lambda t: (t.csat <= 2).fill_null(False) | (t.thumbs == 0).fill_null(False)),
        "Conversations rated CSAT 1-2 or thumbs down.",
        increase_is_bad=True,
    ),
    metric(
        "csat_response_rate",
        "CSAT response rate",
        "rate",
        F,
        m.share(lambda t: t.csat.notnull(), of=m.col("is_closed")),
        "Closed conversations with a CSAT answer / closed conversations.",
    ),
    metric(
        "uss",
        "User satisfaction score",
        "score",
        F,
        m.mean(m.col("uss")),
        "Mean USS (0-100).",
    ),
    metric(
        "nps",
        "Net promoter score",
        "nps",
        F,
        Measure(m.CONVERSATIONS, nps_score),
        "% promoters (9-10) - % detractors (0-6); -100..100.",
    ),
    metric(
        "nps_promoters",
        "NPS promoters",
        "count",
        F,
        m.count(lambda t: t.nps >= 9),
        "NPS answers 9-10.",
    ),
    metric(
        "nps_passives",
        "NPS passives",
        "count",
        F,
        m.count(lambda t: (t.nps >= 7) & (t.nps <= 8)),
        "NPS answers 7-8.",
    ),
    metric(
        "nps_detractors",
        "NPS detractors",
        "count",
        F,
        m.count(lambda t: t.nps <= 6),
        "NPS answers 0-6.",
        increase_is_bad=True,
    ),
    metric(
        "ces",
        "Customer effort score",
        "score",
        F,
        m.mean(m.col("ces")),
        "Mean CES (1-7, lower effort is better).",
        increase_is_bad=True,
    ),
    metric(
        "ces_csat_correlation",
        "CES-CSAT correlation",
        "ratio",
        F,
        Measure(m.CONVERSATIONS, lambda t, s: t.ces.corr(t.csat, how="pop")),
        "Pearson correlation of CES and CSAT over conversations that have both.",
    ),
    *[
        metric(
            f"ces_{score}_share",
            f"CES {score}",
            "rate",
            F,
            m.share(equals_score("ces", score), of=lambda t: t.ces.notnull()),
            f"Share of CES answers that are {score} (the distribution of ces).",
        )
        for score in range(1, 8)
    ],
    metric(
        "positive_rating_rate",
        "Positive ratings",
        "rate",
        F,
        m.share(lambda t: t.thumbs == 1, of=lambda t: t.thumbs.notnull()),
        "Thumbs up / thumbs answers.",
    ),
    metric(
        "negative_rating_rate",
        "Negative ratings",
        "rate",
        F,
        m.share(lambda t: t.thumbs == 0, of=lambda t: t.thumbs.notnull()),
        "Thumbs down / thumbs answers.",
        increase_is_bad=True,
    ),
]
