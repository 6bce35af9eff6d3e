"""Events of the customer-facing part of a conversation: start, website visit, bot dialogue.

`Chunk` carries one chunk's plan, queue results and the facts later emitters need (close
times, outcomes); each `emit_*` function appends one family of events to its buffer.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from chatlens.simulate.columns import REASON, RESOLUTION, RESOLVER, SENDER, URLS
from chatlens.simulate.config import SimConfig
from chatlens.simulate.plan import (
    ANSWER,
    BOT_LEFT,
    BOT_RESOLVED,
    CONTACT,
    CONTACT_TOPIC,
    FALLBACK,
    GREET,
    GREET_REPLY,
    HANDED_OFF,
    HANDOFF,
    WELCOME,
    Plan,
)
from chatlens.simulate.population import WEB, Population
from chatlens.simulate.table import EventBuffer
from chatlens.simulate.texts import BOOK, N_PHRASINGS
from chatlens.simulate.vec import lognormal, pick, ragged


@dataclass
class Chunk:
    """Everything the emitters of one chunk share (arrays are per conversation)."""

    cfg: SimConfig
    pop: Population
    plan: Plan
    rng: np.random.Generator
    buf: EventBuffer
    lo: int
    conv: np.ndarray  # global conversation index
    customer: np.ndarray
    t0: np.ndarray
    lang: np.ndarray
    # queue results (NaN / -1 where there is no human part or no pickup)
    offer: np.ndarray
    join: np.ndarray
    agent: np.ndarray
    declined_by: np.ndarray
    xfer_agent: np.ndarray
    r_join: np.ndarray
    r_agent: np.ndarray
    # filled by the emitters
    close_t: np.ndarray  # first close (NaN: never closed)
    end_t: np.ndarray  # when the conversation ends (close, or its last event)
    good: np.ndarray  # outcome a customer would rate well
    final_agent: np.ndarray  # agent at the first close (-1: none)
    abandoned: np.ndarray  # queued and never picked up

    @property
    def n(self) -> int:
        return len(self.conv)


def question_texts(rng: np.random.Generator, topic: np.ndarray, lang: np.ndarray) -> np.ndarray:
    """A phrasing of each topic in each language, with a random opening and ending."""
    m = len(topic)
    phrasing = rng.integers(0, N_PHRASINGS, m)
    prefix = pick(rng, [0.55, 0.2, 0.15, 0.1], m)
    suffix = pick(rng, [0.6, 0.15, 0.1, 0.15], m)
    texts: np.ndarray = BOOK.question[topic, lang, phrasing, prefix, suffix]
    return texts


def emit_start(ch: Chunk) -> None:
    pop, sl = ch.pop, slice(ch.lo, ch.lo + ch.n)
    bot = pop.bot[sl]
    ch.buf.add(
        "conversation_started",
        ch.t0,
        conversation_id=ch.conv,
        customer_id=ch.customer,
        channel=pop.channel[sl],
        initiated_by=pop.proactive[sl].astype(np.int8),
        bot_id=bot,
        page_url=pop.page[sl],
        segment=pop.segment[sl],
        country=pop.country[sl],
        locale=ch.lang,
    )


def emit_visits(ch: Chunk) -> None:
    """The website session around web chats: landing, pages before, maybe pages after."""
    rng, pop = ch.rng, ch.pop
    web = pop.channel[ch.lo : ch.lo + ch.n] == WEB
    v = np.flatnonzero(web & (rng.random(ch.n) < 0.9))
    m = len(v)
    before = lognormal(rng, 180, 1.0, m, 5, 2400)
    t_visit = ch.t0[v] - before
    cust, session = ch.customer[v], ch.conv[v]
    landing = rng.integers(0, len(URLS), m).astype(np.int8)
    ch.buf.add("visit_started", t_visit, customer_id=cust, session_id=session, page_url=landing)
    k = pick(rng, [0.3, 0.35, 0.2, 0.15], m).astype(np.int64) + 1
    owner, pos = ragged(k)
    frac = (pos + rng.random(len(owner))) / k[owner]
    url = rng.integers(0, len(URLS), len(owner)).astype(np.int8)
    last = pos == k[owner] - 1
    url[last] = pop.page[ch.lo + v[owner[last]]]  # the chat opens on the last page seen
    ch.buf.add(
        "page_view",
        t_visit[owner] + frac * before[owner],
        customer_id=cust[owner],
        session_id=session[owner],
        page_url=url,
    )
    # Pages after the chat; visitors whose chat was missed mostly leave (bounce).
    after = pick(rng, [0.45, 0.35, 0.2], m).astype(np.int64)
    after[ch.abandoned[v] & (rng.random(m) < 0.7)] = 0
    owner = np.repeat(np.arange(m), after)
    ch.buf.add(
        "page_view",
        ch.end_t[v][owner] + lognormal(rng, 120, 1.0, len(owner), 5, 3600),
        customer_id=cust[owner],
        session_id=session[owner],
        page_url=rng.integers(0, len(URLS), len(owner)).astype(np.int8),
    )


def emit_bot_phase(ch: Chunk) -> None:
    """Customer and bot messages before any human, handoffs, and bot-only closes."""
    rng, plan = ch.rng, ch.plan
    sl = slice(ch.lo, ch.lo + ch.n)
    topic, bot, proactive = ch.pop.topic[sl], ch.pop.bot[sl], ch.pop.proactive[sl]
    conv, off, kind, intent = plan.cust.arrays()
    m = len(conv)
    lang = ch.lang[conv]
    text = question_texts(rng, np.where(kind == CONTACT, CONTACT_TOPIC, topic[conv]), lang)
    greet = kind == GREET
    text[greet] = BOOK.greeting[lang[greet], rng.integers(0, 3, int(greet.sum()))]
    ch.buf.add(
        "message",
        ch.t0[conv] + off,
        conversation_id=ch.conv[conv],
        customer_id=ch.customer[conv],
        sender=SENDER["customer"],
        text=text,
        intent=intent,
    )

    conv, off, kind, intent = plan.bot.arrays()
    m = len(conv)
    lang = ch.lang[conv]
    text = np.select(
        [kind == WELCOME, kind == GREET_REPLY, kind == ANSWER, kind == FALLBACK],
        [
            BOOK.welcome[lang, proactive[conv].astype(np.int64)],
            BOOK.bot_greeting[lang],
            BOOK.bot_answer[np.maximum(intent, 0) % len(BOOK.bot_answer), lang],
            BOOK.fallback[lang],
        ],
        BOOK.bot_handoff[lang],
    )
    flagged = rng.random(m) < 0.7  # ~30 % of bots send no fallback flag at all
    fallback = np.where(kind == WELCOME, -1, np.where(flagged, kind == FALLBACK, -1))
    confidence = np.select(
        [kind == ANSWER, kind == GREET_REPLY, kind == FALLBACK, (kind == HANDOFF) & (intent >= 0)],
        [
            rng.uniform(0.72, 0.99, m),
            rng.uniform(0.9, 0.99, m),
            rng.uniform(0.05, 0.45, m),
            rng.uniform(0.8, 0.99, m),
        ],
        np.nan,
    ).round(3)
    ch.buf.add(
        "message",
        ch.t0[conv] + off,
        conversation_id=ch.conv[conv],
        customer_id=ch.customer[conv],
        bot_id=bot[conv],
        sender=SENDER["bot"],
        text=text,
        fallback=fallback.astype(np.int8),
        welcome=np.where(kind == WELCOME, 1, -1),
        intent=intent,
        confidence=confidence,
    )

    h = np.flatnonzero(plan.outcome == HANDED_OFF)
    entry = ch.t0[h] + plan.entry_off[h]
    ch.buf.add(
        "handoff_requested",
        entry,
        conversation_id=ch.conv[h],
        customer_id=ch.customer[h],
        bot_id=bot[h],
        team=plan.team[h],
        reason=plan.reason[h],
    )
    w = plan.waiting_note[h]
    ch.buf.add(
        "message",
        entry[w] + 1.0,
        conversation_id=ch.conv[h[w]],
        customer_id=ch.customer[h[w]],
        sender=SENDER["system"],
        text=BOOK.system_waiting,
    )

    # Bot-only endings: auto-close after inactivity, the customer's own close, or nothing.
    last = ch.t0 + plan.last_off
    ch.end_t[:] = np.where(np.isnan(plan.entry_off), last, ch.end_t)
    u = rng.random(ch.n)
    solved = plan.outcome == BOT_RESOLVED
    left = plan.outcome == BOT_LEFT
    auto = solved & (u < 0.55)
    by_customer = solved & (u >= 0.55) & (u < 0.7)
    gave_up = left & (u < 0.3)
    delay = np.where(auto, lognormal(rng, 300, 0.5, ch.n, 60, 1800), rng.uniform(10, 120, ch.n))
    closed = np.flatnonzero(auto | by_customer | gave_up)
    t_close = last[closed] + delay[closed]
    ch.buf.add(
        "conversation_closed",
        t_close,
        conversation_id=ch.conv[closed],
        customer_id=ch.customer[closed],
        bot_id=bot[closed],
        resolution=np.where(gave_up[closed], RESOLUTION["unresolved"], RESOLUTION["resolved"]),
        resolved_by=np.where(auto[closed], RESOLVER["bot"], RESOLVER["customer"]),
        reason=np.select(
            [auto[closed], gave_up[closed]], [REASON["inactivity"], REASON["customer_left"]], -1
        ),
    )
    ch.close_t[closed] = t_close
    ch.end_t[closed] = t_close
    ch.good[:] = np.where(np.isnan(plan.entry_off), solved, ch.good)
