"""Conversation plans: the bot dialogue and the shape of the human part, per chunk.

A plan is everything random about a chunk of conversations that does not depend on the
agents' availability. It is a pure function of (config, chunk): it is computed once to feed
the queue simulation and again when the chunk's events are written, so no plan has to be
kept in memory for the whole run. Offsets are seconds from the conversation start (bot
phase) or from the agent's pickup (human part), rounded to float32 so that both passes and
the stored queue inputs agree to the bit.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from chatlens.simulate.columns import REASON
from chatlens.simulate.config import SimConfig
from chatlens.simulate.phrases import TOPICS
from chatlens.simulate.population import EMAIL, Population
from chatlens.simulate.vec import f32, lognormal, pick, ragged, ragged_cumsum

# Customer message kinds, bot message kinds, bot-phase outcomes.
Q, GREET, CONTACT = 0, 1, 2
WELCOME, GREET_REPLY, ANSWER, FALLBACK, HANDOFF = 0, 1, 2, 3, 4
NOT_ENGAGED, BOT_RESOLVED, BOT_LEFT, HANDED_OFF, LIVE = 0, 1, 2, 3, 4
# Human close kinds: (resolution, resolved_by) pairs.
CLOSE_KINDS = (
    ("resolved", "agent"),
    ("resolved", "customer"),
    ("unresolved", "agent"),
    ("escalated", "agent"),
)
GREETING_INTENT = len(TOPICS)  # index of "greeting" in INTENTS
CONTACT_TOPIC = TOPICS.index("contact_human")
MAX_BOT_TURNS = 3
# Chance that the bot answers a question on each topic (TOPICS order): some are hard.
P_ANSWER = np.array(
    [
        0.85,
        0.50,
        0.88,
        0.94,
        0.90,
        0.55,
        0.60,
        0.80,
        0.40,
        0.75,
        0.78,
        0.96,
        0.65,
        0.85,
        0.40,
        0.35,
        0.82,
        0.00,
        0.90,
        0.75,
    ]
)
BOT_SKILL = np.array([1.0, 0.95, 1.05, 1.0])
# Team per topic for three teams (billing, tech, sales); more teams take some topics over.
BASE_TEAM = np.array([2, 0, 1, 2, 2, 0, 2, 0, 0, 2, 2, 2, 1, 1, 1, 1, 2, 2, 2, 0])


def topic_team(teams: int) -> np.ndarray:
    """The queue (team index) that serves each topic."""
    if teams <= 3:
        return (BASE_TEAM % teams).astype(np.int8)
    extra = 3 + np.arange(len(TOPICS)) // 2 % (teams - 3)
    return np.where(np.arange(len(TOPICS)) % 2 == 1, extra, BASE_TEAM).astype(np.int8)


@dataclass
class Msgs:
    """Flattened messages: chunk-local conversation, offset, kind, intent code (-1 none)."""

    conv: list[np.ndarray] = field(default_factory=list)
    off: list[np.ndarray] = field(default_factory=list)
    kind: list[np.ndarray] = field(default_factory=list)
    intent: list[np.ndarray] = field(default_factory=list)

    def add(self, conv: np.ndarray, off: np.ndarray, kind: object, intent: object) -> None:
        n = len(conv)
        self.conv.append(conv)
        self.off.append(f32(off))
        self.kind.append(np.broadcast_to(np.asarray(kind, dtype=np.int8), n))
        self.intent.append(np.broadcast_to(np.asarray(intent, dtype=np.int8), n))

    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        def cat(parts: list[np.ndarray], dtype: type) -> np.ndarray:
            return np.concatenate(parts).astype(dtype) if parts else np.zeros(0, dtype)

        return (
            cat(self.conv, np.int64),
            cat(self.off, np.float64),
            cat(self.kind, np.int8),
            cat(self.intent, np.int8),
        )


@dataclass
class Plan:
    """One chunk's plans; arrays are per conversation unless noted (NaN = not applicable)."""

    n: int
    welcome_off: np.ndarray
    cust: Msgs  # customer messages before the human part
    bot: Msgs  # bot messages
    outcome: np.ndarray
    reason: np.ndarray  # handoff reason code, -1
    entry_off: np.ndarray  # queue entry; NaN = no human part
    route_off: np.ndarray  # routing starts (live chats: once the customer has typed)
    last_off: np.ndarray  # last message of the bot phase / opening
    waiting_note: np.ndarray  # system "waiting" message after the handoff
    htopic: np.ndarray  # topic of the human part
    team: np.ndarray
    patience: np.ndarray
    ping_off: np.ndarray  # "anyone there?" while queued (inf: never)
    acc: np.ndarray  # pickup delay after the offer
    declines: np.ndarray  # the first offered agent declines (if a colleague is free)
    decline_delay: np.ndarray
    decline_reason: np.ndarray
    hello_off: np.ndarray  # first agent message after joining
    turn_conv: np.ndarray  # per turn (flattened): conversation, position, offsets from join
    turn_pos: np.ndarray
    turn_cust: np.ndarray
    turn_agent: np.ndarray
    turns: np.ndarray  # per conversation: number of turns
    hold: np.ndarray  # join -> close
    xfer_off: np.ndarray
    xfer_team: np.ndarray
    xfer_turn: np.ndarray  # turns before the transfer
    close_kind: np.ndarray
    reopen_delay: np.ndarray  # close -> reopen
    r_acc: np.ndarray
    r_a0: np.ndarray  # after the reopen pickup: agent reply, customer, agent, close
    r_c1: np.ndarray
    r_a1: np.ndarray
    r_hold: np.ndarray
    r_close_kind: np.ndarray


