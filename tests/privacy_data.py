"""A small seeded workspace for the privacy tests: Aino (Finnish, the customer erased or
exported), Bo (Swedish, kept), agents ann and bob, a bot. Every personal string of Aino is
written out so the tests can search files for it."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import orjson

from chatlens.events import parse_event, to_row

AINO = "cust-aino-7731"
AINO_NAME = "Aino Virtanen"
AINO_EMAIL = "aino.virtanen@example.fi"
AINO_SESSION = "sess-aino-5521"
BO = "cust-bo-1180"
BO_NAME = "Bo Lindqvist"
BO_EMAIL = "bo.lindqvist@example.se"
SECRETS = (AINO, AINO_NAME, AINO_EMAIL, AINO_SESSION)
"""What must be found nowhere once Aino is erased."""


def at(minute: int, day: int = 3) -> str:
    return f"2026-11-{day:02d}T09:{minute:02d}:00Z"


def aino_events() -> list[dict[str, Any]]:
    """Two conversations of Aino (a bot fallback then an agent, and a rated one), a page view
    and a purchase."""
    c1 = {"conversation_id": "fi-100", "channel": "web"}
    c2 = {"conversation_id": "fi-101", "channel": "web"}
    me = {"customer_id": AINO}
    attrs = {"name": AINO_NAME, "email": AINO_EMAIL, "plan": "gold"}
    return [
        {"event_id": "a1", "type": "page_view", "ts": at(0), **me, "session_id": AINO_SESSION,
         "page_url": f"https://shop.example.fi/account?email={AINO_EMAIL}"},
        {"event_id": "a2", "type": "conversation_started", "ts": at(1), **c1, **me,
         "attrs": attrs, "page_url": "https://shop.example.fi/orders/4411"},
        {"event_id": "a3", "type": "message", "ts": at(2), **c1, **me, "sender": "customer",
         "text": f"Hei, olen {AINO_NAME}, sähköpostini on {AINO_EMAIL}"},
        {"event_id": "a4", "type": "message", "ts": at(3), **c1, "sender": "bot",
         "bot_id": "bot1", "text": "Sorry, I didn't understand."},
        {"event_id": "a5", "type": "handoff_requested", "ts": at(4), **c1},
        {"event_id": "a6", "type": "agent_joined", "ts": at(5), **c1, "agent_id": "ann"},
        {"event_id": "a7", "type": "message", "ts": at(6), **c1, "sender": "agent",
         "agent_id": "ann", "text": f"Hei {AINO_NAME}, autan mielelläni"},
        {"event_id": "a8", "type": "tag_added", "ts": at(7), **c1, "tag": "refund"},
        {"event_id": "a9", "type": "conversation_closed", "ts": at(8), **c1,
         "resolution": "resolved", "resolved_by": "agent", "agent_id": "ann"},
        {"event_id": "a10", "type": "rating", "ts": at(9), **c1, **me, "kind": "csat",
         "score": 4, "comment": f"Kiitos! t. {AINO_NAME}", "favourite_colour": "sininen"},
        {"event_id": "a11", "type": "conversation_started", "ts": at(20), **c2, **me},
        {"event_id": "a12", "type": "message", "ts": at(21), **c2, "sender": "customer",
         "text": f"Vielä yksi kysymys, {AINO_EMAIL}"},
        {"event_id": "a13", "type": "message", "ts": at(22), **c2, "sender": "bot",
         "bot_id": "bot1", "text": "Here is our refund policy."},
        {"event_id": "a14", "type": "conversation_closed", "ts": at(23), **c2,
         "resolution": "resolved", "resolved_by": "bot"},
        {"event_id": "a15", "type": "goal_completed", "ts": at(40), **me, "goal": "purchase",
         "value": 59.9, "currency": "EUR"},
    ]  # fmt: skip


def bo_events() -> list[dict[str, Any]]:
    """One conversation of Bo with agent bob: kept by Aino's erasure."""
    c = {"conversation_id": "sv-200", "channel": "web", "customer_id": BO}
    return [
        {"event_id": "b1", "type": "conversation_started", "ts": at(30), **c,
         "attrs": {"name": BO_NAME, "email": BO_EMAIL}},
        {"event_id": "b2", "type": "message", "ts": at(31), **c, "sender": "customer",
         "text": f"Hej, jag heter {BO_NAME}"},
        {"event_id": "b3", "type": "agent_joined", "ts": at(32), **c, "agent_id": "bob"},
        {"event_id": "b4", "type": "message", "ts": at(33), **c, "sender": "agent",
         "agent_id": "bob", "text": "Hej Bo, hur kan jag hjälpa?"},
        {"event_id": "b5", "type": "conversation_closed", "ts": at(34), **c,
         "resolution": "resolved", "resolved_by": "agent", "agent_id": "bob"},
        {"event_id": "b6", "type": "rating", "ts": at(35), **c, "kind": "csat", "score": 5,
         "comment": "Tack!"},
    ]  # fmt: skip


def late_aino_events() -> list[dict[str, Any]]:
    """Aino's events acknowledged but still in the journal (a crash left them there)."""
    c = {"conversation_id": "fi-102", "channel": "web", "customer_id": AINO}
    return [
        {"event_id": "a20", "type": "conversation_started", "ts": at(0, 4), **c},
        {
            "event_id": "a21",
            "type": "message",
            "ts": at(1, 4),
            **c,
            "sender": "customer",
            "text": f"Terveisin {AINO_NAME} ({AINO_EMAIL})",
        },
    ]


def write_journal(store: Path, events: list[dict[str, Any]]) -> Path:
    """Journal `events` beside the store as the server does (one JSON array per line)."""
    journal = store.with_suffix(".journal")
    rows = [to_row(parse_event(e)) for e in events]
    journal.write_bytes(orjson.dumps(rows) + b"\n")
    return journal


def hits(folder: Path, needles: tuple[str, ...] = SECRETS) -> dict[str, list[str]]:
    """Which files under `folder` hold each needle, as bytes, in any case."""
    found: dict[str, list[str]] = {}
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        data = path.read_bytes().lower()
        for needle in needles:
            if needle.lower().encode() in data:
                found.setdefault(needle, []).append(path.name)
    return found


def day(minute: int) -> dt.datetime:
    return dt.datetime.fromisoformat(at(minute))
