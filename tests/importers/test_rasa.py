"""The Rasa importer: trackers from the HTTP API and rows of the SQL tracker store, checked
event by event and through the KPIs they produce.

The fixtures (tests/importers/data/rasa/) are written in Rasa 3's own event format:
- trackers.json: `GET /conversations/{id}/tracker?include_events=ALL` of two senders, as a
  JSON array. Sender b7e0... (socketio) has two sessions: A1 answered by the bot alone, A2
  with an `nlu_fallback` answered by `utter_please_rephrase`, a core fallback
  (`action_default_fallback`, then `rewind`) and `action_handoff` followed by `pause`.
  Sender 412598763 (telegram) has B1 with a two-stage fallback (the affirmed message is
  logged a second time by the fallback loop) and `/restart`, then an empty session B2.
- tracker_5577001.json: one tracker, F1, opened by an intent triggered through the API
  (`EXTERNAL: delivery_delayed`): a proactive conversation.
- events.csv / events.jsonl: the SQL tracker store's `events` table (id order) of three
  REST senders, rows interleaved: C1 (greeting sent by a custom `action_session_start`
  before `session_started`), D1 (asks for a person, then declines) and E1 (greeting only).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from pathlib import Path
from typing import Any

import orjson
import pytest
from typer.testing import CliRunner

from chatlens.cli import app
from chatlens.importers import get_importer
from chatlens.importers.rasa import RasaImporter
from chatlens.ingest import import_file, rejected_path_for
from chatlens.store.facts import refresh_facts
from tests.conftest import facts, report

DATA = Path(__file__).parent / "data" / "rasa"
TRACKERS = DATA / "trackers.json"
PROACTIVE = DATA / "tracker_5577001.json"
TABLE_CSV = DATA / "events.csv"
TABLE_JSONL = DATA / "events.jsonl"

A, B, F, C, D, E = (
    "b7e0c5a2d1f34e6a",
    "412598763",
    "5577001",
    "c9d8e7f6a5b4",
    "d41f0e2c",
    "e8a7c6b5",
)
# conversation id = sender id : Unix time of the session's first event (action_session_start)
A1, A2 = f"{A}:1793613600.25", f"{A}:1793696400"
B1, F1 = f"{B}:1793800800", f"{F}:1793887200"
C1, D1, E1 = f"{C}:1793865600", f"{D}:1793865610", f"{E}:1793865700"

COLUMNS = [
    *("event_id", "type", "ts", "conversation_id", "customer_id", "bot_id", "channel"),
    *("sender", "text", "fallback", "welcome", "intent", "confidence", "reason", "initiated_by"),
]


def at(seconds: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(seconds, tz=dt.UTC)


def stored(store, where: str = "true") -> list[dict[str, Any]]:
    """The stored events in time order, each without its empty columns."""
    cur = store.con.execute(
        f"SELECT {', '.join(COLUMNS)} FROM events WHERE {where} ORDER BY ts, seq"
    )
    return [
        {k: v for k, v in zip(COLUMNS, row, strict=True) if v is not None} for row in cur.fetchall()
    ]


def load(store, path: Path, **options: str):
    importer = RasaImporter(options)
    return import_file(store, path, records=importer.records(path))


def started(conv: str, sender: str, seconds: float, channel: str | None = None, **extra):
    event = {
        "event_id": f"rasa:{conv}:started",
        "type": "conversation_started",
        "ts": at(seconds),
        "conversation_id": conv,
        "customer_id": sender,
        "bot_id": "rasa",
        "initiated_by": "customer",
        **extra,
    }
    if channel:
        event["channel"] = channel
    return event


def said(conv: str, sender: str, who: str, seconds: float, text: str, eid: str, **extra):
    event = {
        "event_id": f"rasa:{sender}:{eid}",
        "type": "message",
        "ts": at(seconds),
        "conversation_id": conv,
        "customer_id": sender,
        "sender": who,
        "text": text,
        **extra,
    }
    if who == "bot":
        event["bot_id"] = "rasa"
    return event


def customer(conv, sender, seconds, text, message_id, intent, confidence, channel):
    return said(
        conv,
        sender,
        "customer",
        seconds,
        text,
        f"user:{message_id}",
        intent=intent,
        confidence=confidence,
        channel=channel,
    )


def bot(conv, sender, seconds, text, stamp, **flags):
    return said(conv, sender, "bot", seconds, text, f"bot:{stamp}", **flags)


EXPECTED_TRACKERS = [
    # A1: greeting, an order question answered by a custom action, goodbye
    started(A1, A, 1793613600.25, "socketio"),
    customer(
        A1, A, 1793613600.5, "hi", "3c5e1f0a9b2d4c6e8f7a1b2c3d4e5f60", "greet", 0.9834, "socketio"
    ),
    bot(A1, A, 1793613601.5, "Hey! How can I help you?", "1793613601.5"),
    customer(
        A1,
        A,
        1793613610.0,
        "where is my order 4711",
        "8d1e2f3a4b5c6d7e8f9a0b1c2d3e4f51",
        "order_status",
        0.9121,
        "socketio",
    ),
    bot(A1, A, 1793613612.0, "Your order 4711 has shipped and arrives tomorrow.", "1793613612"),
    customer(
        A1,
        A,
        1793613620.0,
        "great, thanks!",
        "a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5",
        "thankyou",
        0.995,
        "socketio",
    ),
    bot(A1, A, 1793613620.5, "You're welcome! Bye \U0001f44b", "1793613620.5"),
    # A2: the answer to an nlu_fallback message, then the message sent by
    # action_default_fallback, are fallbacks; action_handoff hands off (the pause right
    # after it is the same handoff)
    started(A2, A, 1793696400.0, "socketio"),
    customer(
        A2,
        A,
        1793696405.0,
        "can I change the delivery address for it",
        "b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6",
        "nlu_fallback",
        0.7,
        "socketio",
    ),
    bot(
        A2,
        A,
        1793696405.5,
        "I'm sorry, I didn't quite understand that. Could you rephrase?",
        "1793696405.5",
        fallback=True,
    ),
    customer(
        A2,
        A,
        1793696420.0,
        "change address",
        "c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7",
        "change_address",
        0.81,
        "socketio",
    ),
    bot(A2, A, 1793696420.6, "Sorry, I can't help with that yet.", "1793696420.6", fallback=True),
    customer(
        A2,
        A,
        1793696430.0,
        "/human_handoff",
        "d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8",
        "human_handoff",
        1.0,
        "socketio",
    ),
    {
        "event_id": f"rasa:{A}:handoff:1793696430.2",
        "type": "handoff_requested",
        "ts": at(1793696430.2),
        "conversation_id": A2,
        "customer_id": A,
        "reason": "action_handoff",
    },
    bot(A2, A, 1793696430.5, "I'm connecting you with a member of our team\u2026", "1793696430.5"),
    # B1: the two-stage fallback's question is a fallback; the affirmed message is kept
    # once; the empty session after /restart is no conversation
    started(B1, B, 1793800800.0, "telegram"),
    customer(
        B1, B, 1793800802.0, "hello", "e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9", "greet", 0.97, "telegram"
    ),
    bot(B1, B, 1793800803.0, "Hey! How can I help you?", "1793800803"),
    customer(
        B1,
        B,
        1793800810.0,
        "asdfgh",
        "a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1",
        "nlu_fallback",
        0.7,
        "telegram",
    ),
    bot(B1, B, 1793800811.0, "Did you mean 'Track an order'?", "1793800811", fallback=True),
    customer(
        B1,
        B,
        1793800815.0,
        "/order_status",
        "f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0",
        "order_status",
        1.0,
        "telegram",
    ),
    bot(B1, B, 1793800816.0, "Please tell me your order number.", "1793800816"),
    customer(
        B1,
        B,
        1793800830.0,
        "/restart",
        "b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2",
        "restart",
        1.0,
        "telegram",
    ),
]

EXPECTED_PROACTIVE = [
    # the triggered intent is no customer message: the bot's message opens the conversation
    started(F1, F, 1793887200.0, "telegram", initiated_by="business"),
    bot(
        F1,
        F,
        1793887201.0,
        "Heads up: your parcel is one day late. We apologise for the wait.",
        "1793887201",
        welcome=True,
    ),
    customer(
        F1,
        F,
        1793887260.0,
        "ok, thanks for letting me know",
        "d9e0f1a2b3c4d5e6f7a8b9c0d1e2f3a4",
        "thankyou",
        0.96,
        "telegram",
    ),
    bot(F1, F, 1793887260.4, "You're welcome! Bye \U0001f44b", "1793887260.4"),
]

GREETING = "Hi, I'm Shoppy. Ask me about orders or returns."
EXPECTED_TABLE = [
    # C1: the greeting sent by action_session_start (before session_started) is a welcome
    started(C1, C, 1793865600.0, "rest"),
    bot(C1, C, 1793865600.2, GREETING, "1793865600.2", welcome=True),
    started(D1, D, 1793865610.0, "rest"),
    customer(
        D1,
        D,
        1793865612.0,
        "can I talk to a person",
        "e0f1a2b3c4d5e6f7a8b9c0d1e2f3a4b5",
        "human_handoff",
        0.97,
        "rest",
    ),
    bot(D1, D, 1793865613.0, "Do you want me to connect you with an agent?", "1793865613"),
    customer(
        D1, D, 1793865620.0, "no thanks", "f1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6", "deny", 0.95, "rest"
    ),
    bot(D1, D, 1793865620.5, "What else can I help you with?", "1793865620.5"),
    customer(
        C1,
        C,
        1793865630.0,
        "I want to return my shoes",
        "a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7",
        "return_request",
        0.88,
        "rest",
    ),
    bot(
        C1,
        C,
        1793865631.0,
        "You can return items within 30 days. Your return label: https://shop.example/returns",
        "1793865631",
    ),
    # E1: a greeting nobody answered (no user message, so no channel)
    started(E1, E, 1793865700.0),
    bot(E1, E, 1793865700.2, GREETING, "1793865700.2", welcome=True),
]


# -- each input shape, event by event -------------------------------------------------------------


def test_tracker_array_gives_one_conversation_per_session(store):
    summary = load(store, TRACKERS)
    assert (summary.read, summary.imported, summary.rejected) == (23, 23, 0)
    assert stored(store) == EXPECTED_TRACKERS


def test_single_tracker_file_with_a_proactive_message(store):
    summary = load(store, PROACTIVE)
    assert (summary.imported, summary.rejected) == (4, 0)
    assert stored(store) == EXPECTED_PROACTIVE


def test_trackers_one_per_line(store, tmp_path):
    path = tmp_path / "trackers.jsonl"
    trackers = orjson.loads(TRACKERS.read_bytes())
    path.write_bytes(b"".join(orjson.dumps(t) + b"\n" for t in trackers))
    assert load(store, path).imported == 23
    assert stored(store) == EXPECTED_TRACKERS


@pytest.mark.parametrize("path", [TABLE_CSV, TABLE_JSONL], ids=["csv", "jsonl"])
def test_sql_table_rows_grouped_into_conversations(store, path):
    summary = load(store, path)
    assert (summary.read, summary.imported, summary.rejected) == (11, 11, 0)
    assert stored(store) == EXPECTED_TABLE


def test_sql_table_as_json_array(store, tmp_path):
    # `sqlite3 -json rasa.db "SELECT * FROM events ORDER BY id"` writes a JSON array of rows
    rows = [json.loads(line) for line in TABLE_JSONL.read_text().splitlines()]
    path = tmp_path / "events.json"
    path.write_text(json.dumps(rows))
    assert load(store, path).imported == 11
    assert stored(store) == EXPECTED_TABLE


def test_sql_rows_are_let_go_of_sender_by_sender():
    """A sender's conversation is yielded as soon as its last row is read: D (rows 5-15)
    comes before C (rows 1-4 and 16-19), E last; only open sessions are held."""
    importer = RasaImporter()
    order = []
    for record in importer.records(TABLE_CSV):
        conv = record.data["conversation_id"]
        if conv not in order:
            order.append(conv)
    assert order == [D1, C1, E1]


def test_tracker_and_sql_dump_of_the_same_events_agree(store, tmp_path):
    """Ids come from Rasa's own data (sender, message id, event time), so the SQL table
    holding the same events as an API tracker adds nothing."""
    load(store, TRACKERS)
    tracker_a = orjson.loads(TRACKERS.read_bytes())[0]
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(
        ["id", "sender_id", "type_name", "timestamp", "intent_name", "action_name", "data"]
    )
    for n, event in enumerate(tracker_a["events"], start=1):
        intent = (event.get("parse_data") or {}).get("intent", {}).get("name")
        writer.writerow(
            [
                n,
                A,
                event["event"],
                event["timestamp"],
                intent or "",
                event.get("name") or "",
                json.dumps(event),
            ]
        )
    path = tmp_path / "events.csv"
    path.write_text(buf.getvalue())
    summary = load(store, path)
    assert (summary.read, summary.imported, summary.duplicates) == (15, 0, 15)


# -- re-imports -----------------------------------------------------------------------------------


def test_reimport_adds_nothing(store):
    load(store, TRACKERS)
    load(store, TABLE_CSV)
    again = load(store, TRACKERS)
    assert (again.imported, again.duplicates) == (0, 23)
    again = load(store, TABLE_CSV)
    assert (again.imported, again.duplicates) == (0, 11)


def test_overlapping_later_export_adds_only_what_is_new(store, tmp_path):
    tracker = orjson.loads(TRACKERS.read_bytes())[0]
    early = dict(tracker, events=tracker["events"][:29])  # A2 up to its rewind
    first = tmp_path / "early.json"
    first.write_bytes(orjson.dumps(early))
    assert load(store, first).imported == 12  # A1 (7) and A2 so far (5)
    later = tmp_path / "later.json"
    later.write_bytes(orjson.dumps(tracker))
    summary = load(store, later)
    # new: the handoff request, the /human_handoff message and the bot's answer
    assert (summary.imported, summary.duplicates) == (3, 12)
    assert stored(store) == EXPECTED_TRACKERS[:15]


# -- bad input ------------------------------------------------------------------------------------


def test_a_malformed_event_rejects_its_session_only(store, tmp_path):
    trackers = orjson.loads(TRACKERS.read_bytes())
    trackers[0]["events"][21]["timestamp"] = "soon"  # the first user message of A2
    trackers.append({"events": []})  # no sender id
    path = tmp_path / "trackers.json"
    path.write_bytes(orjson.dumps(trackers))
    summary = load(store, path)
    assert (summary.imported, summary.rejected) == (23 - 8, 2)
    assert summary.first_errors == [
        f"item 0 (sender {A}, session at events[17]): field 'events[21].timestamp': "
        "not a Unix time in seconds: 'soon'",
        "item 2: field 'sender_id': missing",
    ]
    conversations = {e["conversation_id"] for e in stored(store)}
    assert conversations == {A1, B1}
    entries = [orjson.loads(line) for line in rejected_path_for(path).read_bytes().splitlines()]
    assert entries[0]["item"] == 0 and entries[0]["record"]["sender_id"] == A  # the tracker


def test_a_malformed_row_rejects_its_session_and_rows_without_sender_stand_alone(store, tmp_path):
    lines = TABLE_JSONL.read_text().splitlines()
    row = json.loads(lines[11])  # line 12: D's "no thanks"
    row["data"] = row["data"][:40]  # cut short
    lines[11] = json.dumps(row)
    lines.append(json.dumps({"id": 10300, "sender_id": None, "type_name": "user", "data": "{}"}))
    path = tmp_path / "events.jsonl"
    path.write_text("\n".join(lines) + "\n")
    summary = load(store, path)
    assert (summary.imported, summary.rejected) == (11 - 5, 2)
    assert summary.first_errors[0].startswith(
        f"line 12 (sender {D}, session at line 5): field 'data': not valid JSON"
    )
    assert summary.first_errors[1] == "line 24: field 'sender_id': missing"
    assert {e["conversation_id"] for e in stored(store)} == {C1, E1}
    entry = orjson.loads(rejected_path_for(path).read_bytes().splitlines()[0])
    assert entry["line"] == 12 and entry["record"]["id"] == 10242  # the row to fix


# -- options --------------------------------------------------------------------------------------


def test_handoff_intent_and_bot_id_options(store):
    load(store, TRACKERS, handoff_intent="human_handoff", bot_id="shop-assistant")
    load(store, TABLE_CSV, handoff_intent="human_handoff", bot_id="shop-assistant")
    handoffs = stored(store, "type = 'handoff_requested'")
    assert [(h["conversation_id"], h["ts"], h["reason"]) for h in handoffs] == [
        (A2, at(1793696430.0), "customer_request"),  # the action right after adds none
        (D1, at(1793865612.0), "customer_request"),  # asked, even if declined later
    ]
    bots = {e["bot_id"] for e in stored(store, "bot_id IS NOT NULL")}
    assert bots == {"shop-assistant"}


def test_other_shapes_of_rasa_history(store, tmp_path):
    """Rasa 1.x trackers have no session events (a restart alone starts over); a custom
    fallback action can be named (all its messages are fallbacks); `pause` hands off;
    `agent` events are a human's messages."""
    events = [
        {"event": "action", "timestamp": 1793700000.0, "name": "action_listen"},
        {
            "event": "user",
            "timestamp": 1793700001.0,
            "text": "hi",
            "parse_data": {"intent": {"name": "greet", "confidence": 0.9}},
        },
        {"event": "bot", "timestamp": 1793700002.0, "text": "Hello!"},
        {"event": "action", "timestamp": 1793700005.0, "name": "action_restart"},
        {"event": "restart", "timestamp": 1793700005.5},
        {"event": "action", "timestamp": 1793700006.0, "name": "action_listen"},
        {
            "event": "user",
            "timestamp": 1793700010.0,
            "text": "blorp",
            "parse_data": {"intent": {"name": "out_of_scope", "confidence": 0.8}},
        },
        {"event": "action", "timestamp": 1793700010.5, "name": "action_my_fallback"},
        {"event": "bot", "timestamp": 1793700011.0, "text": "Hmm?"},
        {"event": "bot", "timestamp": 1793700011.0, "text": "Try 'order status'."},
        {"event": "pause", "timestamp": 1793700030.0},
        {"event": "agent", "timestamp": 1793700040.0, "text": "Hi, Sam here."},
    ]
    path = tmp_path / "old.json"
    path.write_text(json.dumps({"sender_id": "u1", "events": events}))
    load(store, path, fallback_actions="action_my_fallback")
    got = [
        (e["conversation_id"], e["type"], e.get("sender"), e.get("fallback"), e["event_id"])
        for e in stored(store)
    ]
    assert got == [
        ("u1:1793700000", "conversation_started", None, None, "rasa:u1:1793700000:started"),
        ("u1:1793700000", "message", "customer", None, "rasa:u1:user:1793700001"),
        ("u1:1793700000", "message", "bot", None, "rasa:u1:bot:1793700002"),
        ("u1:1793700006", "conversation_started", None, None, "rasa:u1:1793700006:started"),
        ("u1:1793700006", "message", "customer", None, "rasa:u1:user:1793700010"),
        ("u1:1793700006", "message", "bot", True, "rasa:u1:bot:1793700011"),
        ("u1:1793700006", "message", "bot", True, "rasa:u1:bot:1793700011:1"),
        ("u1:1793700006", "handoff_requested", None, None, "rasa:u1:handoff:1793700030"),
        ("u1:1793700006", "message", "agent", None, "rasa:u1:agent:1793700040"),
    ]
    handoff = stored(store, "type = 'handoff_requested'")[0]
    assert handoff["reason"] == "paused"  # Rasa stops answering so that a human takes over
    # an agent message must name its agent (docs/events.md); Rasa does not record who wrote it
    agents = store.con.execute("SELECT agent_id FROM events WHERE sender = 'agent'").fetchall()
    assert agents == [("unnamed-agent",)]