def make_plan(cfg: SimConfig, pop: Population, lo: int, hi: int, rng: np.random.Generator) -> Plan:
    n = hi - lo
    bot, topic = pop.bot[lo:hi], pop.topic[lo:hi].astype(np.int64)
    channel, proactive = pop.channel[lo:hi], pop.proactive[lo:hi]
    has_bot = bot >= 0
    cust, bots = Msgs(), Msgs()

    def think(m: int) -> np.ndarray:  # customer typing time
        return lognormal(rng, 12, 0.7, m, 2, 180)

    def latency(m: int) -> np.ndarray:  # bot reply time
        return rng.uniform(0.3, 3.0, m)

    welcome_off = np.where(has_bot, f32(rng.uniform(0.3, 1.5, n)), np.nan)
    b = np.flatnonzero(has_bot)
    bots.add(b, welcome_off[b], WELCOME, -1)
    cur = np.where(has_bot, welcome_off, 0.0)
    engaged = has_bot & (rng.random(n) < np.where(proactive, 0.45, 0.93))
    g = np.flatnonzero(engaged & (rng.random(n) < 0.2))
    c_off = cur[g] + think(len(g))
    cust.add(g, c_off, GREET, GREETING_INTENT)
    cur[g] = c_off + latency(len(g))
    bots.add(g, cur[g], GREET_REPLY, GREETING_INTENT)

    outcome = np.where(has_bot, NOT_ENGAGED, LIVE).astype(np.int8)
    reason = np.full(n, -1, dtype=np.int8)
    fallbacks = np.zeros(n, dtype=np.int8)
    ask_human = np.zeros(n, dtype=bool)
    p_answer = P_ANSWER[topic] * BOT_SKILL[np.maximum(bot, 0) % len(BOT_SKILL)]
    active = engaged.copy()
    for turn in range(MAX_BOT_TURNS):
        i = np.flatnonzero(active)
        m = len(i)
        contact = topic[i] == CONTACT_TOPIC
        c_off = cur[i] + think(m)
        cust.add(i, c_off, np.where(contact, CONTACT, Q), topic[i])
        cur[i] = c_off + latency(m)
        answered = ~contact & (rng.random(m) < p_answer[i] * 0.85**turn)
        fb = ~answered & ~contact
        bots.add(
            i,
            cur[i],
            np.where(contact, HANDOFF, np.where(answered, ANSWER, FALLBACK)),
            np.where(fb, -1, topic[i]),
        )
        fallbacks[i] += fb
        u = rng.random(m)
        last = turn == MAX_BOT_TURNS - 1
        ask = answered & (u >= 0.72) & (u < 0.84)
        resolved = answered & ~ask & ((u < 0.72) | last)
        many = fallbacks[i] >= 2
        hand_fb = fb & np.where(many, u < 0.85, ((u >= 0.5) & (u < 0.85)) | ((u < 0.5) & last))
        left = fb & ~hand_fb & (many | (u >= 0.85))
        outcome[i[resolved]] = BOT_RESOLVED
        outcome[i[left]] = BOT_LEFT
        outcome[i[contact | ask | hand_fb]] = HANDED_OFF
        reason[i[contact | ask]] = REASON["customer_request"]
        reason[i[hand_fb]] = REASON["fallback"]
        ask_human[i[ask]] = True
        active[i] = ~(resolved | left | contact | ask | hand_fb)

    a = np.flatnonzero(ask_human)  # "can I talk to a person?" after an answer
    c_off = cur[a] + think(len(a))
    cust.add(a, c_off, CONTACT, CONTACT_TOPIC)
    cur[a] = c_off + latency(len(a))
    bots.add(a, cur[a], HANDOFF, CONTACT_TOPIC)
    f = np.flatnonzero(reason == REASON["fallback"])  # the bot offers a colleague itself
    cur[f] = cur[f] + latency(len(f))
    bots.add(f, cur[f], HANDOFF, -1)
    entry_off = np.full(n, np.nan)
    h = np.flatnonzero(outcome == HANDED_OFF)
    entry_off[h] = f32(cur[h] + rng.uniform(0.05, 0.5, len(h)))

    live = np.flatnonzero(~has_bot)  # live chat only: the queue starts with the chat
    email = channel[live] == EMAIL
    c_off = np.where(email, 0.5, rng.uniform(1, 20, len(live)))
    cust.add(live, c_off, np.where(topic[live] == CONTACT_TOPIC, CONTACT, Q), topic[live])
    cur[live] = c_off
    second = ~email & (rng.random(len(live)) < 0.3)
    cur[live[second]] = c_off[second] + rng.uniform(5, 60, int(second.sum()))
    cust.add(live[second], cur[live[second]], Q, topic[live[second]])
    entry_off[live] = 0.0  # the metrics' queue entry: a live chat waits from its start
    last_off = f32(cur)
    route_off = np.where(has_bot, entry_off, last_off)
    plan = _human(cfg, rng, n, topic, channel, entry_off)
    return Plan(
        n=n,
        welcome_off=welcome_off,
        cust=cust,
        bot=bots,
        outcome=outcome,
        reason=reason,
        entry_off=entry_off,
        route_off=route_off,
        last_off=last_off,
        waiting_note=rng.random(n) < 0.5,
        **plan,
    )


