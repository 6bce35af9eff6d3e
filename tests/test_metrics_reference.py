"""Every metric of the catalogue checked against an independent reference (tests/reference.py).

The fixture below is one small support operation written out event by event, in the workspace
zone Europe/Helsinki around the end of summer time (Sunday 2026-10-25 has 25 local hours:
04:00 EEST (+03:00) becomes 03:00 EET (+02:00)). Times are written as local times with their
offset. The main period is 2026-10-25 .. 2026-10-27 (73 hours); the three days before it are
the "previous period" of retention, and a few events fall after it (follow-ups, late goals).

The engine is only used to import the events (normal file path) and to run queries; every
expected value comes from reference.py, which reads the same raw event dicts in plain Python.
A handful of values are also written out by hand (test_hand_worked_values) so that the
reference itself is checked against arithmetic a reader can follow.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import Counter
from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from chatlens.metrics import METRICS
from chatlens.store import open_store
from chatlens.store.settings import save_setting

from .conftest import load, report
from .reference import REFERENCE, VALUES, Reference

ZONE = "Europe/Helsinki"
WEEK = ("mon", "tue", "wed", "thu", "fri")
SETTINGS: dict[str, Any] = {
    "timezone": ZONE,
    "cost_per_agent_conversation": 6,
    "cost_per_bot_conversation": 1,
    "canned_seconds_saved": 20,
    # weekdays 09-17; none at the weekend (so none on the DST Sunday)
    "business_hours": {day: ["09:00", "17:00"] for day in ("mon", "tue", "wed", "thu", "fri")},
}

# --------------------------------------------------------------------------------------
# building the fixture


def _utc(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def chat(cid: str, start: str, *steps: tuple[Any, str, dict[str, Any]], **started: Any):
    """A conversation: `conversation_started` at `start` (local time with offset), then its
    steps. A step's time is seconds after the start, or an absolute local time."""
    t0 = dt.datetime.fromisoformat(start)
    out = [{"type": "conversation_started", "ts": _utc(t0), "conversation_id": cid, **started}]
    for when, etype, fields in steps:
        if isinstance(when, str):
            at = dt.datetime.fromisoformat(when)
        else:
            at = t0 + dt.timedelta(seconds=when)
        out.append({"type": etype, "ts": _utc(at), "conversation_id": cid, **fields})
    return out


def ev(when: Any, etype: str, **fields: Any) -> tuple[Any, str, dict[str, Any]]:
    return (when, etype, fields)


def customer(when: Any, text: str) -> tuple[Any, str, dict[str, Any]]:
    return ev(when, "message", sender="customer", text=text)


def bot(when: Any, text: str, **kw: Any) -> tuple[Any, str, dict[str, Any]]:
    return ev(when, "message", sender="bot", text=text, **kw)


def agent(when: Any, who: str, text: str, **kw: Any) -> tuple[Any, str, dict[str, Any]]:
    return ev(when, "message", sender="agent", agent_id=who, text=text, **kw)


def close(when: Any, resolution: str | None, by: str) -> tuple[Any, str, dict[str, Any]]:
    fields: dict[str, Any] = {"resolved_by": by}
    if resolution:
        fields["resolution"] = resolution
    return ev(when, "conversation_closed", **fields)


def other(etype: str, when: str, **fields: Any) -> dict[str, Any]:
    """An event outside conversations (visits, goals, tickets, status, checks...)."""
    return {"type": etype, "ts": _utc(dt.datetime.fromisoformat(when)), **fields}


WELCOME = bot(1, "Hi! How can I help?", welcome=True)

# Older history: only for the returning-customer window (30 days before a period).
OLD = [
    *chat("o01", "2026-09-20T10:00:00+03:00", customer(5, "hi"), customer_id="u05", channel="web"),
    *chat("o02", "2026-10-01T12:00:00+03:00", customer(5, "hi"), customer_id="u13", channel="web"),
]

# The previous period (Thu 22 - Sat 24 October, summer time +03:00).
PREVIOUS = [
    # bot-only, resolved by the bot; u01 comes back on the 25th (retention, returning)
    *chat(
        "p01",
        "2026-10-24T10:00:00+03:00",
        WELCOME,
        customer(5, "opening hours?"),
        bot(6, "We are open 9-17."),
        close(60, "resolved", "bot"),
        customer_id="u01",
        channel="web",
    ),
    # bot-only, never closed; u02 does not come back
    *chat(
        "p02",
        "2026-10-24T12:00:00+03:00",
        WELCOME,
        customer(8, "price?"),
        bot(9, "From 10 EUR."),
        customer_id="u02",
        channel="messenger",
    ),
    # 23:50 local on the 24th (20:50 UTC): still the 24th; u03 is back on the 26th (m01),
    # a follow-up contact within 7 days, so p03 is not a first-contact resolution
    *chat(
        "p03",
        "2026-10-24T23:50:00+03:00",
        customer(5, "my parcel is late"),
        ev(20, "agent_joined", agent_id="ann"),
        agent(50, "ann", "Let me look"),
        close(240, "resolved", "agent"),
        customer_id="u03",
        channel="web",
    ),
]

# Sunday 25 October: 25 local hours.
SUNDAY = [
    # 00:10 summer time = 21:10 UTC on the 24th: belongs to the 25th
    *chat(
        "d01",
        "2026-10-25T00:10:00+03:00",
        WELCOME,
        customer(20, "where is my order"),
        bot(22, "It ships today."),
        close(120, "resolved", "customer"),
        customer_id="u01",
        channel="web",
        bot_id="shopbot",
    ),
    # the first 03:30 (summer time): two fallbacks, handoff, nobody comes; the customer is
    # still there 5 minutes later (no close): a missed chat (customer_left)
    *chat(
        "d02",
        "2026-10-25T03:30:00+03:00",
        WELCOME,
        customer(10, "I want to cancel"),
        bot(11, "Sorry, I didn't understand."),  # no flag: found by phrase
        customer(30, "cancel my order"),
        bot(31, "Hmm?", fallback=True),
        ev(32, "handoff_requested", reason="fallback"),
        customer(332, "hello??"),
        customer_id="u04",
        channel="web",
    ),
    # the second 03:20 (winter time, 01:20 UTC): live chat only, answered
    *chat(
        "d03",
        "2026-10-25T03:20:00+02:00",
        customer(5, "invoice copy please"),
        ev(20, "agent_joined", agent_id="bob", team="billing"),
        agent(45, "bob", "Sent!"),
        customer(50, "thanks"),
        agent(70, "bob", "Anything else?"),
        close(100, "resolved", "agent"),
        ev(130, "rating", kind="ces", score=4),
        customer_id="u05",
        channel="email",
    ),
    # proactive invitation 20 minutes before local midnight; welcome only, never engaged
    *chat(
        "d04",
        "2026-10-25T23:40:00+02:00",
        bot(2, "Can I help you choose a plan?", welcome=True),
        customer_id="u06",
        channel="web",
        initiated_by="business",
        page_url="/pricing",
    ),
]

