"""Events of the human part: queueing, offers, pickup, agent dialogue, transfer, tags,
close and reopen. Times come from the plan (offsets) and the queue simulation (pickups)."""

from __future__ import annotations

import numpy as np

from chatlens.simulate.columns import (
    CANNED_ID,
    CATEGORY,
    REASON,
    RESOLUTION,
    RESOLVER,
    SENDER,
    TAG,
    TOPIC_TAG,
)
from chatlens.simulate.config import SEGMENTS
from chatlens.simulate.emit import Chunk, question_texts
from chatlens.simulate.phrases import TOPICS
from chatlens.simulate.plan import CLOSE_KINDS
from chatlens.simulate.texts import BOOK
from chatlens.simulate.vec import pick

_CLOSE_RESOLUTION = np.array([RESOLUTION[r] for r, _ in CLOSE_KINDS], dtype=np.int8)
_CLOSE_RESOLVER = np.array([RESOLVER[b] for _, b in CLOSE_KINDS], dtype=np.int8)
_TOPIC_TAG = np.array([TAG[t] for t, _ in TOPIC_TAG], dtype=np.int8)
_TOPIC_CATEGORY = np.array([CATEGORY[c] for _, c in TOPIC_TAG], dtype=np.int8)
_EXTRA_TAGS = np.array([TAG[t] for t in ("complaint", "feedback", "urgent_followup")])
_VIP = SEGMENTS.index("vip")
_KB0 = CANNED_ID[f"kb_{TOPICS[0]}"]  # canned answers kb_<topic>, in TOPICS order


