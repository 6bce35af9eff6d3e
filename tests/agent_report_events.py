"""Two weeks of a small support desk for the agent report tests (tests/web/test_agent_report*):
ann and cara in team sales, bob in team support, every chat handled by one agent, so each
figure below can be worked out by hand. Times are UTC (the workspace's zone); weeks start on
Monday 2 and Monday 9 November 2026.

week 1 (2-8 Nov)
  a1 Mon 2  08:00 ann   pickup 20 s, reply 30 s, canned at 100 s, closed resolved at 300 s;
                        csat 5, thumbs up; tag billing; customer u1 buys an hour later
  a2 Tue 3  08:00 ann   pickup 40 s, reply 60 s, closed unresolved at 600 s; csat 2, down
  b1 Mon 2  09:00 bob   offered to ann first (declined at 10 s); pickup 30 s, reply 90 s,
                        closed resolved at 400 s; csat 4; tags billing and bug
week 2 (9-15 Nov)
  a3 Mon 9  08:00 ann   pickup 10 s, reply 20 s, canned at 50 s, closed resolved at 200 s;
                        csat 4, thumbs up
  b2 Tue 10 08:00 bob   pickup 60 s, reply 120 s, closed resolved at 900 s; csat 3, down;
                        tag bug
  b3 Wed 11 08:00 bob   pickup 20 s, reply 40 s, canned at 60 s, closed resolved at 300 s
  c1 Thu 12 09:00 cara  pickup 20 s, reply 30 s, closed resolved at 300 s
  m1 Thu 12 08:00 team support, nobody answers; the customer leaves at 300 s (missed)

agent status (online -> offline): ann Mon 2 07-12, Tue 3 07-11, Mon 9 07-09; bob Mon 2 08-12,
Tue 10 07-10, Wed 11 07-09; cara Thu 12 08-10.
tickets: T1 created by ann Mon 2 10:00, resolved by ann Tue 3 10:00; T2 created by bob Wed 4
10:00, resolved by bob Tue 10 10:00; T3 created by ann Tue 10 12:00, resolved by bob Thu 12
12:00 (bob's team: support).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from tests.builders import chat, iso
from tests.serverkit import LiveServer, Seats, provision
from tests.waiting import wait_until

TEAMS = {"ann": "sales", "cara": "sales", "bob": "support"}
PERIOD = "from=2026-11-02&to=2026-11-15"


def _at(day: int, hour: int, seconds: float = 0) -> dt.datetime:
    return dt.datetime(2026, 11, day, hour, tzinfo=dt.UTC) + dt.timedelta(seconds=seconds)


def _canned(cid: str, agent: str, start: dt.datetime, after: float) -> dict[str, Any]:
    return {
        "type": "message",
        "ts": iso(start + dt.timedelta(seconds=after)),
        "conversation_id": cid,
        "sender": "agent",
        "agent_id": agent,
        "team": TEAMS[agent],
        "text": "Here is our guide",
        "canned_response_id": "guide",
    }


def _tag(cid: str, start: dt.datetime, tag: str) -> dict[str, Any]:
    at = iso(start + dt.timedelta(seconds=45))
    return {"type": "tag_added", "ts": at, "conversation_id": cid, "tag": tag}


def _agent_chat(cid: str, agent: str, start: dt.datetime, customer: str, **kw: Any) -> list:
    return chat(cid, start, agent=agent, customer=customer, team=TEAMS[agent], **kw)


def _status(agent: str, day: int, online: int, offline: int) -> list[dict[str, Any]]:
    return [
        {
            "type": "agent_status",
            "ts": iso(_at(day, hour)),
            "agent_id": agent,
            "team": TEAMS[agent],
            "status": status,
        }
        for hour, status in ((online, "online"), (offline, "offline"))
    ]


def _ticket(kind: str, ticket: str, agent: str, day: int, hour: int) -> dict[str, Any]:
    return {
        "type": f"ticket_{kind}",
        "ts": iso(_at(day, hour)),
        "ticket_id": ticket,
        "agent_id": agent,
        "team": TEAMS[agent],
        "category": "billing",
    }


def events() -> list[dict[str, Any]]:
    a1, a2, b1 = _at(2, 8), _at(3, 8), _at(2, 9)
    a3, b2, b3, c1, m1 = _at(9, 8), _at(10, 8), _at(11, 8), _at(12, 9), _at(12, 8)
    out = [
        *_agent_chat(
            "a1",
            "ann",
            a1,
            "u1",
            pickup_after=20,
            reply_after=30,
            close_after=300,
            ratings={"csat": 5, "thumbs": "up"},
        ),
        _canned("a1", "ann", a1, 100),
        _tag("a1", a1, "billing"),
        {
            "type": "goal_completed",
            "ts": iso(a1 + dt.timedelta(hours=1)),
            "customer_id": "u1",
            "goal": "purchase",
            "value": 40,
        },
        *_agent_chat(
            "a2",
            "ann",
            a2,
            "u2",
            pickup_after=40,
            reply_after=60,
            close_after=600,
            resolution="unresolved",
            ratings={"csat": 2, "thumbs": "down"},
        ),
        *_agent_chat(
            "b1",
            "bob",
            b1,
            "u3",
            pickup_after=30,
            reply_after=90,
            close_after=400,
            ratings={"csat": 4},
        ),
        {
            "type": "chat_offered",
            "ts": iso(b1 + dt.timedelta(seconds=5)),
            "conversation_id": "b1",
            "agent_id": "ann",
            "team": "sales",
        },
        {
            "type": "chat_declined",
            "ts": iso(b1 + dt.timedelta(seconds=10)),
            "conversation_id": "b1",
            "agent_id": "ann",
            "team": "sales",
            "reason": "declined",
        },
        _tag("b1", b1, "billing"),
        _tag("b1", b1, "bug"),
        *_agent_chat(
            "a3",
            "ann",
            a3,
            "u4",
            pickup_after=10,
            reply_after=20,
            close_after=200,
            ratings={"csat": 4, "thumbs": "up"},
        ),
        _canned("a3", "ann", a3, 50),
        *_agent_chat(
            "b2",
            "bob",
            b2,
            "u5",
            pickup_after=60,
            reply_after=120,
            close_after=900,
            ratings={"csat": 3, "thumbs": "down"},
        ),
        _tag("b2", b2, "bug"),
        *_agent_chat("b3", "bob", b3, "u6", pickup_after=20, reply_after=40, close_after=300),
        _canned("b3", "bob", b3, 60),
        *_agent_chat("c1", "cara", c1, "u7", pickup_after=20, reply_after=30, close_after=300),
        *chat(
            "m1",
            m1,
            customer="u8",
            team="support",
            handoff_after=0,
            close_after=300,
            resolution="unresolved",
        ),
        *_status("ann", 2, 7, 12),
        *_status("ann", 3, 7, 11),
        *_status("ann", 9, 7, 9),
        *_status("bob", 2, 8, 12),
        *_status("bob", 10, 7, 10),
        *_status("bob", 11, 7, 9),
        *_status("cara", 12, 8, 10),
        _ticket("created", "T1", "ann", 2, 10),
        _ticket("resolved", "T1", "ann", 3, 10),
        _ticket("created", "T2", "bob", 4, 10),
        _ticket("resolved", "T2", "bob", 10, 10),
        _ticket("created", "T3", "ann", 10, 12),
        _ticket("resolved", "T3", "bob", 12, 12),
    ]
    return out


def serve(store: Path) -> tuple[LiveServer, Seats]:
    """The real server over these events, with a manager (boss), ann's agent seat and a read
    key; returns once every conversation can be read."""
    seats = provision(
        store,
        {
            "default": {
                "users": {"boss": ("manager", None, None), "ann": ("agent", "ann", "sales")},
                "keys": {"in": "ingest", "read": "read"},
            }
        },
    )
    server = LiveServer(store).start()
    sent = events()
    assert server.client(seats.keys["in"]).post("/api/v1/events", json=sent).status_code == 200
    reader = server.client(seats.keys["read"])
    body = {"metrics": ["conversations"], "from": "2026-11-02", "to": "2026-11-15"}
    wait_until(
        lambda: reader.post("/api/v1/query", json=body).json()["rows"][0]["conversations"] == 8,
        what="the facts caught up",
    )
    return server, seats
