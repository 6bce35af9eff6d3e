"""What follows a conversation: survey ratings, goal completions and help-desk tickets."""

from __future__ import annotations

import numpy as np

from chatlens.simulate.columns import CATEGORY, GOALS, KIND, TOPIC_TAG
from chatlens.simulate.emit import Chunk
from chatlens.simulate.phrases import TOPICS
from chatlens.simulate.plan import CLOSE_KINDS
from chatlens.simulate.texts import BOOK
from chatlens.simulate.vec import lognormal, pick

_TOPIC_CATEGORY = np.array([CATEGORY[c] for _, c in TOPIC_TAG], dtype=np.int8)
_ESCALATED = next(k for k, (res, _) in enumerate(CLOSE_KINDS) if res == "escalated")
# Topics close to a purchase: chats about them convert more often.
_SALES = np.isin(
    np.arange(len(TOPICS)),
    [
        TOPICS.index(t)
        for t in (
            "shipping_cost",
            "discount_code",
            "product_availability",
            "pricing_plans",
            "size_guide",
            "gift_card",
            "delivery_time",
        )
    ],
)
GOAL_SHARE = [0.60, 0.12, 0.10, 0.18]  # purchase, signup, lead, add_to_cart


def emit_ratings(ch: Chunk) -> None:
    """Post-chat surveys from a share of customers, minutes to a day after the close."""
    rng = ch.rng
    closed = ~np.isnan(ch.close_t)
    human = ch.final_agent >= 0
    p_rate = np.select([human & ch.good, human, ch.abandoned], [0.35, 0.25, 0.10], 0.2)
    r = np.flatnonzero(closed & (rng.random(ch.n) < p_rate))
    m = len(r)
    good = ch.good[r]
    csat = (
        np.where(
            good,
            pick(rng, [0.03, 0.04, 0.10, 0.30, 0.53], m),
            pick(rng, [0.35, 0.25, 0.2, 0.12, 0.08], m),
        ).astype(np.float64)
        + 1
    )
    u = rng.random(m)
    delay = np.select(
        [u < 0.65, u < 0.9],
        [rng.uniform(20, 600, m), rng.uniform(3600, 8 * 3600, m)],
        rng.uniform(16 * 3600, 30 * 3600, m),
    )
    at = ch.close_t[r] + delay
    primary = np.where(
        human[r], pick(rng, [0.72, 0.18, 0.10], m), pick(rng, [0.35, 0.5, 0.15], m)
    )  # csat, thumbs, uss
    kind = np.array([KIND["csat"], KIND["thumbs"], KIND["uss"]])[primary]
    thumbs = (csat >= 4) ^ (rng.random(m) < 0.1)
    uss = np.clip(np.round(15 * csat + 20 + rng.normal(0, 6, m)), 0, 100)
    score = np.select([primary == 0, primary == 1], [csat, thumbs.astype(np.float64)], uss)
    comment = np.where(
        rng.random(m) < 0.2,
        BOOK.comment[ch.lang[r], (csat >= 4).astype(np.int64), rng.integers(0, 3, m)],
        -1,
    )
    agent = np.where(human[r], ch.final_agent[r], -1)
    base = {"conversation_id": ch.conv[r], "customer_id": ch.customer[r], "agent_id": agent}
    ch.buf.add("rating", at, **base, kind=kind, score=score, comment=comment)
    # Some also answer effort (with CSAT, so the two can be correlated) and NPS questions.
    ces = (primary == 0) & (rng.random(m) < 0.35)
    ces_score = np.clip(np.round(8 - 1.3 * csat + rng.normal(0, 0.8, m)), 1, 7)
    ch.buf.add(
        "rating",
        at[ces] + rng.uniform(1, 20, int(ces.sum())),
        **{k: v[ces] for k, v in base.items()},
        kind=KIND["ces"],
        score=ces_score[ces],
    )
    nps = rng.random(m) < 0.12
    nps_score = np.clip(np.round(2 * csat + rng.normal(0, 1.2, m)), 0, 10)
    ch.buf.add(
        "rating",
        at[nps] + rng.uniform(21, 40, int(nps.sum())),
        **{k: v[nps] for k, v in base.items()},
        kind=KIND["nps"],
        score=nps_score[nps],
    )


def emit_goals(ch: Chunk) -> None:
    """Goals completed by customers after their chat: most within a week, some later."""
    rng, sl = ch.rng, slice(ch.lo, ch.lo + ch.n)
    topic = ch.pop.topic[sl]
    p = 0.05 + 0.07 * ch.pop.proactive[sl] + 0.06 * _SALES[topic] + 0.03 * ch.good
    g = np.flatnonzero(rng.random(ch.n) < p)
    m = len(g)
    soon = rng.random(m) < 0.7
    delay = np.where(
        soon, lognormal(rng, 2 * 3600, 1.2, m, 300, 6.9 * 86400), rng.uniform(7.2, 20, m) * 86400
    )
    emit_goal_events(ch, ch.end_t[g] + delay, ch.customer[g])


def emit_goal_events(ch: Chunk, at: np.ndarray, customer: np.ndarray) -> None:
    rng = ch.rng
    m = len(at)
    goal = pick(rng, GOAL_SHARE, m)
    purchase = goal == GOALS.index("purchase")
    value = np.where(purchase, np.round(lognormal(rng, 55, 0.7, m, 5, 2000), 2), np.nan)
    ch.buf.add(
        "goal_completed",
        at,
        customer_id=customer,
        goal=goal,
        value=value,
        currency=np.where(purchase, 0, -1).astype(np.int8),
    )


def emit_tickets(ch: Chunk) -> None:
    """Escalated chats become help-desk tickets; most are resolved within days."""
    rng = ch.rng
    kind = ch.plan.close_kind
    e = np.flatnonzero((kind == _ESCALATED) & (ch.final_agent >= 0) & ~np.isnan(ch.close_t))
    m = len(e)
    created = ch.close_t[e] + rng.uniform(2, 60, m)
    cols = {
        "conversation_id": ch.conv[e],
        "customer_id": ch.customer[e],
        "agent_id": ch.final_agent[e],
        "ticket_id": ch.conv[e],
        "category": _TOPIC_CATEGORY[ch.plan.htopic[e]],
        "urgency": pick(rng, [0.2, 0.45, 0.27, 0.08], m),
    }
    ch.buf.add("ticket_created", created, **cols)
    done = rng.random(m) < 0.8
    resolved = created + lognormal(rng, 20 * 3600, 1.0, m, 3600, 10 * 86400)
    ch.buf.add("ticket_resolved", resolved[done], **{k: v[done] for k, v in cols.items()})
