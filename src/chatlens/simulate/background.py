"""Events outside conversations: agent availability, uptime probes, knowledge items, website
visitors who never chat, goals unrelated to chats and help-desk tickets from other channels.

Run-wide schedules (shifts, incidents, knowledge items) are drawn once; each chunk emits
the part that falls into its time window, plus traffic proportional to its chats.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from chatlens.simulate.aftermath import emit_goal_events
from chatlens.simulate.columns import CATEGORIES, COMPONENTS, URLS
from chatlens.simulate.config import SimConfig
from chatlens.simulate.emit import Chunk
from chatlens.simulate.timing import Period
from chatlens.simulate.vec import lognormal, pick, ragged

CHECK_EVERY = 900.0  # seconds between health checks of each component
VISITORS_PER_CHAT = 1.5  # visitors who do not chat, per conversation
UNRELATED_GOALS_PER_CHAT = 0.025
OTHER_TICKETS_PER_CHAT = 0.02


@dataclass
class Schedules:
    """Run-wide schedules, in time order."""

    status: tuple[np.ndarray, np.ndarray, np.ndarray]  # time, agent, status code
    agent_team: np.ndarray
    down_component: np.ndarray  # incidents: component code, [start, end)
    down_start: np.ndarray
    down_end: np.ndarray
    kb_time: np.ndarray  # knowledge items: time, bot (item number = position)
    kb_bot: np.ndarray


def make_schedules(
    cfg: SimConfig,
    period: Period,
    status: tuple[np.ndarray, np.ndarray, np.ndarray],
    agent_team: np.ndarray,
    rng: np.random.Generator,
) -> Schedules:
    span = period.cutoff - period.start
    components = [COMPONENTS.index("widget")] + ([COMPONENTS.index("bot")] if cfg.bots else [])
    comp: list[int] = []
    start: list[float] = []
    for c in components:  # an outage every couple of weeks per component
        count = int(rng.poisson(period.days / 14))
        comp += [c] * count
        start += list(period.start + rng.random(count) * span)
    if not comp:  # at least one incident, so availability is never trivially 100 %
        comp, start = [components[-1]], [period.start + rng.random() * span]
    down_start = np.array(start)
    down_end = down_start + CHECK_EVERY * rng.integers(1, 7, len(comp))
    k = rng.poisson(4 * period.days / 7, max(cfg.bots, 0))  # a few new answers per week
    kb_bot = np.repeat(np.arange(cfg.bots), k).astype(np.int8)
    kb_time = period.start + rng.random(len(kb_bot)) * span
    order = np.argsort(kb_time, kind="stable")
    return Schedules(
        status=status,
        agent_team=agent_team,
        down_component=np.array(comp, dtype=np.int8),
        down_start=down_start,
        down_end=down_end,
        kb_time=kb_time[order],
        kb_bot=kb_bot[order],
    )


def emit_background(
    ch: Chunk, sched: Schedules, period: Period, window: tuple[float, float], n_conv: int
) -> None:
    w0, w1 = window
    buf, rng = ch.buf, ch.rng
    t, a, s = sched.status
    sel = (t >= w0) & (t < w1)
    buf.add("agent_status", t[sel], agent_id=a[sel], team=sched.agent_team[a[sel]], status=s[sel])

    first = np.ceil((w0 - period.start) / CHECK_EVERY)
    grid = period.start + CHECK_EVERY * np.arange(first, np.ceil((w1 - period.start) / CHECK_EVERY))
    grid = grid[(grid >= w0) & (grid < w1)]
    for c in [COMPONENTS.index("widget")] + ([COMPONENTS.index("bot")] if ch.cfg.bots else []):
        mine = sched.down_component == c
        starts, ends = sched.down_start[mine], sched.down_end[mine]
        down = ((grid[:, None] >= starts) & (grid[:, None] < ends)).any(axis=1)
        buf.add("health_check", grid, component=int(c), up=(~down).astype(np.int8))

    sel = (sched.kb_time >= w0) & (sched.kb_time < w1)
    buf.add(
        "knowledge_item_added",
        sched.kb_time[sel],
        item_id=np.flatnonzero(sel) + 1,
        bot_id=sched.kb_bot[sel],
    )

    # Visitors who browse without chatting (most of them new, some known customers).
    n = ch.n
    m = round(VISITORS_PER_CHAT * n)
    at = ch.t0[rng.integers(0, n, m)] + rng.normal(0, 1800, m)
    outside = (at < w0) | (at >= w1)
    at[outside] = w0 + rng.random(int(outside.sum())) * (w1 - w0)
    known = rng.random(m) < 0.15
    visitor = ch.pop.n_customers + 2 * ch.lo + np.arange(m)
    visitor[known] = ch.pop.customer[rng.integers(0, ch.lo + n, int(known.sum()))]
    session = n_conv + 2 * ch.lo + np.arange(m)
    buf.add(
        "visit_started",
        at,
        customer_id=visitor,
        session_id=session,
        page_url=rng.integers(0, len(URLS), m).astype(np.int8),
    )
    k = pick(rng, [0.35, 0.25, 0.2, 0.12, 0.08], m).astype(np.int64) + 1
    owner, _ = ragged(k)
    gap = lognormal(rng, 40, 1.0, len(owner), 5, 600)
    step = np.cumsum(gap)
    step -= np.repeat(np.concatenate([[0.0], step])[np.cumsum(k) - k], k)
    buf.add(
        "page_view",
        at[owner] + step,
        customer_id=visitor[owner],
        session_id=session[owner],
        page_url=rng.integers(0, len(URLS), len(owner)).astype(np.int8),
    )

    g = rng.integers(0, m, rng.poisson(UNRELATED_GOALS_PER_CHAT * n)) if m else np.zeros(0, int)
    emit_goal_events(ch, at[g] + lognormal(rng, 600, 1.0, len(g), 30, 7200), visitor[g])

    m = rng.poisson(OTHER_TICKETS_PER_CHAT * n)
    created = w0 + rng.random(m) * (w1 - w0)
    cols = {
        "ticket_id": n_conv + 2 * ch.lo + np.arange(m),
        "customer_id": ch.pop.customer[rng.integers(0, ch.lo + n, m)],
        "category": rng.integers(0, len(CATEGORIES), m).astype(np.int8),
        "urgency": pick(rng, [0.3, 0.45, 0.2, 0.05], m),
    }
    buf.add("ticket_created", created, **cols)
    done = rng.random(m) < 0.85
    resolved = created + lognormal(rng, 24 * 3600, 1.0, m, 1800, 14 * 86400)
    agent = rng.integers(0, ch.cfg.agents, m).astype(np.int16)
    buf.add(
        "ticket_resolved",
        resolved[done],
        **{k: v[done] for k, v in cols.items()},
        agent_id=agent[done],
    )
