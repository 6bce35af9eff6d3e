"""LiveChat importer: list_archives pages (Agent Chat API v3.x) and REST API v2 `GET /chats`
pages, checked event by event and against KPIs worked out by hand.

The fixture `list_archives.json` is one saved `list_archives` page with five threads:

- A  QX1A0CHAT1:QX1A0THR01  group 2 (Billing), queued 40 s; Mia writes 09:00:05, Anna answers
     09:01:00 (and leaves a private note), transfers to Ben 09:03:00, Ben answers 09:04:00 and
     archives 09:05:00; tags billing, refund; thumbs up "Quick help" rated 09:05:30.
- B  QX1A0CHAT1:QX1A0THR02  Mia comes back (same chat, next thread), group 0, not queued; a
     welcome message at 14:00:01, Mia 14:00:10, Anna 14:02:10, Mia 14:03:00, Mia leaves
     14:10:00; thumbs down "Too slow" (v3.1-style {"value": ...} properties).
- C  QX1A0CHAT2:QX1A0THR03  a greeting (proactive) at 20:00:00, the customer 20:00:20, queued
     300 s and archived 20:05:00 with no agent available: a missed chat.
- D  QX1A0CHAT3:QX1A0THR04  ShopBot (a bot by the `bots` option) greets 11:00:00, the customer
     11:00:10, the bot fails 11:00:12, transfers to group Returns 11:00:30 (handoff), Ben
     answers 11:01:30, the customer sends a file 11:02:00 and archives 11:03:00.
- E  QX1A0CHAT4:QX1A0THR05  still active: the customer 08:00:05, Ben 08:00:35.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import orjson
import pytest
from typer.testing import CliRunner

from chatlens.cli import app
from chatlens.errors import InputError
from chatlens.importers import get_importer
from chatlens.ingest import import_file, rejected_path_for
from chatlens.store import open_store
from chatlens.store.facts import refresh_facts

from ..conftest import facts, value

DATA = Path(__file__).parent / "data" / "livechat"
ARCHIVES = DATA / "list_archives.json"
LATER = DATA / "list_archives_later.json"
REST = DATA / "rest_v2_chats.json"
BOT = "8d1e4f0c9a2b7e6d5c4b3a2910fedcba"
SETTINGS = {"bots": BOT, "groups": "0=General,2=Billing,5=Returns"}
MIA = "b7eff798-f8df-4364-8059-649c35c9ed0c"
ANNA, BEN = "anna@shop.example", "ben@shop.example"
A, B, C, D, E = (
    "QX1A0CHAT1:QX1A0THR01",
    "QX1A0CHAT1:QX1A0THR02",
    "QX1A0CHAT2:QX1A0THR03",
    "QX1A0CHAT3:QX1A0THR04",
    "QX1A0CHAT4:QX1A0THR05",
)


def converted(path: Path, **settings: str) -> list[dict[str, Any]]:
    """The events the importer makes of a file (every item must convert)."""
    records = list(get_importer("livechat", {**SETTINGS, **settings}).records(path))
    assert all(r.errors is None and r.data is not None for r in records)
    return [r.data for r in records if r.data is not None]


def of(events: list[dict[str, Any]], conversation: str) -> list[dict[str, Any]]:
    return [e for e in events if e.get("conversation_id") == conversation]


def load(store, path: Path, **settings: str):
    importer = get_importer("livechat", {**SETTINGS, **settings})
    summary = import_file(store, path, records=importer.records(path))
    refresh_facts(store)
    return summary


def count(store) -> int:
    return store.con.execute("SELECT count(*) FROM events").fetchone()[0]


def test_queued_chat_with_note_transfer_tags_and_rating_field_by_field():
    a = of(converted(ARCHIVES), A)
    prefix = "livechat:QX1A0CHAT1:QX1A0THR01"
    base = {"conversation_id": A, "customer_id": MIA}
    assert a == [
        {
            **base,
            "event_id": f"{prefix}:started",
            "type": "conversation_started",
            "ts": "2026-11-03T09:00:00+00:00",
            "channel": "web",
            "team": "Billing",  # thread access.group_ids [2], named by the groups option
            "initiated_by": "customer",
            "page_url": "https://shop.example/checkout",
        },
        # the prechat filled_form at 09:00:00.5 is not a turn: nothing
        {
            **base,
            "event_id": f"{prefix}:ev:QX1A0THR01_2",
            "type": "message",
            "ts": "2026-11-03T09:00:05+00:00",
            "sender": "customer",
            "text": "Hi, I was charged twice for my order",
        },
        {  # queues_duration 40 s after the thread's start: the pickup
            **base,
            "event_id": f"{prefix}:joined:{ANNA}",
            "type": "agent_joined",
            "ts": "2026-11-03T09:00:40+00:00",
            "agent_id": ANNA,
            "team": "Billing",
        },
        {
            **base,
            "event_id": f"{prefix}:ev:QX1A0THR01_3",
            "type": "message",
            "ts": "2026-11-03T09:01:00+00:00",
            "sender": "agent",
            "agent_id": ANNA,
            "text": "Hello! Let me check that for you.",
        },
        {  # visibility "agents": an internal note
            **base,
            "event_id": f"{prefix}:ev:QX1A0THR01_4",
            "type": "message",
            "ts": "2026-11-03T09:01:30+00:00",
            "sender": "agent",
            "agent_id": ANNA,
            "private": True,
            "text": "Duplicate charge, needs a refund from billing",
        },
        {
            **base,
            "event_id": f"{prefix}:ev:QX1A0THR01_5",
            "type": "message",
            "ts": "2026-11-03T09:02:00+00:00",
            "sender": "customer",
            "text": "Thanks",
        },
        {  # chat_transferred, text_vars.targets "Ben Cole" is the agent ben@shop.example
            **base,
            "event_id": f"{prefix}:transfer:QX1A0THR01_6",
            "type": "transferred",
            "ts": "2026-11-03T09:03:00+00:00",
            "agent_id": BEN,
            "from_agent_id": ANNA,
        },
        {
            **base,
            "event_id": f"{prefix}:ev:QX1A0THR01_7",
            "type": "message",
            "ts": "2026-11-03T09:04:00+00:00",
            "sender": "agent",
            "agent_id": BEN,
            "text": "Refund issued, you will see it in 3-5 days.",
        },
        {  # tags carry no time in the archives: the thread's end
            **base,
            "event_id": f"{prefix}:tag:billing",
            "type": "tag_added",
            "ts": "2026-11-03T09:05:00+00:00",
            "tag": "billing",
        },
        {
            **base,
            "event_id": f"{prefix}:tag:refund",
            "type": "tag_added",
            "ts": "2026-11-03T09:05:00+00:00",
            "tag": "refund",
        },
        {  # the manual_archived_agent system message; LiveChat records no resolution
            **base,
            "event_id": f"{prefix}:closed",
            "type": "conversation_closed",
            "ts": "2026-11-03T09:05:00+00:00",
            "reason": "manual_archived_agent",
        },
        {  # properties.rating, at the rating.chat_rated system message
            **base,
            "event_id": f"{prefix}:rating",
            "type": "rating",
            "ts": "2026-11-03T09:05:30+00:00",
            "kind": "thumbs",
            "score": 1,
            "comment": "Quick help",
        },
    ]


def test_welcome_greeting_bot_handoff_and_open_thread():
    events = converted(ARCHIVES)
    b = of(events, B)
    welcome = b[1]
    assert (welcome["type"], welcome["sender"], "agent_id" in welcome) == (
        "message",
        "system",
        False,
    )
    # not queued: Anna's pickup is known no earlier than her first word, 14:02:10
    assert [(e["type"], e["ts"][11:19], e.get("agent_id")) for e in b[3:5]] == [
        ("agent_joined", "14:02:10", ANNA),
        ("message", "14:02:10", ANNA),
    ]
    rating = next(e for e in b if e["type"] == "rating")
    # {"value": 0} unwrapped; no rating system message: the close time
    assert (rating["score"], rating["comment"], rating["ts"]) == (
        0,
        "Too slow",
        "2026-11-05T14:10:00+00:00",
    )
    c = of(events, C)
    assert c[0]["initiated_by"] == "business"  # thread properties lc2.greeting_id
    assert c[1]["sender"] == "system"  # the greeting, sent by Anna's account automatically
    assert [e["type"] for e in c] == [
        "conversation_started",
        "message",
        "message",
        "conversation_closed",
    ]  # nobody picked it up: no agent_joined despite queues_duration
    assert c[-1]["reason"] == "routing.archived_offline"
    d = of(events, D)
    assert [(e["type"], e["ts"][11:19], e.get("sender"), e.get("agent_id")) for e in d] == [
        ("conversation_started", "11:00:00", None, None),
        ("message", "11:00:00", "bot", None),
        ("message", "11:00:10", "customer", None),
        ("message", "11:00:12", "bot", None),
        ("handoff_requested", "11:00:30", None, None),  # the bot's chat_transferred
        ("agent_joined", "11:01:30", None, BEN),
        ("message", "11:01:30", "agent", BEN),
        ("message", "11:02:00", "customer", None),  # a file: a turn without text
        ("conversation_closed", "11:03:00", None, None),
    ]
    assert (d[1]["bot_id"], d[1]["welcome"], d[3]["text"]) == (
        BOT,
        True,
        "Sorry, I didn't understand. Talk to a human?",  # the rich message's first title
    )
    assert d[4]["reason"] == "transfer" and d[5]["team"] == "Returns"
    assert "text" not in d[7]
    e = of(events, E)  # active: no close
    assert [x["type"] for x in e] == [
        "conversation_started",
        "message",
        "agent_joined",
        "message",
    ]


def test_without_the_bots_option_a_bot_is_an_agent():
    d = of(converted(ARCHIVES, bots=""), D)
    # queues_duration 20 s, but the "agent" spoke first at 11:00:12: pickup then
    assert [(e["type"], e["ts"][11:19], e.get("agent_id"), e.get("team")) for e in d[3:6]] == [
        ("agent_joined", "11:00:12", BOT, "Returns"),
        ("message", "11:00:12", BOT, None),
        ("transferred", "11:00:30", None, "Returns"),  # to a group, from the "agent"
    ]
    assert d[5]["from_agent_id"] == BOT


def sent(n: int, at: str, author: str, text: str, to: str = "all") -> dict[str, Any]:
    """A v3.1 message event (`recipients`, not yet `visibility`)."""
    return {
        "id": f"T1_{n}",
        "created_at": at,
        "recipients": to,
        "type": "message",
        "text": text,
        "author_id": author,
    }


def note(n: int, at: str, subtype: str, **text_vars: str) -> dict[str, Any]:
    return {
        "id": f"T1_{n}",
        "created_at": at,
        "recipients": "all",
        "type": "system_message",
        "system_message_type": subtype,
        "text_vars": text_vars,
    }


def test_reassignment_added_agent_unnamed_transfer_and_silent_assignee(tmp_path):
    """A chat with a `threads` list; the first thread in v3.1 form (Unix `timestamp`,
    `recipients`), the second queued and handed to Ben, who never wrote."""
    agents = [("anna", "Anna Berg"), ("ben", "Ben Cole"), ("carl", "Carl Dahl")]
    users = [{"id": "c-1", "type": "customer", "name": "Client"}] + [
        {"id": f"{a}@shop.example", "type": "agent", "name": name} for a, name in agents
    ]
    day = "2026-11-15T"
    first = {
        "id": "T1",
        "timestamp": 1794729600,  # 2026-11-15T08:00:00Z
        "active": False,
        "events": [
            sent(1, day + "08:00:10.000000Z", "c-1", "Hello"),
            sent(2, day + "08:00:30.000000Z", ANNA, "Hi"),
            note(
                3,
                day + "08:04:00.000000Z",
                "routing.assigned_inactive",
                agent_added="Ben Cole",
                agent_removed="Anna Berg",
                duration="3",
            ),
            sent(4, day + "08:05:00.000000Z", BEN, "Ben here"),
            note(
                5, day + "08:06:00.000000Z", "agent_added", initiator="Ben Cole", agent="Carl Dahl"
            ),
            sent(6, day + "08:06:30.000000Z", "carl@shop.example", "I'll take it", "agents"),
            note(7, day + "08:07:00.000000Z", "chat_transferred", initiator="Ben Cole"),
            sent(8, day + "08:08:00.000000Z", "carl@shop.example", "Carl here"),
        ],
    }
    second = {
        "id": "T2",
        "created_at": day + "09:00:00.000000Z",
        "active": False,
        "user_ids": ["c-1", BEN],
        "queues_duration": 90,
        "events": [
            sent(1, day + "09:00:05.000000Z", "c-1", "Hello again"),
            note(2, day + "09:03:00.000000Z", "archived_customer_disconnected"),
        ],
    }
    path = tmp_path / "threads.json"
    path.write_bytes(
        orjson.dumps([{"id": "PJ0MRSHTDG", "users": users, "threads": [first, second]}])
    )
    events = converted(path)
    one = of(events, "PJ0MRSHTDG:T1")
    assert [
        (e["type"], e["ts"][11:19], e.get("agent_id"), e.get("from_agent_id"), e.get("private"))
        for e in one
        if e["type"] != "message" or e.get("sender") != "customer"
    ] == [
        ("conversation_started", "08:00:00", None, None, None),
        ("agent_joined", "08:00:30", ANNA, None, None),
        ("message", "08:00:30", ANNA, None, None),
        ("transferred", "08:04:00", BEN, ANNA, None),  # routing.assigned_inactive
        ("message", "08:05:00", BEN, None, None),  # Ben has the chat already: no join
        ("agent_joined", "08:06:00", "carl@shop.example", None, None),  # agent_added
        ("message", "08:06:30", "carl@shop.example", None, True),  # recipients "agents"
        ("transferred", "08:07:00", "carl@shop.example", BEN, None),  # no targets: next speaker
        ("message", "08:08:00", "carl@shop.example", None, None),
        ("conversation_closed", "08:08:00", None, None, None),  # no archive message: last event
    ]
    assert one[4]["reason"] == "routing.assigned_inactive" and "reason" not in one[-1]
    two = of(events, "PJ0MRSHTDG:T2")
    assert [(e["type"], e["ts"][11:19], e.get("agent_id")) for e in two] == [
        ("conversation_started", "09:00:00", None),
        ("message", "09:00:05", None),
        ("agent_joined", "09:01:30", BEN),  # queued 90 s, handed to Ben (user_ids)
        ("conversation_closed", "09:03:00", None),
    ]


def test_kpis_worked_out_by_hand(store):
    summary = load(store, ARCHIVES)
    assert (summary.read, summary.imported, summary.rejected) == (37, 37, 0)
    f = facts(store)
    # queue entry -> first agent message: A 09:00:00->09:01:00, B 14:00:00->14:02:10,
    # D handoff 11:00:30->11:01:30, E 08:00:00->08:00:35; C missed
    assert {k: f[k]["first_response_seconds"] for k in f} == {A: 60, B: 130, C: None, D: 60, E: 35}
    assert value(store, "first_response_time") == pytest.approx((60 + 130 + 60 + 35) / 4)
    assert value(store, "first_response_time_median") == pytest.approx(60)
    # queue entry -> agent_joined: A queued 40 s; B, D, E at the first word; C missed
    assert {k: f[k]["wait_seconds"] for k in f} == {A: 40, B: 130, C: None, D: 60, E: 35}
    assert value(store, "wait_time") == pytest.approx((40 + 130 + 60 + 35) / 4)
    # first message -> last message, or the close when later: A 09:00:05->09:05:00,
    # B 14:00:10->14:10:00 (the welcome is a system message), C 20:00:20->20:05:00,
    # D 11:00:00 (bot welcome)->11:03:00, E 08:00:05->08:00:35
    assert {k: f[k]["duration_seconds"] for k in f} == {A: 295, B: 590, C: 280, D: 180, E: 30}
    assert value(store, "conversation_duration") == pytest.approx((295 + 590 + 280 + 180 + 30) / 5)
    # all five have a human part; one (A) was transferred, the bot's transfer in D is a handoff
    assert value(store, "human_conversations") == 5
    assert value(store, "transfer_rate") == pytest.approx(1 / 5)
    assert (f[A]["transfers"], f[D]["transfers"], f[D]["handoff_at"] is not None) == (1, 0, True)
    assert value(store, "missed_chats") == 1 and f[C]["missed"]
    assert value(store, "missed_rate") == pytest.approx(1 / 5)
    # thumbs: A up, B down
    assert value(store, "positive_rating_rate") == pytest.approx(1 / 2)
    assert value(store, "negative_rating_rate") == pytest.approx(1 / 2)
    assert value(store, "csat") is None  # LiveChat's rating is thumbs, not a 1-5 score
    # stints: A Anna 09:00:40->transfer 09:03:00 (140) + Ben 09:03:00->close 09:05:00 (120);
    # B Anna 14:02:10->close 14:10:00; D Ben 11:01:30->close 11:03:00
    assert (f[A]["handle_seconds"], f[B]["handle_seconds"], f[D]["handle_seconds"]) == (
        260,
        470,
        90,
    )
    assert f[A]["agents"] == [ANNA, BEN] and f[A]["tags"] == ["billing", "refund"]
    assert (f[A]["team"], f[D]["team"], f[D]["bot_id"]) == ("Billing", "Returns", BOT)
    # messages: customer, bot and agent ones; notes, welcome/greeting (system) excluded
    assert value(store, "messages") == 4 + 3 + 1 + 5 + 2
    # no resolution in the archives: closed without one
    assert {f[k]["outcome"] for k in (A, B, D)} == {"closed"} and f[E]["outcome"] == "open"
    # no close says how it ended: first contact resolution is unknown, not 0 (the
    # resolution option, below, gives it)
    assert value(store, "fcr_rate") is None


def test_resolution_option_marks_answered_closes_resolved(store):
    load(store, ARCHIVES, resolution="resolved")
    f = facts(store)
    assert {k: (f[k]["resolution"], f[k]["resolved_by"]) for k in f} == {
        A: ("resolved", "agent"),
        B: ("resolved", "agent"),
        C: ("unresolved", None),  # nobody answered; its outcome stays missed
        D: ("resolved", "agent"),
        E: (None, None),  # still open
    }
    assert f[C]["outcome"] == "missed"
    # closed: A, B, C, D. First contact resolved: B and D (A was transferred and Mia came
    # back within 7 days; C unresolved)
    assert value(store, "fcr_rate") == pytest.approx(2 / 4)
    # resolution time, start -> resolved close: A 300 s, B 600 s, D 180 s
    assert value(store, "resolution_time") == pytest.approx((300 + 600 + 180) / 3)
    with pytest.raises(InputError, match="resolution='maybe': expected 'resolved'"):
        get_importer("livechat", {"resolution": "maybe"})
    with pytest.raises(InputError, match="groups: 'Sales' is not ID=NAME"):
        get_importer("livechat", {"groups": "Sales"})


def test_rest_api_v2_chats(store):
    events = converted(REST)
    one = of(events, "MH022RD0K5")
    visitor = "S1794823200.49b8940793"
    prefix = "livechat:MH022RD0K5"
    assert [(e["event_id"], e["type"], e["ts"][11:19]) for e in one] == [
        (f"{prefix}:started", "conversation_started", "10:00:00"),  # started - queue.duration
        (f"{prefix}:joined:john.doe@mycompany.com", "agent_joined", "10:00:20"),
        (f"{prefix}:msg:1794823220:john.doe@mycompany.com:0", "message", "10:00:20"),
        (f"{prefix}:msg:1794823240:visitor:0", "message", "10:00:40"),
        (f"{prefix}:file:1794823250:visitor:0", "message", "10:00:50"),
        (f"{prefix}:msg:1794823270:john.doe@mycompany.com:0", "message", "10:01:10"),
        (f"{prefix}:msg:1794823280:jane.doe@mycompany.com:0", "message", "10:01:20"),
        (f"{prefix}:rating", "rating", "10:02:30"),
        (f"{prefix}:tag:sales", "tag_added", "10:02:30"),
        (f"{prefix}:tag:support", "tag_added", "10:02:30"),
        (f"{prefix}:closed", "conversation_closed", "10:02:30"),
    ]
    assert all(e["customer_id"] == visitor for e in one)
    assert (one[0]["team"], one[0]["initiated_by"], one[0]["page_url"]) == (
        "General",
        "customer",
        "https://mycompany.com/orders",
    )
    assert (one[3]["sender"], one[3]["text"]) == ("customer", "Hi, my order is late")
    supervisor = one[6]
    assert (supervisor["sender"], supervisor["agent_id"], supervisor["private"]) == (
        "agent",
        "jane.doe@mycompany.com",
        True,
    )
    assert (one[7]["kind"], one[7]["score"]) == ("thumbs", 1)
    goal = next(e for e in events if e["type"] == "goal_completed")
    assert goal == {
        "event_id": f"{prefix}:goal:71",
        "type": "goal_completed",
        "ts": "2026-11-16T10:02:30+00:00",
        "customer_id": visitor,
        "goal": "purchase",
        "value": 199.0,
        "currency": "CZK",
    }
    two = of(events, "MH022RD0K6")  # `messages` only, auto invitation, not queued, rated bad
    assert two[0]["initiated_by"] == "business" and two[0]["team"] == "1"
    assert [(e["type"], e["ts"][11:19]) for e in two[1:4]] == [
        ("message", "12:00:05"),
        ("agent_joined", "12:00:45"),
        ("message", "12:00:45"),
    ]
    assert of(events, "MH022RD0K7") == []  # a left message (offline form) is not a chat
    load(store, REST)
    f = facts(store)
    # FRT: queue entry 10:00:00 -> "Hello" 10:00:20; 12:00:00 -> 12:00:45
    frt = {k: f[k]["first_response_seconds"] for k in f}
    assert frt == {"MH022RD0K5": 20, "MH022RD0K6": 45}
    assert value(store, "wait_time") == pytest.approx((20 + 45) / 2)
    assert value(store, "positive_rating_rate") == pytest.approx(1 / 2)
    assert f["MH022RD0K5"]["conversions"] == 1 and f["MH022RD0K5"]["revenue"] == 199
    assert f["MH022RD0K5"]["messages"] == 4  # the supervisor's message reaches agents only


@pytest.mark.parametrize("shape", ["array", "jsonl-pages", "envelope"])
def test_each_input_shape_and_reimport_adds_nothing(store, tmp_path, shape):
    page = orjson.loads(ARCHIVES.read_bytes())
    chats = page["chats"]
    if shape == "array":
        path = tmp_path / "chats.json"
        path.write_bytes(orjson.dumps(chats))
    elif shape == "jsonl-pages":  # each line one list_archives response, as paginated
        path = tmp_path / "pages.jsonl"
        first = {"chats": chats[:2], "found_chats": 5, "next_page_id": "MTUx"}
        second = {"chats": chats[2:], "found_chats": 5, "next_page_id": None}
        path.write_bytes(orjson.dumps(first) + b"\n" + orjson.dumps(second) + b"\n")
    else:
        path = ARCHIVES
    summary = load(store, path)
    assert (summary.imported, summary.rejected) == (37, 0)
    assert len(facts(store)) == 5
    again = load(store, path)
    assert (again.imported, again.duplicates) == (0, 37)


def test_overlapping_later_export_adds_only_what_is_new(store):
    load(store, ARCHIVES)
    later = load(store, LATER)
    # E is now closed: a customer message, the tag, the close and the rating are new;
    # D is the same thread again
    assert (later.imported, later.duplicates, later.rejected) == (4, 13, 0)
    assert count(store) == 41
    e = facts(store)[E]
    assert (e["is_closed"], e["tags"], e["thumbs"]) == (True, ["shipping"], 1)
    assert e["duration_seconds"] == 115  # 08:00:05 -> close 08:02:00
    assert value(store, "positive_rating_rate") == pytest.approx(2 / 3)


def test_bad_items_are_quarantined_naming_the_item_and_field(store, tmp_path):
    page = orjson.loads(ARCHIVES.read_bytes())
    chats = copy.deepcopy(page["chats"])
    chats[1]["thread"]["events"][2]["created_at"] = "yesterday"
    chats[2]["thread"] = {
        "id": "QX1A0THR03",
        "active": False,
        "restricted_access": ("You can't access threads older than 60 days on starter plan"),
        "created_at": "2026-11-10T20:00:00.000000Z",
    }
    chats[3]["thread"]["properties"] = {"rating": {"score": 5}}
    del chats[4]["thread"]["events"][1]["author_id"]
    path = tmp_path / "archives.json"
    path.write_bytes(orjson.dumps({"chats": chats, "found_chats": 5}))
    summary = load(store, path)
    assert summary.rejected == 4 and summary.imported == 12  # thread A still imports whole
    assert summary.first_errors == [
        "item 1 (chat QX1A0CHAT1 thread QX1A0THR02): field 'thread.events[2].created_at': "
        "not an ISO 8601 timestamp: 'yesterday'",
        "item 2 (chat QX1A0CHAT2 thread QX1A0THR03): field 'thread.restricted_access': the "
        "thread's events are not accessible: You can't access threads older than 60 days on "
        "starter plan",
        "item 3 (chat QX1A0CHAT3 thread QX1A0THR04): field 'thread.properties.rating.score': "
        "expected 0 (thumbs down) or 1 (thumbs up), got 5",
        "item 4 (chat QX1A0CHAT4 thread QX1A0THR05): field 'thread.events[1].author_id': missing",
    ]
    lines = rejected_path_for(path).read_bytes().splitlines()
    first = orjson.loads(lines[0])
    assert first["ref"] == "chat QX1A0CHAT1 thread QX1A0THR02"
    assert first["record"]["thread"]["id"] == "QX1A0THR02"  # the chat itself, to fix
    assert list(facts(store)) == [A]
    rest = tmp_path / "rest.json"
    broken = orjson.loads(REST.read_bytes())["chats"][:2]
    broken[1]["messages"][1]["timestamp"] = "noon"
    broken[0]["rate"] = "rated_excellent"
    rest.write_bytes(orjson.dumps(broken))
    summary = load(store, rest)
    assert summary.first_errors == [
        "item 0 (chat MH022RD0K5): field 'rate': expected rated_good, rated_bad or "
        "not_rated, got 'rated_excellent'",
        "item 1 (chat MH022RD0K6): field 'messages[1].timestamp': not a Unix time in "
        "seconds: 'noon'",
    ]
    neither = tmp_path / "other.json"
    neither.write_bytes(orjson.dumps([{"id": "X1", "threads_summary": []}]))
    summary = load(store, neither)
    assert summary.first_errors[0].startswith(
        "item 0 (chat X1): field 'thread': missing: expected a list_archives chat"
    )


def test_cli_imports_a_livechat_export(tmp_path):
    db = tmp_path / "s.duckdb"
    args = ["import", "--from", "livechat", str(ARCHIVES), "--db", str(db)]
    args += ["-o", f"bots={BOT}", "-o", "groups=2=Billing"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "read 37, imported 37, duplicates 0, rejected 0" in result.output
    with open_store(db) as store:
        teams = store.con.execute(
            "SELECT DISTINCT team FROM events WHERE team IS NOT NULL ORDER BY team"
        ).fetchall()
    assert teams == [("0",), ("5",), ("Billing",)]  # unnamed groups keep their id