def _human(
    cfg: SimConfig,
    rng: np.random.Generator,
    n: int,
    topic: np.ndarray,
    channel: np.ndarray,
    entry_off: np.ndarray,
) -> dict[str, np.ndarray]:
    """The shape of every human part: queue patience, pickup, turns, transfer, close, reopen."""
    h = np.flatnonzero(~np.isnan(entry_off))
    m = len(h)

    def full(values: np.ndarray, fill: float = np.nan, dtype: type = np.float64) -> np.ndarray:
        out: np.ndarray = np.full(n, fill, dtype=dtype)
        out[h] = values
        return out

    htopic = topic[h].copy()
    contact = htopic == CONTACT_TOPIC
    htopic[contact] = rng.choice(np.flatnonzero(P_ANSWER > 0), int(contact.sum()))
    team = topic_team(cfg.teams)[htopic]
    email = channel[h] == EMAIL
    short = rng.random(m) < 0.3
    patience = np.where(
        email,
        lognormal(rng, 6 * 3600, 0.8, m, 600, 3 * 86400),
        np.where(short, lognormal(rng, 40, 0.6, m, 5, 600), lognormal(rng, 420, 0.9, m, 30, 7200)),
    )
    ping_off = np.where(email, np.inf, rng.uniform(60, 300, m))
    timeout = rng.random(m) < 0.4
    decline_delay = np.where(timeout, 30.0, rng.uniform(3, 20, m))
    slow = np.where(email, 3.0, 1.0)  # e-mail threads move slower than chats

    k = pick(rng, [0.25, 0.30, 0.20, 0.13, 0.08, 0.04], m).astype(np.int64) + 1
    owner, pos = ragged(k)
    t = len(owner)
    cgap = lognormal(rng, 45, 0.8, t, 4, 400) * slow[owner]
    agap = lognormal(rng, 60, 0.8, t, 6, 600) * slow[owner]
    hello = f32(lognormal(rng, 20, 0.6, m, 4, 180))
    end = hello[owner] + ragged_cumsum(cgap + agap, owner, m)
    last = np.cumsum(k) - 1
    hold = end[last] + lognormal(rng, 50, 0.8, m, 5, 900)

    xfer = (k >= 2) & (rng.random(m) < 0.08)
    xfer_turn = np.where(xfer, 1 + np.floor(rng.random(m) * (k - 1)).astype(np.int64), 0)
    first = last - k + 1
    xi = first[xfer] + xfer_turn[xfer]  # the first turn after the transfer
    xfer_off = np.full(m, np.nan)
    xfer_off[xfer] = end[xi - 1] + 0.5 * cgap[xi]
    other = (team + 1 + rng.integers(0, max(1, cfg.teams - 1), m)) % cfg.teams
    xfer_team = np.where((cfg.teams > 1) & (rng.random(m) < 0.75), other, team)

    close_kind = pick(rng, [0.78, 0.05, 0.07, 0.10], m)
    reopen = (close_kind <= 1) & (rng.random(m) < 0.07)
    reopen_delay = np.where(reopen, lognormal(rng, 5 * 3600, 1.0, m, 1200, 3 * 86400), np.nan)
    r_a0 = lognormal(rng, 40, 0.6, m, 8, 300)
    two = rng.random(m) < 0.5
    r_c1 = np.where(two, r_a0 + lognormal(rng, 40, 0.8, m, 4, 400), np.nan)
    r_a1 = np.where(two, r_c1 + lognormal(rng, 45, 0.8, m, 6, 600), np.nan)
    r_hold = np.where(two, r_a1, r_a0) + lognormal(rng, 50, 0.8, m, 5, 900)
    r_close_kind = np.where(rng.random(m) < 0.85, 0, 2).astype(np.int8)
    return {
        "htopic": full(htopic, -1, np.int8),
        "team": full(team, -1, np.int8),
        "patience": full(f32(patience)),
        "ping_off": full(f32(ping_off)),
        "acc": full(f32(rng.uniform(2, 25, m))),
        "declines": full(rng.random(m) < 0.06, False, bool),
        "decline_delay": full(f32(decline_delay)),
        "decline_reason": full(
            np.where(timeout, REASON["timeout"], REASON["declined"]), -1, np.int8
        ),
        "hello_off": full(hello),
        "turn_conv": h[owner],
        "turn_pos": pos,
        "turn_cust": f32(end - agap),
        "turn_agent": f32(end),
        "turns": full(k, 0, np.int64),
        "hold": full(f32(hold)),
        "xfer_off": full(f32(xfer_off)),
        "xfer_team": full(xfer_team, -1, np.int8),
        "xfer_turn": full(xfer_turn, 0, np.int64),
        "close_kind": full(close_kind, -1, np.int8),
        "reopen_delay": full(f32(reopen_delay)),
        "r_acc": full(f32(rng.uniform(2, 25, m))),
        "r_a0": full(f32(r_a0)),
        "r_c1": full(f32(r_c1)),
        "r_a1": full(f32(r_a1)),
        "r_hold": full(f32(r_hold)),
        "r_close_kind": full(r_close_kind, -1, np.int8),
    }