# Monday 26 October.
MONDAY = [
    # 00:05 local = 22:05 UTC on the 25th: belongs to the 26th. Last bot turn a fallback.
    *chat(
        "d05",
        "2026-10-26T00:05:00+02:00",
        WELCOME,
        customer(10, "je veux parler"),
        bot(12, "Je n'ai pas compris."),
        customer_id="u07",
        channel="whatsapp",
    ),
    # live chat, transferred from ann to bob (not a first-contact resolution)
    *chat(
        "m01",
        "2026-10-26T09:00:00+02:00",
        customer(5, "still no parcel"),
        ev(15, "agent_joined", agent_id="ann", team="care"),
        agent(45, "ann", "Checking"),
        customer(100, "ok"),
        agent(130, "ann", "Moving you to billing"),
        ev(300, "transferred", agent_id="bob", from_agent_id="ann", team="billing"),
        agent(330, "bob", "Bob here, refund done"),
        close(600, "resolved", "agent"),
        customer_id="u03",
        channel="web",
    ),
    # ann takes a second chat while still in m01 (09:02:30 - 09:08): two chats at once
    *chat(
        "m18",
        "2026-10-26T09:02:00+02:00",
        customer(10, "quick question"),
        ev(30, "agent_joined", agent_id="ann"),
        agent(60, "ann", "Sure"),
        close(360, "resolved", "agent"),
        ev(400, "rating", kind="ces", score=5),
        customer_id="u29",
        channel="web",
    ),
    # bot -> handoff; offered to ann (declined), picked up by bob; canned answers, a private
    # note and a system message (neither counts); rated the next morning (late rating)
    *chat(
        "m02",
        "2026-10-26T10:00:00+02:00",
        WELCOME,
        customer(10, "need to change my address"),
        bot(11, "I can connect you to a person."),
        ev(12, "handoff_requested", reason="customer_request"),
        ev(13, "chat_offered", agent_id="ann"),
        ev(25, "chat_declined", agent_id="ann", reason="declined"),
        ev(30, "chat_offered", agent_id="bob"),
        ev(40, "agent_joined", agent_id="bob"),
        agent(70, "bob", "Hello! I can help", canned_response_id="greet"),
        customer(80, "new address is Street 1"),
        customer(85, "in Espoo"),
        agent(140, "bob", "Updated", canned_response_id="done"),
        agent(150, "bob", "VIP customer", private=True),
        ev(160, "message", sender="system", text="bob closed the chat"),
        close(170, "resolved", "agent"),
        ev("2026-10-27T09:00:00+02:00", "rating", kind="csat", score=5),
        ev("2026-10-27T09:00:01+02:00", "rating", kind="thumbs", score="up"),
        customer_id="u08",
        channel="web",
        bot_id="shopbot",
    ),
    # abandons inside the grace period: leaves 59 s after entering the queue
    *chat(
        "m03",
        "2026-10-26T11:00:00+02:00",
        customer(3, "hello?"),
        close(59, "unresolved", "customer"),
        customer_id="u09",
        channel="web",
    ),
    # leaves 61 s after entering the queue: just outside the grace (within 60 s, 60 included,
    # is not missed: docs/metrics.md "Boundaries"; tests/test_credit_rules.py has exactly 60 s),
    # so a missed chat; closed without a resolution
    *chat(
        "m04",
        "2026-10-26T11:10:00+02:00",
        customer(3, "anyone there?"),
        close(61, None, "customer"),
        customer_id="u10",
        channel="web",
    ),
    # bot -> handoff, the offer times out, the customer gives up 182 s later: missed (timeout)
    *chat(
        "m05",
        "2026-10-26T12:00:00+02:00",
        WELCOME,
        customer(6, "talk to a human"),
        bot(7, "Connecting you."),
        ev(8, "handoff_requested"),
        ev(9, "chat_offered", agent_id="ann"),
        ev(39, "chat_declined", agent_id="ann", reason="timeout"),
        customer(188, "forget it"),
        close(190, "unresolved", "customer"),
        customer_id="u11",
        channel="messenger",
    ),
    # live chat only, bob declines, the customer leaves after 2 minutes (no close): missed
    *chat(
        "m06",
        "2026-10-26T12:30:00+02:00",
        customer(2, "hi"),
        ev(5, "chat_offered", agent_id="bob"),
        ev(20, "chat_declined", agent_id="bob", reason="declined"),
        customer(120, "bye"),
        customer_id="u12",
        channel="web",
    ),
    # resolved, reopened the next morning, resolved again (reopen: not FCR)
    *chat(
        "m07",
        "2026-10-26T13:00:00+02:00",
        customer(4, "my card was charged twice"),
        ev(20, "agent_joined", agent_id="ann"),
        agent(40, "ann", "Refunded"),
        close(300, "resolved", "agent"),
        ev("2026-10-27T10:00:00+02:00", "conversation_reopened"),
        customer("2026-10-27T10:00:30+02:00", "still charged"),
        agent("2026-10-27T10:01:00+02:00", "ann", "Fixed for real now"),
        close("2026-10-27T10:10:00+02:00", "resolved", "agent"),
        ev("2026-10-27T10:11:00+02:00", "rating", kind="csat", score=4),
        ev("2026-10-27T10:11:01+02:00", "rating", kind="ces", score=2),
        customer_id="u13",
        channel="web",
    ),
    # escalated, rated badly
    *chat(
        "m08",
        "2026-10-26T14:00:00+02:00",
        customer(3, "legal complaint"),
        ev(30, "agent_joined", agent_id="bob"),
        agent(60, "bob", "Escalating to legal"),
        close(200, "escalated", "agent"),
        ev(210, "rating", kind="csat", score=1),
        ev(211, "rating", kind="ces", score=6),
        ev(212, "rating", kind="nps", score=3),
        customer_id="u14",
        channel="phone",
    ),
    # bot-only: an explicit fallback=False keeps a phrase-like text from counting, a flagged
    # fallback counts; resolved by the bot; CSAT 1 changed to 4 (the latest answer wins)
    *chat(
        "m09",
        "2026-10-26T15:00:00+02:00",
        WELCOME,
        customer(5, "size chart"),
        bot(6, "Sorry, I didn't understand which size, S or M?", fallback=False),
        customer(12, "M"),
        bot(13, "What?", fallback=True),
        customer(20, "medium"),
        bot(21, "Medium is 50 cm."),
        close(80, "resolved", "bot"),
        ev(100, "rating", kind="csat", score=1),
        ev(200, "rating", kind="csat", score=4),
        customer_id="u15",
        channel="web",
    ),
    # bot-only, resolved by the bot but thumbs down: resolved, not a success
    *chat(
        "m10",
        "2026-10-26T15:30:00+02:00",
        customer(1, "return policy?"),
        bot(3, "30 days."),
        close(60, "resolved", "bot"),
        ev(70, "rating", kind="thumbs", score="down"),
        customer_id="u16",
        channel="web",
    ),
    # bot-only, closed unresolved by the bot: not bot-resolved (closed with an outcome)
    *chat(
        "m11",
        "2026-10-26T16:00:00+02:00",
        customer(1, "what's my balance"),
        bot(2, "Please log in to see it."),
        close(50, "unresolved", "bot"),
        customer_id="u17",
        channel="web",
    ),
    # an agent takes over a bot chat without a handoff: the queue starts at the pickup
    *chat(
        "m12",
        "2026-10-26T16:30:00+02:00",
        customer(1, "hi"),
        bot(2, "Hello! How can I help?"),
        ev(30, "agent_joined", agent_id="ann"),
        agent(50, "ann", "Ann here, I'll take it"),
        customer(70, "great"),
        agent(90, "ann", "done"),
        close(100, "resolved", "agent"),
        customer_id="u18",
        channel="web",
    ),
    # proactive (initiated by the business), converts: signup 10 min later and a purchase
    # two days later are credited; an add_to_cart before the chat started is not
    *chat(
        "m13",
        "2026-10-26T17:00:00+02:00",
        ev(1, "agent_joined", agent_id="ann"),
        agent(2, "ann", "Need help choosing?"),
        customer(30, "yes, which plan?"),
        agent(60, "ann", "Pro plan"),
        close(120, "resolved", "customer"),
        customer_id="u19",
        channel="web",
        initiated_by="business",
    ),
    # bot-only, open; an add_to_cart the next day is credited, a purchase 9 days after
    # the end is outside the 7-day attribution window
    *chat(
        "m14",
        "2026-10-26T18:00:00+02:00",
        customer(1, "do you ship to Norway?"),
        bot(2, "Yes."),
        customer_id="u20",
        channel="web",
    ),
    # resolved by bob, but u21 is back the next morning (m15b): a follow-up contact
    *chat(
        "m15a",
        "2026-10-26T19:00:00+02:00",
        customer(2, "how do I reset my password"),
        ev(10, "agent_joined", agent_id="bob"),
        agent(25, "bob", "Link sent"),
        close(60, "resolved", "agent"),
        customer_id="u21",
        channel="web",
    ),
    # tags: urgent + low stay, "spam" is removed again
    *chat(
        "m16",
        "2026-10-26T20:00:00+02:00",
        customer(2, "bug report"),
        ev(10, "agent_joined", agent_id="ann"),
        agent(20, "ann", "Thanks, logged"),
        ev(25, "tag_added", tag="bug", category="product", priority="urgent"),
        ev(26, "tag_added", tag="ui", category="product", priority="low"),
        ev(27, "tag_added", tag="spam", category="misc", priority="high"),
        ev(28, "tag_removed", tag="spam"),
        close(100, "resolved", "agent"),
        customer_id="u22",
        channel="web",
    ),
    # no customer id and no channel; never closed: carl's stint ends at his last message
    *chat(
        "m17",
        "2026-10-26T21:00:00+02:00",
        customer(3, "hi"),
        ev(8, "agent_joined", agent_id="carl"),
        agent(10, "carl", "looks like spam", private=True),
        ev(15, "message", sender="system", text="carl joined"),
        agent(30, "carl", "Hello!", canned_response_id="greet"),
        agent(40, "carl", "Can I help?"),
        ev(41, "tag_added", tag="greeting", category="social", priority="high"),
    ),
]