# -- KPIs, worked out by hand ---------------------------------------------------------------------


def test_kpis_of_the_fixtures(store):
    for path in (TRACKERS, PROACTIVE, TABLE_CSV):
        load(store, path)
    refresh_facts(store)
    # 7 conversations: A1 A2 B1 F1 C1 D1 E1 (B2, empty after /restart, is none); the bot
    # spoke in all 7. Bot messages: A1 3, A2 3, B1 3, F1 2, C1 2, D1 2, E1 1 = 16, of which
    # 3 fallbacks (A2: the rephrase request and utter_default; B1: "Did you mean ...?"),
    # in 2 conversations. Only A2 has a human part (action_handoff): handoff 1/7.
    # Bot response times (customer message -> the bot message right after it), seconds:
    # A1 1.0 2.0 0.5 | A2 0.5 0.6 0.5 | B1 1.0 1.0 1.0 | F1 0.4 (its first bot message
    # follows no customer message) | C1 1.0 | D1 1.0 0.5 -> 13 values summing to 11.0;
    # sorted 0.4 0.5 0.5 0.5 0.5 0.6 1 1 1 1 1 1 2: median 1.0, p90 at rank 10.8 -> 1.0.
    metrics = [
        "conversations",
        "bot_conversations",
        "fallback_messages",
        "fallback_rate",
        "conversations_with_fallback",
        "handoff_rate",
        "containment_rate",
        "bot_response_time",
        "bot_response_time_median",
        "bot_response_time_p90",
    ]
    row = report(store, metrics).rows[0]
    assert row["conversations"] == 7
    assert row["bot_conversations"] == 7
    assert row["fallback_messages"] == 3
    assert row["fallback_rate"] == pytest.approx(3 / 16)
    assert row["conversations_with_fallback"] == 2
    assert row["handoff_rate"] == pytest.approx(1 / 7)
    assert row["containment_rate"] == pytest.approx(6 / 7)
    assert row["bot_response_time"] == pytest.approx(11.0 / 13)
    assert row["bot_response_time_median"] == pytest.approx(1.0)
    assert row["bot_response_time_p90"] == pytest.approx(1.0)
    f = facts(store)
    assert f[A1]["bot_resolved"] and f[A1]["outcome"] == "resolved"
    assert f[A2]["handoff_at"] == at(1793696430.2) and f[A2]["has_human_part"]
    assert f[A2]["fallback_messages"] == 2 and not f[A2]["last_bot_turn_fallback"]
    assert f[F1]["initiated_by"] == "business" and f[F1]["engaged"]
    assert f[E1]["welcome_only"] and not f[E1]["engaged"]
    assert f[C1]["channel"] == "rest" and f[C1]["started_at"] == at(1793865600.0)