def emit_human(ch: Chunk, agent_team: np.ndarray) -> None:
    plan, rng, buf = ch.plan, ch.rng, ch.buf
    h = np.flatnonzero(~np.isnan(plan.entry_off))
    entry = ch.t0 + plan.route_off  # routing start; NaN outside the human part
    picked = h[~np.isnan(ch.join[h])]
    gone = h[np.isnan(ch.join[h])]
    ch.abandoned[gone] = True

    def conv_cols(i: np.ndarray) -> dict[str, np.ndarray]:
        return {"conversation_id": ch.conv[i], "customer_id": ch.customer[i]}

    def say(i: np.ndarray, ts: np.ndarray, text: np.ndarray | int, **cols: object) -> None:
        buf.add(
            "message",
            ts,
            **conv_cols(i),
            sender=SENDER["customer"],
            text=text,
            intent=plan.htopic[i],
            **cols,
        )

    # Customers who wait long enough ask whether anyone is there.
    until = np.where(np.isnan(ch.offer), entry + plan.patience, ch.offer)
    p = h[entry[h] + plan.ping_off[h] < until[h]]
    say(p, entry[p] + plan.ping_off[p], BOOK.ping[ch.lang[p]])

    # Missed chats: the customer gives up; sometimes the widget records it.
    left_at = entry[gone] + plan.patience[gone]
    u = rng.random(len(gone))
    closed = u < 0.6
    c = gone[closed]
    buf.add(
        "conversation_closed",
        left_at[closed],
        **conv_cols(c),
        team=plan.team[c],
        resolution=RESOLUTION["unresolved"],
        reason=REASON["customer_left"],
        resolved_by=np.where(u[closed] < 0.4, RESOLVER["customer"], -1),
    )
    ch.close_t[c] = left_at[closed]
    note = (u >= 0.6) & (u < 0.85)
    buf.add(
        "message",
        left_at[note],
        **conv_cols(gone[note]),
        sender=SENDER["system"],
        text=BOOK.system_left,
    )
    quiet_end = np.fmax(ch.t0[gone] + plan.last_off[gone], entry[gone])
    quiet_end = np.where(np.isin(gone, p), entry[gone] + plan.ping_off[gone], quiet_end)
    ch.end_t[gone] = np.where(u < 0.85, left_at, quiet_end)

    # Routing: offers (a declined or timed-out offer first, sometimes), then the pickup.
    i = picked
    agent, join, offer = ch.agent[i], ch.join[i], ch.offer[i]
    d = ch.declined_by[i] >= 0
    di = i[d]
    retry = offer[d] + plan.decline_delay[di]
    buf.add(
        "chat_offered",
        offer,
        **conv_cols(i),
        team=plan.team[i],
        agent_id=np.where(d, ch.declined_by[i], agent),
    )
    buf.add(
        "chat_declined",
        retry,
        **conv_cols(di),
        agent_id=ch.declined_by[di],
        team=plan.team[di],
        reason=plan.decline_reason[di],
    )
    buf.add("chat_offered", retry, **conv_cols(di), agent_id=ch.agent[di], team=plan.team[di])
    buf.add("agent_joined", join, **conv_cols(i), agent_id=agent, team=agent_team[agent])

    lang, htopic = ch.lang[i], plan.htopic[i].astype(np.int64)
    canned = rng.random(len(i)) < 0.5
    buf.add(
        "message",
        join + plan.hello_off[i],
        **conv_cols(i),
        agent_id=agent,
        sender=SENDER["agent"],
        text=BOOK.agent_hello[lang, canned.astype(np.int64)],
        canned_response_id=np.where(canned, CANNED_ID["greeting"], -1),
    )

    # The dialogue: customer turn, agent reply; after a transfer the new agent replies.
    xfer = ch.xfer_agent
    tc, pos = plan.turn_conv, plan.turn_pos
    on = ~np.isnan(ch.join[tc])
    tc, pos = tc[on], pos[on]
    t_join, t_lang, t_topic = ch.join[tc], ch.lang[tc], plan.htopic[tc].astype(np.int64)
    # The agent answers in the first reply, or after a question first in longer chats; the
    # customer gives details before the answer and thanks after it.
    answer_at = np.where(plan.turns[tc] >= 3, 1, 0)
    rephrase = (pos == 0) & (ch.pop.bot[ch.lo + tc] >= 0) & (rng.random(len(tc)) < 0.5)
    thanks = pos == answer_at + 1
    kind = np.where(thanks, 0, 1) + 3 * thanks * (rng.random(len(tc)) < 0.5)  # ok / great
    kind += ~thanks * (rng.random(len(tc)) < 0.5)  # order number / already tried
    text = BOOK.follow_up[t_lang, kind]
    text[rephrase] = question_texts(rng, t_topic[rephrase], t_lang[rephrase])
    say(tc, t_join + plan.turn_cust[on], text)
    last = (pos == plan.turns[tc] - 1) & (pos > answer_at)
    first = pos == answer_at
    middle = ~first & ~last
    generic = BOOK.agent_generic[t_lang, np.where(pos < answer_at, rng.integers(0, 2, len(tc)), 2)]
    reply = np.select(
        [first, middle], [BOOK.agent_answer[t_topic, t_lang], generic], BOOK.anything_else[t_lang]
    )
    u = rng.random(len(tc))
    canned_id = np.select(
        [first & (u < 0.3), ~first & last & (u < 0.6)],
        [_KB0 + t_topic, CANNED_ID["anything_else"]],
        -1,
    )
    moved = (xfer[tc] >= 0) & (pos >= plan.xfer_turn[tc])
    buf.add(
        "message",
        t_join + plan.turn_agent[on],
        **conv_cols(tc),
        sender=SENDER["agent"],
        agent_id=np.where(moved, xfer[tc], ch.agent[tc]),
        text=reply,
        canned_response_id=canned_id,
    )

    x = i[xfer[i] >= 0]
    t_xfer = ch.join[x] + plan.xfer_off[x]
    buf.add(
        "transferred",
        t_xfer,
        **conv_cols(x),
        agent_id=xfer[x],
        from_agent_id=ch.agent[x],
        team=agent_team[xfer[x]],
    )
    stint_end = np.where(xfer[i] >= 0, plan.xfer_off[i], plan.hold[i])  # first agent's stint

    # Internal notes by the first agent.
    n = i[rng.random(len(i)) < 0.12]
    start = plan.hello_off[n]
    end = np.where(xfer[n] >= 0, plan.xfer_off[n], plan.hold[n])
    buf.add(
        "message",
        ch.join[n] + start + rng.uniform(0.1, 0.9, len(n)) * (end - start),
        **conv_cols(n),
        agent_id=ch.agent[n],
        sender=SENDER["agent"],
        private=1,
        text=BOOK.private_note[rng.integers(0, len(BOOK.private_note), len(n))],
    )

    _tags(ch, i, htopic, stint_end, agent_team)

    close_t = join + plan.hold[i]
    final = np.where(xfer[i] >= 0, xfer[i], agent)
    kind = plan.close_kind[i]
    by_agent = _CLOSE_RESOLVER[kind] == RESOLVER["agent"]
    buf.add(
        "conversation_closed",
        close_t,
        **conv_cols(i),
        agent_id=np.where(by_agent, final, -1),
        team=agent_team[final],
        resolution=_CLOSE_RESOLUTION[kind],
        resolved_by=_CLOSE_RESOLVER[kind],
    )
    ch.close_t[i] = ch.end_t[i] = close_t
    ch.final_agent[i] = final
    wait = join - entry[i]
    ch.good[i] = (kind <= 1) & ((wait < 300) | (rng.random(len(i)) < 0.4))
    _reopen(ch, i, close_t, lang, htopic, agent_team)