# Tuesday 27 October.
TUESDAY = [
    # u21's follow-up: bot-only, resolved; a lead the same morning is credited here (the
    # customer's latest qualifying conversation), not to m15a
    *chat(
        "m15b",
        "2026-10-27T09:30:00+02:00",
        customer(1, "password link expired"),
        bot(2, "Here is a new link."),
        close(30, "resolved", "bot"),
        customer_id="u21",
        channel="web",
    ),
    # Swedish fallback phrase, handoff, the customer leaves 30 s later: not missed (grace)
    *chat(
        "t01",
        "2026-10-27T08:00:00+02:00",
        customer(1, "hej"),
        bot(2, "Jag förstod inte."),
        ev(10, "handoff_requested"),
        customer(40, "ok bye"),
        customer_id="u23",
        channel="web",
    ),
    *chat(
        "t02",
        "2026-10-27T11:00:00+02:00",
        customer(2, "hours on Sunday?"),
        ev(12, "agent_joined", agent_id="bob"),
        agent(20, "bob", "Closed on Sundays"),
        close(40, "resolved", "agent"),
        ev(50, "rating", kind="csat", score=5),
        ev(51, "rating", kind="ces", score=1),
        ev(52, "rating", kind="nps", score=10),
        ev(53, "rating", kind="uss", score=90),
        customer_id="u24",
        channel="web",
    ),
    # bot-only, 12 messages (the 11-20 bin)
    *chat(
        "t03",
        "2026-10-27T12:00:00+02:00",
        *[
            step
            for n in range(6)
            for step in (customer(10 * n + 1, f"question {n}"), bot(10 * n + 4, f"answer {n}"))
        ],
        close(90, "resolved", "bot"),
        ev(95, "rating", kind="nps", score=9),
        ev(96, "rating", kind="uss", score=70.5),
        ev(97, "rating", kind="thumbs", score="up"),
        customer_id="u25",
        channel="messenger",
    ),
    # slow first response (100 s, outside the 60 s SLA), 40 s of it after business hours
    # open at 09:00; the 40 s wait is all before 09:00
    *chat(
        "t04",
        "2026-10-27T08:59:00+02:00",
        customer(2, "question"),
        ev(40, "agent_joined", agent_id="ann"),
        agent(100, "ann", "answer"),
        close(200, "resolved", "agent"),
        ev(210, "rating", kind="csat", score=3),
        ev(211, "rating", kind="ces", score=3),
        ev(212, "rating", kind="nps", score=7),
        ev(213, "rating", kind="uss", score=85),
        customer_id="u26",
        channel="web",
    ),
    # the widget opened and nothing else: a conversation with no messages (no bot: it waits
    # for a human from its start, and ends at once, inside the grace period)
    *chat("t06", "2026-10-27T14:00:00+02:00", customer_id="u28", channel="web"),
    # 07:00: nobody online (ann and bob went offline last evening): a missed chat, no agent
    # online; no customer id
    *chat(
        "t08",
        "2026-10-27T07:00:00+02:00",
        customer(2, "hello?"),
        customer(200, "anyone?"),
        channel="web",
    ),
    # bob's stint 23:58:30 -> 00:03 crosses local midnight (chat hours cut by day)
    *chat(
        "t07",
        "2026-10-27T23:58:00+02:00",
        customer(5, "still open?"),
        ev(30, "agent_joined", agent_id="bob"),
        agent(60, "bob", "Yes"),
        close(300, "resolved", "agent"),
        ev(310, "rating", kind="ces", score=7),
        customer_id="u32",
        channel="web",
    ),
    # 23:30 local (21:30 UTC): 22 messages (over 20), bot-only
    *chat(
        "t05",
        "2026-10-27T23:30:00+02:00",
        *[
            step
            for n in range(11)
            for step in (customer(10 * n + 1, f"q{n}"), bot(10 * n + 3, f"a{n}"))
        ],
        customer_id="u27",
        channel="web",
    ),
]

# Wednesday 28 October, after the main period.
AFTER = [
    # u01 again, 3 days after d01: d01 had a follow-up contact
    *chat(
        "w01",
        "2026-10-28T10:00:00+02:00",
        customer(1, "hello again"),
        bot(2, "Welcome back."),
        customer_id="u01",
        channel="web",
    ),
    # everybody is offline since bob's 02:00: missed, no agent online; the visitor leaves
    *chat(
        "w02",
        "2026-10-28T11:00:00+02:00",
        customer(2, "is anyone there?"),
        customer(300, "never mind"),
        customer_id="u40",
        channel="web",
    ),
]

GOALS = [
    other("goal_completed", "2026-10-26T16:00:00+02:00", customer_id="u19", goal="add_to_cart"),
    other("goal_completed", "2026-10-26T17:10:00+02:00", customer_id="u19", goal="signup"),
    other(
        "goal_completed",
        "2026-10-28T12:00:00+02:00",
        customer_id="u19",
        goal="purchase",
        value=120,
        currency="EUR",
    ),
    other(
        "goal_completed", "2026-10-26T10:30:00+02:00", customer_id="u08", goal="purchase", value=30
    ),
    other("goal_completed", "2026-10-27T18:00:00+02:00", customer_id="u20", goal="add_to_cart"),
    other(
        "goal_completed", "2026-11-04T18:00:00+02:00", customer_id="u20", goal="purchase", value=50
    ),
    other("goal_completed", "2026-10-27T10:00:00+02:00", customer_id="u21", goal="lead"),
    other(
        "goal_completed", "2026-10-26T12:00:00+02:00", customer_id="u99", goal="purchase", value=9
    ),
]

VISITS = [
    other("visit_started", "2026-10-24T11:55:00+03:00", customer_id="u02", session_id="s1"),
    other("visit_started", "2026-10-25T23:35:00+02:00", customer_id="u06", session_id="s2"),
    other("page_view", "2026-10-25T23:36:00+02:00", customer_id="u06", page_url="/pricing"),
    other("visit_started", "2026-10-26T09:00:00+02:00", customer_id="u30", session_id="s3"),
    other("visit_started", "2026-10-26T10:00:00+02:00", customer_id="u30", session_id="s4"),
    other("visit_started", "2026-10-26T16:55:00+02:00", customer_id="u19", session_id="s5"),
    # u08 chatted on the 26th: a chatting visitor of the whole period, not of the 27th
    other("visit_started", "2026-10-27T08:00:00+02:00", customer_id="u08", session_id="s6"),
    other("visit_started", "2026-10-27T12:00:00+02:00", customer_id="u31", session_id="s7"),
    # m04's visitor (missed chat) views no page of that visit afterwards: a bounce; the
    # page view of another session does not count
    other("visit_started", "2026-10-26T11:00:00+02:00", customer_id="u10", session_id="s8"),
    other("page_view", "2026-10-26T11:30:00+02:00", customer_id="u10", session_id="s9"),
    # m06's visitor (missed chat) goes on browsing after it: no bounce; 20 min on site
    other("visit_started", "2026-10-26T12:10:00+02:00", customer_id="u12", session_id="s10"),
    other("page_view", "2026-10-26T12:25:00+02:00", customer_id="u12", session_id="s10"),
    other("page_view", "2026-10-26T12:35:00+02:00", customer_id="u12", session_id="s10"),
    # m10's visitor was last seen 90 minutes before the chat: the visit had ended
    other("visit_started", "2026-10-26T14:00:00+02:00", customer_id="u16", session_id="s11"),
    # w02's visitor
    other("visit_started", "2026-10-28T10:50:00+02:00", customer_id="u40", session_id="s12"),
    other("page_view", "2026-10-28T10:58:00+02:00", customer_id="u40", session_id="s12"),
]

