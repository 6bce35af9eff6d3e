"""Who starts which conversation, when: arrivals, channels, bots, topics and customers.

Customers form a pool: a share of conversations come from a customer seen in the previous
weeks (returning customers), and some are explicit follow-up contacts a few hours or days
after an earlier chat of the same customer (what first-contact resolution looks for).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from chatlens.simulate.columns import TOPIC_PAGE, URLS
from chatlens.simulate.config import (
    CHANNEL_SHARE,
    CHANNELS,
    COUNTRY_BY_LOCALE,
    LOCALE_SHARE,
    SEGMENT_SHARE,
    SimConfig,
)
from chatlens.simulate.phrases import TOPICS
from chatlens.simulate.timing import Period, arrivals

# How often each topic is asked (TOPICS order).
TOPIC_SHARE = np.array([14, 8, 6, 5, 7, 4, 3, 4, 4, 5, 6, 3, 3, 5, 2, 4, 3, 5, 4, 3], dtype=float)
TOPIC_SHARE /= TOPIC_SHARE.sum()
RETURNING_SHARE = 0.35
FOLLOW_UP_SHARE = 0.08
PROACTIVE_SHARE = 0.2  # of web chats with a bot: about 10 % of all conversations
WEB, EMAIL = CHANNELS.index("web"), CHANNELS.index("email")
# Which bot (index into cfg.bot_names, modulo their number) serves each channel.
CHANNEL_BOT = {"web": 0, "instagram": 0, "messenger": 1, "whatsapp": 1}


@dataclass
class Population:
    """One row per conversation, sorted by start time (the conversation's index)."""

    t0: np.ndarray  # float64 start time
    channel: np.ndarray  # int8
    proactive: np.ndarray  # bool: initiated_by business
    bot: np.ndarray  # int8, -1 = live chat only
    topic: np.ndarray  # int8
    customer: np.ndarray  # int64
    locale: np.ndarray  # int8 (per customer)
    segment: np.ndarray  # int8 (per customer)
    country: np.ndarray  # int8 (per customer)
    page: np.ndarray  # int8 page_url code, -1 off the website
    n_customers: int

    def __len__(self) -> int:
        return len(self.t0)


def populate(cfg: SimConfig, period: Period, rng: np.random.Generator) -> Population:
    n = cfg.conversations
    t0 = arrivals(n, period, rng)
    channel = rng.choice(len(CHANNELS), size=n, p=CHANNEL_SHARE).astype(np.int8)
    bot = np.full(n, -1, dtype=np.int8)
    if cfg.bots:
        for name, which in CHANNEL_BOT.items():
            bot[channel == CHANNELS.index(name)] = which % cfg.bots
        if cfg.bots > 2:  # extra bots share the web traffic
            web = np.flatnonzero(channel == WEB)
            bot[web] = rng.choice([0, *range(2, cfg.bots)], size=len(web))
        bot[(channel == WEB) & (rng.random(n) < 0.1)] = -1  # some web chats go straight to humans
    proactive = (channel == WEB) & (bot >= 0) & (rng.random(n) < PROACTIVE_SHARE)
    topic = rng.choice(len(TOPICS), size=n, p=TOPIC_SHARE).astype(np.int8)

    # Customer pool: parent[k] is an earlier conversation of the same customer, or -1.
    per_day = n / period.days
    back = 1 + np.floor(rng.exponential(per_day * 9, n)).astype(np.int64)
    parent = np.where(rng.random(n) < RETURNING_SHARE, np.arange(n) - back, -1)
    parent[parent < 0] = -1
    source = np.flatnonzero(rng.random(n) < FOLLOW_UP_SHARE)
    delay = np.clip(rng.lognormal(np.log(20 * 3600), 0.9, len(source)), 3600, 6 * 86400)
    target = np.searchsorted(t0, t0[source] + delay, side="right")
    ok = target < n
    parent[target[ok]] = source[ok]
    root = np.where(parent < 0, np.arange(n), parent)
    while True:  # pointer jumping: every conversation to its customer's first one
        nxt = root[root]
        if np.array_equal(nxt, root):
            break
        root = nxt
    is_first = root == np.arange(n)
    customer_of_first = np.cumsum(is_first) - 1
    customer = customer_of_first[root]

    locale = rng.choice(len(LOCALE_SHARE), size=n, p=LOCALE_SHARE).astype(np.int8)[root]
    segment = rng.choice(len(SEGMENT_SHARE), size=n, p=SEGMENT_SHARE).astype(np.int8)[root]
    country_p = np.asarray(COUNTRY_BY_LOCALE)
    cum = np.cumsum(country_p, axis=1)[locale]
    country = np.minimum((rng.random(n)[:, None] > cum).sum(axis=1), cum.shape[1] - 1)
    country = country.astype(np.int8)
    country = country[root]  # one country per customer
    page = np.where(
        rng.random(n) < 0.6,
        np.asarray(TOPIC_PAGE, dtype=np.int8)[topic],
        rng.integers(0, len(URLS), n).astype(np.int8),
    ).astype(np.int8)
    page[channel != WEB] = -1
    return Population(
        t0=t0,
        channel=channel,
        proactive=proactive,
        bot=bot,
        topic=topic,
        customer=customer.astype(np.int64),
        locale=locale,
        segment=segment,
        country=country,
        page=page,
        n_customers=int(is_first.sum()),
    )