def _tags(
    ch: Chunk, i: np.ndarray, htopic: np.ndarray, stint_end: np.ndarray, agent_team: np.ndarray
) -> None:
    """Agents tag most chats with the topic's tag, sometimes a second one, rarely undo one."""
    rng, plan, buf = ch.rng, ch.plan, ch.buf
    count = pick(rng, [0.15, 0.55, 0.30], len(i))
    vip = ch.pop.segment[ch.lo + i] == _VIP
    for k in (1, 2):
        sel = count >= k
        j = i[sel]
        m = len(j)
        start, hold = plan.hello_off[j], plan.hold[j]
        at = start + rng.uniform(0.05, 0.95, m) * (hold - start)
        who = np.where(at < stint_end[sel], ch.agent[j], ch.xfer_agent[j])
        if k == 1:
            tag, category = _TOPIC_TAG[htopic[sel]], _TOPIC_CATEGORY[htopic[sel]]
        else:
            tag = np.where(vip[sel], TAG["vip"], _EXTRA_TAGS[rng.integers(0, 3, m)])
            category = np.full(m, CATEGORY["general"])
        priority = pick(rng, [0.3, 0.45, 0.18, 0.07], m)
        priority[vip[sel]] = np.maximum(priority[vip[sel]], 2)
        cols = {
            "conversation_id": ch.conv[j],
            "customer_id": ch.customer[j],
            "agent_id": who,
            "team": agent_team[who],
            "tag": tag,
            "category": category,
            "priority": priority,
        }
        buf.add("tag_added", ch.join[j] + at, **cols)
        if k == 1:  # a few first tags are removed again later in the chat
            undo = rng.random(m) < 0.08
            later = at + rng.uniform(0.2, 0.9, m) * (hold - at)
            who2 = np.where(later < stint_end[sel], ch.agent[j], ch.xfer_agent[j])
            buf.add(
                "tag_removed",
                (ch.join[j] + later)[undo],
                **{k2: v[undo] for k2, v in cols.items() if k2 not in ("agent_id", "team")},
                agent_id=who2[undo],
                team=agent_team[who2[undo]],
            )


def _reopen(
    ch: Chunk,
    i: np.ndarray,
    close_t: np.ndarray,
    lang: np.ndarray,
    htopic: np.ndarray,
    agent_team: np.ndarray,
) -> None:
    """Some solved chats come back: reopened, picked up again from the queue, closed again."""
    plan, rng, buf = ch.plan, ch.rng, ch.buf
    sel = ~np.isnan(plan.reopen_delay[i])
    r = i[sel]
    at = close_t[sel] + plan.reopen_delay[r]
    cols = {"conversation_id": ch.conv[r], "customer_id": ch.customer[r]}
    buf.add("conversation_reopened", at, **cols)
    buf.add(
        "message",
        at + 1.0,
        **cols,
        sender=SENDER["customer"],
        text=BOOK.reopen[lang[sel]],
        intent=plan.htopic[r],
    )
    ch.end_t[r] = at + 1.0
    back = ~np.isnan(ch.r_join[r])
    r, lang, topic = r[back], lang[sel][back], htopic[sel][back]
    cols = {"conversation_id": ch.conv[r], "customer_id": ch.customer[r]}
    who, rj = ch.r_agent[r], ch.r_join[r]
    agent_cols = {**cols, "agent_id": who}
    buf.add("agent_joined", rj, **agent_cols, team=agent_team[who])
    buf.add(
        "message",
        rj + plan.r_a0[r],
        **agent_cols,
        sender=SENDER["agent"],
        text=BOOK.agent_answer[topic, lang],
    )
    two = ~np.isnan(plan.r_c1[r])
    buf.add(
        "message",
        (rj + plan.r_c1[r])[two],
        conversation_id=cols["conversation_id"][two],
        customer_id=cols["customer_id"][two],
        sender=SENDER["customer"],
        text=BOOK.follow_up[lang[two], 3 * (rng.random(int(two.sum())) < 0.5)],
        intent=plan.htopic[r[two]],
    )
    buf.add(
        "message",
        (rj + plan.r_a1[r])[two],
        **{k: v[two] for k, v in agent_cols.items()},
        sender=SENDER["agent"],
        text=BOOK.anything_else[lang[two]],
        canned_response_id=CANNED_ID["anything_else"],
    )
    kind = plan.r_close_kind[r]
    buf.add(
        "conversation_closed",
        rj + plan.r_hold[r],
        **agent_cols,
        team=agent_team[who],
        resolution=_CLOSE_RESOLUTION[kind],
        resolved_by=_CLOSE_RESOLVER[kind],
    )
    ch.end_t[r] = rj + plan.r_hold[r]