TICKETS = [
    other("ticket_created", "2026-10-20T10:00:00+03:00", ticket_id="T5"),  # never resolved
    other("ticket_created", "2026-10-24T09:00:00+03:00", ticket_id="T1", category="billing"),
    other("ticket_resolved", "2026-10-26T09:00:00+02:00", ticket_id="T1"),  # 49 h
    other("ticket_created", "2026-10-25T12:00:00+02:00", ticket_id="T2", urgency="high"),
    # 2.5 h; the category comes with the resolution (it fills in what creation lacked)
    other("ticket_resolved", "2026-10-25T14:30:00+02:00", ticket_id="T2", category="shipping"),
    other(  # open
        "ticket_created",
        "2026-10-26T10:00:00+02:00",
        ticket_id="T3",
        category="billing",
        urgency="low",
    ),
    other(
        "ticket_created",
        "2026-10-27T15:00:00+02:00",
        ticket_id="T4",
        category="account",
        urgency="high",
    ),
    # after the period; a different category on the resolution: the creation's wins
    other("ticket_resolved", "2026-10-29T15:00:00+02:00", ticket_id="T4", category="billing"),
    other(  # creation unknown
        "ticket_resolved", "2026-10-27T09:00:00+02:00", ticket_id="T6", category="account"
    ),
]

KNOWLEDGE = [
    other("knowledge_item_added", "2026-10-24T12:00:00+03:00", item_id="k1", bot_id="shopbot"),
    other("knowledge_item_added", "2026-10-25T12:00:00+02:00", item_id="k2", bot_id="shopbot"),
    other("knowledge_item_added", "2026-10-26T12:00:00+02:00", item_id="k3", bot_id="shopbot"),
    other("knowledge_item_added", "2026-10-27T23:59:00+02:00", item_id="k4", bot_id="helpbot"),
]

HEALTH = [
    other("health_check", "2026-10-23T00:00:00+03:00", component="bot", up=True),
    other("health_check", "2026-10-24T12:00:00+03:00", component="widget", up=True),
    other("health_check", "2026-10-25T10:00:00+02:00", component="bot", up=False),  # 30 min
    other("health_check", "2026-10-25T10:30:00+02:00", component="bot", up=True),
    other("health_check", "2026-10-25T18:00:00+02:00", component="bot", up=True),  # still up
    other("health_check", "2026-10-26T23:50:00+02:00", component="widget", up=False),  # 20 min
    other("health_check", "2026-10-27T00:10:00+02:00", component="widget", up=True),
    # a full day's outage of both on the 28th
    other("health_check", "2026-10-28T00:00:00+02:00", component="bot", up=False),
    other("health_check", "2026-10-28T00:00:00+02:00", component="widget", up=False),
    other("health_check", "2026-10-29T00:00:00+02:00", component="bot", up=True),
    other("health_check", "2026-10-29T00:00:00+02:00", component="widget", up=True),
]

STATUS = [
    # bob: 20:00 -> 01:00 across the period start (1 h inside it)
    other("agent_status", "2026-10-24T20:00:00+03:00", agent_id="bob", status="online"),
    other("agent_status", "2026-10-25T01:00:00+03:00", agent_id="bob", status="offline"),
    # carl: 02:00 summer time -> 05:00 winter time: 4 real hours (3 on the wall clock)
    other("agent_status", "2026-10-25T02:00:00+03:00", agent_id="carl", status="online"),
    other("agent_status", "2026-10-25T05:00:00+02:00", agent_id="carl", status="offline"),
    # ann: 08-12 online, 12-12:30 away, 12:30-17:30 online (9 h)
    other("agent_status", "2026-10-26T08:00:00+02:00", agent_id="ann", status="online"),
    other("agent_status", "2026-10-26T12:00:00+02:00", agent_id="ann", status="away"),
    other("agent_status", "2026-10-26T12:30:00+02:00", agent_id="ann", status="online"),
    other("agent_status", "2026-10-26T17:30:00+02:00", agent_id="ann", status="offline"),
    other("agent_status", "2026-10-26T09:00:00+02:00", agent_id="bob", status="online"),
    other("agent_status", "2026-10-26T18:00:00+02:00", agent_id="bob", status="offline"),
    other("agent_status", "2026-10-27T08:00:00+02:00", agent_id="ann", status="online"),
    other("agent_status", "2026-10-27T16:00:00+02:00", agent_id="ann", status="offline"),
    # bob: 10:00 -> 02:00 the next night (14 h on the 27th, 2 h on the 28th)
    other("agent_status", "2026-10-27T10:00:00+02:00", agent_id="bob", status="online"),
    other("agent_status", "2026-10-28T02:00:00+02:00", agent_id="bob", status="offline"),
]

EVENTS = [
    *OLD,
    *PREVIOUS,
    *SUNDAY,
    *MONDAY,
    *TUESDAY,
    *AFTER,
    *GOALS,
    *VISITS,
    *TICKETS,
    *KNOWLEDGE,
    *HEALTH,
    *STATUS,
]

# --------------------------------------------------------------------------------------
# the queries compared, each run once for every metric

PERIOD = ("2026-10-25", "2026-10-27")  # the main period: 25 + 24 + 24 = 73 hours
QUERIES: dict[str, tuple[str, str, str | None]] = {
    "period": (*PERIOD, None),
    "dst_day": ("2026-10-25", "2026-10-25", None),
    "october": ("2026-10-01", "2026-10-31", None),
    "days": ("2026-10-23", "2026-10-28", "day"),
    "period_days": (*PERIOD, "day"),
    "empty": ("2026-09-01", "2026-09-15", None),
}
# other settings applied to history at query time (facts rebuilt with them)
OVERRIDES: dict[str, Any] = {
    "missed_chat_grace_seconds": 30,
    "sla_first_response_seconds": 30,
    "fcr_followup_days": 1,
    "attribution_days": 1,
    "returning_window_days": 2,
    "fallback_phrases": ["please log in"],
    # a split shift, from 28 October a day shift; the DST Sunday opens 02-05 on the wall
    # (4 real hours: 03:xx is shown twice); 27 October is closed
    "business_hours": {
        "schedules": [
            {"hours": {day: [["09:00", "12:00"], ["13:00", "17:00"]] for day in WEEK}},
            {"from": "2026-10-28", "hours": {day: [["08:00", "16:00"]] for day in WEEK}},
        ],
        "holidays": {"2026-10-25": [["02:00", "05:00"]], "2026-10-27": []},
    },
}

# each also run over the main period
SPLITS = ("channel", "initiated_by", "agent_id", "tag_category")

REF = Reference(EVENTS, **SETTINGS)
REF_OVERRIDDEN = Reference(EVENTS, **{**SETTINGS, **OVERRIDES})
ALL = tuple(sorted(METRICS))


def load_fixture(store, tmp) -> None:
    """The fixture's settings and events, imported into `store`."""
    for key, setting in SETTINGS.items():
        save_setting(store.con, key, setting)
    summary = load(store, EVENTS, tmp)
    assert summary.rejected == 0


def run_queries(run: Callable[..., Any]) -> dict[str, Any]:
    """Every query the checks below read, run through `run(metrics, start, end, **kw)`
    (the arguments of conftest.report without the store); also used for Spark."""
    results = {
        name: run(ALL, start, end, grain=grain) for name, (start, end, grain) in QUERIES.items()
    }
    results["overridden"] = run(ALL, *PERIOD, overrides=OVERRIDES)
    for dimension in SPLITS:
        splittable = [m for m in ALL if _splittable(m, dimension)]
        results[f"by_{dimension}"] = run(splittable, *PERIOD, dimensions=[dimension])
    results["dst_hours"] = run(
        ("conversations", "conversations_per_hour"), *QUERIES["dst_day"][:2], grain="hour"
    )
    tickets = [m for m in ALL if METRICS[m].applies_to("ticket_category")]
    for dimension in ("ticket_category", "ticket_urgency"):
        results[f"by_{dimension}"] = run(tickets, *PERIOD, dimensions=[dimension])
    results["billing_tickets"] = run(tickets, *PERIOD, filters={"ticket_category": ("billing",)})
    rates = [m for m in ALL if METRICS[m].unit == "rate" and _splittable(m, "agent_id")]
    results["bounds_by_agent"] = run(rates, *PERIOD, dimensions=["agent_id"], bounds=True)
    return results