def test_kpis_when_asking_for_a_person_counts_as_handoff(store):
    for path in (TRACKERS, PROACTIVE, TABLE_CSV):
        load(store, path, handoff_intent="human_handoff")
    refresh_facts(store)
    # now D1 (asked for a person, declined the offer) has a human part too: 2 of 7
    row = report(store, ["handoff_rate", "containment_rate"]).rows[0]
    assert row["handoff_rate"] == pytest.approx(2 / 7)
    assert row["containment_rate"] == pytest.approx(5 / 7)


def test_cli_import(tmp_path):
    db = str(tmp_path / "cli.duckdb")
    runner = CliRunner()
    result = runner.invoke(
        app,
        ["import", "--from", "rasa", "-o", "handoff_intent=human_handoff", str(DATA), "--db", db],
    )
    assert result.exit_code == 0, result.output
    # the directory holds four exports: the JSONL table repeats the CSV one
    # (with handoff_intent, D1 gets a handoff: 12 events; A2 keeps one, at the intent)
    assert "events.csv: read 12, imported 12, duplicates 0, rejected 0" in result.output
    assert "events.jsonl: read 12, imported 0, duplicates 12, rejected 0" in result.output
    assert "tracker_5577001.json: read 4, imported 4, duplicates 0" in result.output
    assert "trackers.json: read 23, imported 23, duplicates 0, rejected 0" in result.output
    assert "conversation facts rebuilt: 7 conversations" in result.output
    assert get_importer("rasa", {"bot_id": "x"}).bot_id == "x"