@pytest.fixture(scope="module")
def engine(tmp_path_factory):
    """The fixture imported once; every query run once for all metrics."""
    tmp = tmp_path_factory.mktemp("reference")
    with open_store(tmp / "reference.duckdb") as store:
        load_fixture(store, tmp)
        yield run_queries(lambda *args, **kw: report(store, *args, **kw))


def same(got: Any, want: Any) -> bool:
    """Exact for counts and other integers; floats within rounding."""
    if want is None or got is None:
        return got is want
    if isinstance(want, int) and not isinstance(want, bool) and isinstance(got, int):
        return got == want
    return math.isclose(got, want, rel_tol=1e-9, abs_tol=1e-9)


def total(results, query: str) -> dict[str, Any]:
    rows = results[query].rows
    assert len(rows) == 1, rows
    return rows[0]


# --------------------------------------------------------------------------------------
# coverage


def test_every_metric_has_a_reference():
    missing = sorted(set(METRICS) - set(REFERENCE))
    assert not missing, f"metrics without a reference check in tests/reference.py: {missing}"
    stale = sorted(set(REFERENCE) - set(METRICS))
    assert not stale, f"reference for metrics the catalogue no longer has: {stale}"


def test_the_fixture_exercises_every_metric():
    """Each metric has a non-null, non-zero value somewhere in the compared queries, so the
    comparison below is not vacuous (channel_mix is read split by channel, tag_share by
    tag category)."""
    p = REF.period(*PERIOD)
    days = REF.days("2026-10-23", "2026-10-28")
    idle = [
        mid
        for mid in ALL
        if mid != "tag_share"  # read split by tag_category
        and all(REFERENCE[mid](REF, b) in (None, 0) for b in [p, *days])
    ]
    assert not idle, idle


# --------------------------------------------------------------------------------------
# every metric against the reference


@pytest.mark.parametrize("query", ["period", "dst_day", "october", "empty"])
@pytest.mark.parametrize("metric", ALL)
def test_metric_total_matches_reference(engine, metric, query):
    start, end, _ = QUERIES[query]
    got = total(engine, query)[metric]
    want = REF.value(metric, start, end)
    assert same(got, want), f"{metric} over {start}..{end}: engine {got!r}, reference {want!r}"


@pytest.mark.parametrize("query", ["days", "period_days"])
@pytest.mark.parametrize("metric", ALL)
def test_metric_daily_series_matches_reference(engine, metric, query):
    start, end, _ = QUERIES[query]
    got = [(row["bucket"], row[metric]) for row in engine[query].rows]
    want = REF.series(metric, start, end)
    assert [b for b, _ in got] == [b for b, _ in want]
    wrong = [(b, g, w) for (b, g), (_, w) in zip(got, want, strict=True) if not same(g, w)]
    assert not wrong, f"{metric} per day (bucket, engine, reference): {wrong}"


@pytest.mark.parametrize("metric", ALL)
def test_metric_with_other_settings_matches_reference(engine, metric):
    got = total(engine, "overridden")[metric]
    want = REF_OVERRIDDEN.value(metric, *PERIOD)
    assert same(got, want), f"{metric} with {OVERRIDES}: engine {got!r}, reference {want!r}"


# sources the reference can split: the period's conversations, and by agent also the agent's
# own stints, status intervals and declines
_CONVERSATION_SOURCES = ("conversations", "list:", "counts:", "business:")
_AGENT_SOURCES = ("stints:chat", "intervals:agent_status", "intervals:busy", "intervals:stints")


def _splittable(metric: str, dimension: str) -> bool:
    m = METRICS[metric]
    if not m.applies_to(dimension):
        return False
    needs = getattr(m.measure, "needs", None)
    if needs is not None:
        return all(_splittable(n, dimension) for n in needs)
    source = m.measure.source
    if dimension == "agent_id" and source in (*_AGENT_SOURCES, "events:chat_declined"):
        return True
    return source.startswith(_CONVERSATION_SOURCES)


@pytest.mark.parametrize(
    ("dimension", "metric"), [(d, m) for d in SPLITS for m in ALL if _splittable(m, d)]
)
def test_metric_split_matches_reference(engine, dimension, metric):
    got = {row[dimension]: row[metric] for row in engine[f"by_{dimension}"].rows}
    if metric == "channel_mix" and dimension == "channel":  # each channel's share
        n = Counter(c.channel for c in REF.cohort(REF.period(*PERIOD)))
        want = {k: v / n.total() for k, v in n.items()}
    elif metric == "tag_share" and dimension == "tag_category":  # of all the conversations
        cohort = REF.cohort(REF.period(*PERIOD))
        n = Counter(category for c in cohort for category in c.tag_categories)
        want = {k: v / len(cohort) for k, v in n.items()}
    else:
        want = REF.split(metric, *PERIOD, dimension)
    assert got.keys() == want.keys()
    wrong = {k: (got[k], want[k]) for k in want if not same(got[k], want[k])}
    assert not wrong, f"{metric} by {dimension} (engine, reference): {wrong}"


def test_per_agent_values_by_hand(engine):
    rows = {row["agent_id"]: row for row in engine["by_agent_id"].rows}
    # m01: ann 285 s until the transfer, bob 300 s after it; declines are the decliner's
    assert rows["ann"]["chats_declined"] == 2  # m02, m05
    assert rows["bob"]["chats_declined"] == 1  # m06
    assert rows["ann"]["online_hours"] == 17  # 9 on Monday + 8 on Tuesday
    assert rows["carl"]["online_hours"] == 4  # across the DST change
    # ann: m01 285, m18 330, m07 280, m12 70, m13 119, m16 90, t04 160 (7 chats)
    assert rows["ann"]["handle_time"] == pytest.approx((285 + 330 + 280 + 70 + 119 + 90 + 160) / 7)
    assert rows["ann"]["concurrency"] == pytest.approx((1334) / (1334 - 150))


def test_missed_chat_with_no_agent_online_and_a_bounce(engine):
    rows = {row["bucket"][:10]: row for row in engine["days"].rows}
    wednesday = rows["2026-10-28"]
    # w02 at 11:00: bob went offline at 02:00, ann and carl the day before
    assert wednesday["missed_chats_no_agent_online"] == 1
    assert wednesday["missed_chats_customer_left"] == 0
    assert wednesday["chat_bounces"] == 1  # no page view of its visit after the chat
    assert wednesday["time_on_site_before_chat"] == 600  # visit at 10:50, page at 10:58
    assert rows["2026-10-26"]["missed_chats_customer_left"] == 1  # m04: ann was online


def _by(engine, query: str, dimension: str) -> dict[Any, dict[str, Any]]:
    return {row[dimension]: row for row in engine[query].rows}


def test_tickets_by_category_and_urgency(engine):
    # T1 billing (resolved on the 26th after 49 h), T2 shipping from its resolution (2.5 h),
    # T3 billing open, T4 account (its creation's category wins), T6 account resolved with
    # its creation unknown, T5 no category (created on the 20th, open)
    by = _by(engine, "by_ticket_category", "ticket_category")
    assert by.keys() == {"billing", "shipping", "account", None}
    created = {k: r["tickets_created"] for k, r in by.items()}
    assert created == {"billing": 1, "shipping": 1, "account": 1, None: 0}
    resolved = {k: r["tickets_resolved"] for k, r in by.items()}
    assert resolved == {"billing": 1, "shipping": 1, "account": 1, None: 0}
    assert by["billing"]["ticket_resolution_time"] == 49 * 3600
    assert by["shipping"]["ticket_resolution_time"] == 2.5 * 3600
    assert by["account"]["ticket_resolution_time"] is None  # T6: creation unknown
    backlog = {k: r["ticket_backlog"] for k, r in by.items()}
    assert backlog == {"billing": 1, "shipping": 0, "account": 1, None: 1}
    assert sum(created.values()) == total(engine, "period")["tickets_created"]
    assert sum(backlog.values()) == total(engine, "period")["ticket_backlog"]

    by = _by(engine, "by_ticket_urgency", "ticket_urgency")
    assert {k: r["tickets_created"] for k, r in by.items()} == {"high": 2, "low": 1, None: 0}
    assert {k: r["tickets_resolved"] for k, r in by.items()} == {"high": 1, "low": 0, None: 2}
    assert by["high"]["ticket_resolution_time"] == 2.5 * 3600
    assert by[None]["ticket_resolution_time"] == 49 * 3600
    assert {k: r["ticket_backlog"] for k, r in by.items()} == {"high": 1, "low": 1, None: 1}

    billing = total(engine, "billing_tickets")
    assert billing["tickets_created"] == 1  # T3
    assert billing["tickets_resolved"] == 1  # T1
    assert billing["ticket_backlog"] == 1  # T3


def test_ticket_dimensions_apply_to_ticket_metrics_only():
    tickets = {m for m in ALL if METRICS[m].applies_to("ticket_urgency")}
    assert tickets == {
        "tickets_created",
        "tickets_resolved",
        "ticket_resolution_time",
        "ticket_resolution_time_median",
        "ticket_resolution_time_p90",
        "ticket_backlog",
    }
    assert not any(METRICS[m].applies_to("channel") for m in tickets)


def test_tag_metrics_by_tag_category(engine):
    by = _by(engine, "by_tag_category", "tag_category")
    # m16: bug (urgent) + ui (low), both product; m17: greeting (high), social
    assert by.keys() == {"product", "social"}
    assert by["product"]["tags_per_conversation"] == 2
    assert by["social"]["tags_per_conversation"] == 1
    assert by["product"]["high_priority_share"] == 1
    assert by["social"]["conversations"] == 1


def test_rates_carry_a_wilson_lower_bound(engine):
    rows = engine["bounds_by_agent"].rows
    rates = [m for m in engine["bounds_by_agent"].meta["metrics"]]
    checked = 0
    for row in rows:
        for mid in rates:
            lower = row[f"{mid}__lower"]
            if row[mid] is None or getattr(METRICS[mid].measure, "parts", None) is None:
                assert lower is None, (row["agent_id"], mid)
            else:
                assert 0 <= lower <= row[mid], (row["agent_id"], mid)
                checked += 1
    assert checked > 50
    ann = next(row for row in rows if row["agent_id"] == "ann")
    # by agent, FCR is credited to the agent who closed the chat (the last stint)
    closed = [
        c
        for c in REF.cohort(REF.period(*PERIOD))
        if c.closing_agent == "ann" and c.is_closed and c.resolution is not None
    ]
    resolved = [c for c in closed if c.first_contact_resolved]
    assert len(closed) > len(resolved) > 0
    assert ann["fcr_rate__lower"] == pytest.approx(wilson(len(resolved), len(closed)))


def wilson(hits: float, rows: int, z: float = 1.959963984540054) -> float:
    p = hits / rows
    centre = p + z * z / (2 * rows)
    spread = z * math.sqrt(p * (1 - p) / rows + z * z / (4 * rows * rows))
    return (centre - spread) / (1 + z * z / rows)


# --------------------------------------------------------------------------------------
# values worked out by hand (they check the reference as much as the engine)

# The period's 32 conversations: d01-d04 (Sunday), d05, m01-m18 with m15a (Monday; m15b is
# Tuesday's), m15b, t01-t08 (Tuesday). Bot-only: d01 d04 d05 m09 m10 m11 m14 m15b t03 t05.
HAND: dict[str, Any] = {
    "conversations": 32,
    "conversations_per_hour": 32 / 73,  # 25 + 24 + 24 hours
    "peak_hour": 9,  # 3 chats at 9, 11, 12 and 23 local: the earliest wins
    "peak_weekday": 0,  # Monday: 19
    "engaged_conversations": 30,  # all but d04 (welcome only) and t06 (nothing said)
    "unique_customers": 29,  # m17 and t08 have none, u21 has two
    "returning_customers": 3,  # u01 (p01), u03 (p03), u13 (o02, 1 Oct); not u05 (20 Sep)
    "bot_conversations": 15,
    "bot_only_conversations": 10,
    "human_conversations": 22,
    "handoff_rate": 5 / 15,  # d02 m02 m05 t01 (handoff), m12 (agent took over)
    "fallback_messages": 5,  # d02 x2 (phrase, flag), d05 (French), m09 (flag), t01 (Swedish)
    "fallback_rate": 5 / 39,
    "conversations_with_fallback": 4,
    "bot_resolved_conversations": 8,  # not d05 (fallback last), not m11 (closed unresolved)
    "bot_success_rate": 7 / 15,  # m10 was rated thumbs down
    "missed_chats": 5,  # d02, m04 (61 s), m05, m06, t08; not m03 (59 s), t01, t06
    "missed_rate": 5 / 22,
    "missed_chats_customer_left": 2,  # d02 (carl was online), m04 (ann was)
    "missed_chats_no_agent_online": 1,  # t08 at 07:00: everybody offline since last evening
    "missed_chats_timeout": 1,
    "missed_chats_declined": 1,
    "chats_declined": 3,  # m02, m05, m06
    "successful_chats": 12,  # not d01: bot-only, closed resolved by the customer
    "transfer_rate": 1 / 22,
    # 22 closed (m07's reopened chat is closed again), m04's close says no resolution: 21
    "escalation_rate": 1 / 21,
    "fcr_rate": 13 / 21,
    "not_fcr_reopened": 1,  # m07
    "not_fcr_transferred": 1,  # m01
    "not_fcr_escalated": 1,  # m08
    "not_fcr_followup": 2,  # d01 (w01 on the 28th), m15a (m15b)
    "not_fcr_unresolved": 4,  # m03, m05, m11 (unresolved), m08 (escalated); not m04 (unknown)
    "handled_conversations": 14,
    "active_agents": 3,
    "first_response_time_median": 42.5,  # 2 20 20 20 25 30 40 | 45 45 58 60 60 60 100
    "frt_within_sla": 13 / 14,  # all but t04 (100 s)
    "handle_time": 2394 / 14,  # = 171 s
    "time_saved": 8 * 171,
    # Monday's stints hold 1856 s, with ann in m01 and m18 at once for 150 s
    "chat_hours": (80 + 1856 + 278) / 3600,
    "busy_hours": (80 + 1706 + 278) / 3600,
    "online_hours": 45,  # bob 1 + carl 4 (Sunday), ann 9 + bob 9, ann 8 + bob 14
    "utilization": 2064 / 3600 / 45,
    "concurrency": 2214 / 2064,
    "tag_usage": 2 / 32,
    "tags_per_conversation": 3 / 32,  # bug + ui (spam removed), greeting
    "high_priority_share": 2 / 32,  # urgent (m16), high (m17)
    "canned_usage": 2 / 14,
    "canned_time_saved": 3 * 20,
    "csat_without_canned": (4 + 1 + 5 + 3) / 4,
    "csat": (5 + 4 + 1 + 4 + 5 + 3) / 6,  # m02's late 5, m09's changed answer 4
    "negative_feedback": 2,  # m08 (CSAT 1), m10 (thumbs down)
    "nps": 25,  # 10, 9 promoters; 7 passive; 3 detractor: (2 - 1) / 4
    "uss": (90 + 70.5 + 85) / 3,
    "ces": (4 + 2 + 6 + 5 + 1 + 3 + 7) / 7,
    "ces_1_share": 1 / 7,
    "ces_4_share": 1 / 7,
    "ces_7_share": 1 / 7,
    # (CES, CSAT) pairs (2, 4) (6, 1) (1, 5) (3, 3): means 3 and 3.25
    "ces_csat_correlation": -11 / math.sqrt(14 * 8.75),
    "positive_rating_rate": 2 / 3,
    "conversions": 4,  # m13 signup + purchase, m02 purchase, m15b lead
    "conversion_rate": 3 / 32,
    "goal_completion_rate": 4 / 32,  # and m14's add_to_cart; not m13's (before it started)
    "goal_completion_rate_add_to_cart": 1 / 32,
    "leads": 1,
    "revenue": 150,  # 120 + 30; u20's purchase 9 days later is not credited
    "time_to_conversion": (600 + 1800 + 1800) / 3,
    "cost_savings": 32 * 6 - (22 * 6 + 10 * 1),
    "visitors": 8,  # u06, u30, u19, u08, u31, u10, u12, u16
    "visitor_chat_rate": 6 / 8,  # u06, u19, u08, u10, u12, u16
    # d04 300 (23:35 -> 23:40), m13 300, m04 600, m06 1200; not m10 (its visit had ended)
    "time_on_site_before_chat": (300 + 300 + 600 + 1200) / 4,
    "time_on_site_before_chat_median": 450,
    "chat_bounces": 1,  # m04
    "chat_bounce_rate": 1 / 2,  # m04 of m04, m06
    "followup_conversions": 1,  # m15b's lead
    "followup_conversion_rate": 1 / 3,  # follow-ups d01 (of p01), m01 (of p03), m15b
    "downtime_incidents": 2,  # the bot on the 25th, the widget on the 26th
    "previous_customers": 3,
    "retention_rate": 2 / 3,  # u01, u03 came back; u02 did not
    "tickets_created": 3,
    "tickets_resolved": 3,
    "ticket_resolution_time": (49 * 3600 + 2.5 * 3600) / 2,  # T6 was never created here
    "ticket_backlog": 3,  # T5, T3, T4 (resolved only on the 29th)
    "knowledge_items_added": 3,
    "learning_rate": 3 / 32,
    "availability": (2 * 73 * 60 - 50) / (2 * 73 * 60),  # 30 + 20 minutes down
    "downtime_seconds": 50 * 60,
    # first response inside business hours (Mon-Fri 09-17): outside hours counts 0 s; t04
    # waited from 08:59 and got its answer at 09:00:40: 40 s
    "first_response_time_business_hours": (0 + 45 + 60 + 58 + 40 + 60 + 20 + 20 + 40) / 14,
    # 17 resolved chats; in business hours: six 0s, 30 40 60 80 90 100 140 170 360 600 and
    # m07's 18600 (Monday 13:00-17:00 + Tuesday 09:00-10:10); p90 at rank 14.4
    "resolution_time_business_hours_p90": 360 + 0.4 * (600 - 360),
}


@pytest.mark.parametrize("metric", sorted(HAND))
def test_hand_worked_values(engine, metric):
    want = HAND[metric]
    assert same(REF.value(metric, *PERIOD), want), "the reference disagrees with the hand value"
    got = total(engine, "period")[metric]
    assert same(got, want), f"{metric}: engine {got!r}, worked out by hand {want!r}"


# --------------------------------------------------------------------------------------
# the daylight-saving day and local midnight


def test_days_are_cut_at_local_midnight_on_a_25_hour_day(engine):
    rows = {row["bucket"][:10]: row for row in engine["days"].rows}
    # d01 (21:10 UTC on the 24th) is the 25th; d05 (22:05 UTC on the 25th) is the 26th;
    # p03 (23:50 local) stays on the 24th; t05/t07 (23:30, 23:58) stay on the 27th
    counts = {day: row["conversations"] for day, row in rows.items()}
    assert counts == {
        "2026-10-23": 0,
        "2026-10-24": 3,
        "2026-10-25": 4,
        "2026-10-26": 19,
        "2026-10-27": 9,
        "2026-10-28": 2,
    }
    per_hour = {day: row["conversations_per_hour"] for day, row in rows.items()}
    assert per_hour["2026-10-25"] == pytest.approx(4 / 25)  # 25 real hours
    assert per_hour["2026-10-26"] == pytest.approx(19 / 24)
    assert per_hour["2026-10-23"] == 0


def test_the_25_hour_day_as_a_period(engine):
    day = total(engine, "dst_day")
    assert day["conversations_per_hour"] == pytest.approx(4 / 25)
    assert day["peak_hour"] == 3  # 03:30 summer time and 03:20 winter time: both local 3
    assert day["online_hours"] == pytest.approx(5)  # carl's 02:00 -> 05:00 is 4 real hours
    assert day["availability"] == pytest.approx((50 - 0.5) / 50)  # 2 components x 25 h
    assert day["downtime_seconds"] == 1800
    hourly = engine["dst_hours"].rows
    assert sum(row["conversations"] for row in hourly) == 4


def test_a_late_rating_counts_on_the_day_the_conversation_started(engine):
    rows = {row["bucket"][:10]: row for row in engine["period_days"].rows}
    # Monday: m02's 5 (given on Tuesday morning), m07 4, m08 1, m09 4; Tuesday: t02 5, t04 3
    assert rows["2026-10-26"]["csat"] == pytest.approx((5 + 4 + 1 + 4) / 4)
    assert rows["2026-10-27"]["csat"] == pytest.approx((5 + 3) / 2)


def test_agent_time_is_cut_at_local_midnight(engine):
    rows = {row["bucket"][:10]: row for row in engine["days"].rows}
    # bob's t07 stint 23:58:30 -> 00:03 gives 90 s to Tuesday, 180 s to Wednesday, while
    # its handle time (270 s) belongs to Tuesday, the day the chat started
    assert rows["2026-10-27"]["chat_hours"] == pytest.approx((28 + 160 + 90) / 3600)
    assert rows["2026-10-28"]["chat_hours"] == pytest.approx(180 / 3600)
    assert rows["2026-10-28"]["handle_time"] is None
    # bob online 10:00 -> 02:00: 14 h on Tuesday, 2 h on Wednesday
    assert rows["2026-10-28"]["online_hours"] == pytest.approx(2)


# --------------------------------------------------------------------------------------
# an empty period: counts are 0, everything else is null


@pytest.mark.parametrize("metric", ALL)
def test_empty_period(engine, metric):
    got = total(engine, "empty")[metric]
    if METRICS[metric].unit == "count":
        assert got == 0, f"{metric}: a count over an empty period is 0, got {got!r}"
    elif metric in ("cost_savings", "conversations_per_hour"):
        # not null: 0 conversations over the period's 360 hours is 0 per hour, and the
        # catalogue's formula (conversations x agent cost - ...) saves 0 on no conversations
        assert got == 0
    else:
        assert got is None, f"{metric}: nothing to measure, so null (docs/metrics.md), got {got!r}"


# --------------------------------------------------------------------------------------
# consistency of series and totals

# Counts that are not sums over the period's parts.
NON_ADDITIVE = {
    "unique_customers": "a customer of two days is one customer of the period",
    "returning_customers": "distinct customers; the window moves with each day",
    "previous_customers": "the window before each day differs from the one before the period",
    "visitors": "distinct visitors",
    "active_agents": "distinct agents",
    "ticket_backlog": "a stock at the end of each bucket, not a flow",
}
ADDITIVE = [m for m in ALL if METRICS[m].unit == "count" and m not in NON_ADDITIVE]


def test_additive_set_is_meaningful():
    assert {"conversations", "messages", "missed_chats", "conversions", "online_hours"} <= set(
        ADDITIVE
    )
    assert set(NON_ADDITIVE) <= set(METRICS)
    p = REF.period(*PERIOD)
    assert all(REFERENCE[m](REF, p) for m in ADDITIVE), "every additive count is non-zero here"


@pytest.mark.parametrize("metric", ADDITIVE)
def test_daily_counts_add_up_to_the_period(engine, metric):
    """The engine's period count is the sum of the reference's daily counts."""
    daily = [ref[metric] for _, ref in _reference_rows()[:-1]]
    assert len(daily) == 3
    assert total(engine, "period")[metric] == pytest.approx(sum(daily), rel=1e-12)


def _bot_messages_by_day() -> dict[str, int]:
    """Bot messages of the conversations started each local day, straight from the events."""
    zone = ZoneInfo(ZONE)
    started = {
        e["conversation_id"]: dt.datetime.fromisoformat(e["ts"]).astimezone(zone).date()
        for e in EVENTS
        if e["type"] == "conversation_started"
    }
    out: Counter[str] = Counter()
    for e in EVENTS:
        if e["type"] == "message" and e["sender"] == "bot" and not e.get("private"):
            out[started[e["conversation_id"]].isoformat()] += 1
    return dict(out)


BOT_MESSAGES = _bot_messages_by_day()
HOURS = {"2026-10-25": 25, "2026-10-26": 24, "2026-10-27": 24}


def _parts(row: dict[str, Any], day: str | None) -> dict[str, tuple[Any, Any]]:
    """rate id -> (numerator, denominator) from other values of the same row (`day` None:
    the whole period)."""
    bot_messages = BOT_MESSAGES.get(day, 0) if day else sum(BOT_MESSAGES[d] for d in HOURS)
    nps_answers = row["nps_promoters"] + row["nps_passives"] + row["nps_detractors"]
    return {
        "fallback_rate": (row["fallback_messages"], bot_messages),
        "missed_rate": (row["missed_chats"], row["human_conversations"]),
        "engagement_rate": (row["engaged_conversations"], row["conversations"]),
        "handoff_rate": (
            row["bot_conversations"] - row["bot_only_conversations"],
            row["bot_conversations"],
        ),
        "containment_rate": (row["bot_only_conversations"], row["bot_conversations"]),
        "bot_resolution_rate": (row["bot_resolved_conversations"], row["bot_conversations"]),
        "learning_rate": (row["knowledge_items_added"], row["conversations"]),
        "conversations_per_customer": (row["conversations"], row["unique_customers"]),
        "returning_rate": (row["returning_customers"], row["unique_customers"]),
        "chats_per_agent": (row["handled_conversations"], row["active_agents"]),
        "chats_per_online_hour": (row["handled_conversations"], row["online_hours"]),
        "utilization": (row["busy_hours"], row["online_hours"]),
        "concurrency": (row["chat_hours"], row["busy_hours"]),
        "messages_per_conversation": (row["messages"], row["conversations"]),
        "conversations_per_hour": (row["conversations"], HOURS[day] if day else 73),
        "cost_savings_per_conversation": (row["cost_savings"], row["conversations"]),
        "nps": ((row["nps_promoters"] - row["nps_detractors"]) * 100, nps_answers),
    }


def _identities(row: dict[str, Any]) -> dict[str, Any]:
    """metric id -> its value recomputed from other values of the same row."""
    agent_cost = SETTINGS["cost_per_agent_conversation"]
    bot_cost = SETTINGS["cost_per_bot_conversation"]
    aht = row["handle_time"]
    return {
        "cost_savings": row["conversations"] * agent_cost
        - (row["human_conversations"] * agent_cost + row["bot_only_conversations"] * bot_cost),
        "time_saved": None if aht is None else row["bot_resolved_conversations"] * aht,
        "missed_chats": row["missed_chats_declined"]
        + row["missed_chats_timeout"]
        + row["missed_chats_no_agent_online"]
        + row["missed_chats_customer_left"],
        "containment_rate": None if row["handoff_rate"] is None else 1 - row["handoff_rate"],
        "conversations": row["human_conversations"] + row["bot_only_conversations"],
    }


def _ratio(numerator: Any, denominator: Any) -> Any:
    if numerator is None or denominator is None or denominator == 0:
        return None
    return numerator / denominator


_ANY_ROW = dict.fromkeys(METRICS, 1)
RATIOS = sorted(_parts(_ANY_ROW, "2026-10-26"))
IDENTITIES = sorted(_identities(_ANY_ROW))


def test_parts_name_real_metrics():
    assert set(RATIOS) | set(IDENTITIES) <= set(METRICS)


def _rows(engine) -> list[tuple[str | None, dict[str, Any]]]:
    """The daily rows of the main period, and its total row (day None)."""
    rows: list[tuple[str | None, dict[str, Any]]] = [
        (row["bucket"][:10], row) for row in engine["period_days"].rows
    ]
    return [*rows, (None, total(engine, "period"))]


class _ReferenceRow(dict):
    """Every metric of one bucket as the reference computes it, on first use."""

    def __init__(self, bucket: Any) -> None:
        super().__init__()
        self.bucket = bucket

    def __missing__(self, metric: str) -> Any:
        value = self[metric] = REFERENCE[metric](REF, self.bucket)
        return value


_REFERENCE_ROWS: list[tuple[str | None, _ReferenceRow]] = []


def _reference_rows() -> list[tuple[str | None, _ReferenceRow]]:
    """The rows of `_rows` as the reference computes them: the expected values of the
    consistency tests below (the engine's values are never their own expectation)."""
    if not _REFERENCE_ROWS:
        days = [(b.label.date().isoformat(), _ReferenceRow(b)) for b in REF.days(*PERIOD)]
        _REFERENCE_ROWS.extend([*days, (None, _ReferenceRow(REF.period(*PERIOD)))])
    return _REFERENCE_ROWS


def _paired(engine) -> list[tuple[str | None, dict[str, Any], _ReferenceRow]]:
    """(day, the engine's row, the reference's row) for each day and the period."""
    got, want = _rows(engine), _reference_rows()
    assert [day for day, _ in got] == [day for day, _ in want]
    return [(day, row, ref) for (day, row), (_, ref) in zip(got, want, strict=True)]


@pytest.mark.parametrize("metric", RATIOS)
def test_ratios_recompute_from_their_parts_on_every_row(engine, metric):
    """Each day and the period: the engine's rate is the reference's numerator over the
    reference's denominator."""
    for day, row, ref in _paired(engine):
        want = _ratio(*_parts(ref, day)[metric])
        assert same(row[metric], want), f"{metric} on {day or 'the period'}: {row[metric]!r}"


@pytest.mark.parametrize("metric", IDENTITIES)
def test_identities_hold_on_every_row(engine, metric):
    """Each day and the period: the engine's value is the identity applied to the
    reference's values of the other metrics."""
    for day, row, ref in _paired(engine):
        want = _identities(ref)[metric]
        assert same(row[metric], want), f"{metric} on {day or 'the period'}: {row[metric]!r}"


# rates whose parts are additive: the period's value recombines from the days' (distinct
# customers and agents do not add up over days)
RECOMBINE = [
    m
    for m in RATIOS
    if m not in ("conversations_per_customer", "returning_rate", "chats_per_agent")
]


@pytest.mark.parametrize("metric", RECOMBINE)
def test_period_value_recombines_from_the_daily_series(engine, metric):
    """One cohort rule: the engine's period rate = (sum of the days' numerators) / (sum of
    the days' denominators), the days' parts from the reference."""
    parts = [_parts(ref, day)[metric] for day, ref in _reference_rows()[:-1]]
    numerator = sum(n for n, _ in parts)
    denominator = sum(d for _, d in parts)
    assert same(total(engine, "period")[metric], _ratio(numerator, denominator))


@pytest.mark.parametrize("metric", sorted(VALUES))
def test_period_mean_is_the_weighted_mean_of_the_daily_means(engine, metric):
    """The engine's mean over the period = the days' means weighted by how many values each
    day holds (counts and daily means from the reference)."""
    weights = [len(VALUES[metric](REF, b)) for b in REF.days(*PERIOD)]
    means = [ref[metric] for _, ref in _reference_rows()[:-1]]
    pooled = sum(w * m for w, m in zip(weights, means, strict=True) if w)
    assert sum(weights) > 0
    assert same(total(engine, "period")[metric], pooled / sum(weights))


@pytest.mark.parametrize(
    "metric", ["cost_savings", "canned_time_saved", "revenue", "downtime_seconds"]
)
def test_money_and_seconds_totals_add_up_over_days(engine, metric):
    """The engine's period total is the sum of the reference's daily values."""
    daily = [ref[metric] for _, ref in _reference_rows()[:-1]]
    assert any(v is not None for v in daily)
    assert same(total(engine, "period")[metric], sum(v or 0 for v in daily))
