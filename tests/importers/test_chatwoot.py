"""The Chatwoot importer on a small export written from Chatwoot's API and webhook shapes.

tests/importers/data/chatwoot/ holds account 1 on Monday 2026-11-02 (UTC); agents Aino
Virtanen (3), Bruno Berg (4), Carla Chen (5); agent bot Helper Bot (7); teams support, billing:

- history.jsonl: conversation objects with their whole history in `messages` (one a line).
  - 101 10:00 web, Maija (501), inbox with a bot: the bot answers (+2 s), falls back (+32 s)
    and hands over ("Conversation was reopened by Helper Bot", +33 s); assigned to the team
    support (+40 s); Aino self-assigns (+63 s), writes a private note (+70 s), answers
    (+93 s), labels delivery, vip (+100 s); Maija thanks her (+120 s); Aino resolves
    (+180 s); the CSAT survey message carries Maija's answer: 5 "Quick and friendly".
  - 102 11:00 WhatsApp, Jonas (502), no bot: an automation assigns team billing (+20 s) and
    Bruno (+40 s); Bruno answers (+90 s) and assigns Carla (+120 s: a transfer); Carla answers
    (+180 s) and resolves (+240 s); Jonas writes again (+1800 s: reopened), Carla answers
    (+1860 s), labels refund, and Jonas resolves it himself (+2100 s).
- list-page.json: a page of GET /conversations (`data.payload`), each with its last message:
  - 103 12:00 email, Lea (503): open, her message at +300 s, label warranty, nobody answered.
  - 104 13:00 web, Sam (504): resolved (last activity +600 s), Aino's last message at +540 s.
- messages-105.json: GET /conversations/105/messages: Noor (505) asks at 14:00, the bot
  answers twice, Chatwoot resolves it for inactivity an hour later.
- csat.json: GET /csat_survey_responses: 102 rated 2 "Took two people to fix it", 104 rated 4.
- webhooks.jsonl: 106 15:00 web, Pat (506), as webhooks: created pending (bot inbox), Pat
  writes (+5 s), the bot answers (+6 s), pending -> open (+7 s: handoff), Bruno assigned
  (+37 s), answers (+67 s), Pat replies (+100 s), a private note (+110 s), resolved (+200 s),
  the survey answered 3; a contact_updated event that carries nothing to count.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest
from typer.testing import CliRunner

from chatlens.cli import app
from chatlens.errors import InputError, ItemError
from chatlens.importers import get_importer
from chatlens.importers.chatwoot import ChatwootImporter, moment
from chatlens.importers.chatwoot_activity import Activity, parse_activity
from chatlens.ingest import import_file, rejected_path_for
from chatlens.store import open_store
from chatlens.store.facts import refresh_facts

from ..conftest import facts, value

DATA = Path(__file__).parent / "data" / "chatwoot"
HISTORY = DATA / "history.jsonl"
LIST_PAGE = DATA / "list-page.json"
MESSAGES = DATA / "messages-105.json"
CSAT = DATA / "csat.json"
WEBHOOKS = DATA / "webhooks.jsonl"
ALL = (HISTORY, LIST_PAGE, MESSAGES, CSAT, WEBHOOKS)

T0 = 1793613600  # 2026-11-02T10:00:00Z


def at(hour: int, seconds: int = 0) -> str:
    """The RFC 3339 time `seconds` after hour:00 on 2026-11-02."""
    minute, second = divmod(seconds, 60)
    hh, mm = hour + minute // 60, minute % 60
    return f"2026-11-02T{hh:02d}:{mm:02d}:{second:02d}Z"


def events(*paths: Path, importer: ChatwootImporter | None = None) -> list[dict[str, Any]]:
    """The events the files convert to (in one run), without errors."""
    importer = importer or ChatwootImporter()
    out = []
    for path in paths:
        for record in importer.records(path):
            assert record.data is not None, (record.where, record.errors, record.problem)
            out.append(record.data)
    return out


def of(conversation: str, converted: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for e in converted if e["conversation_id"] == conversation]


def brief(event: dict[str, Any]) -> tuple[str, str, str, dict[str, Any]]:
    """(event_id, type, ts, the other fields) without the conversation-wide ones."""
    common = {"event_id", "type", "ts", "conversation_id", "customer_id", "channel", "text"}
    return (
        event["event_id"],
        event["type"],
        event["ts"],
        {k: v for k, v in event.items() if k not in common},
    )


def load(store, *paths: Path, importer: ChatwootImporter | None = None):
    importer = importer or ChatwootImporter()
    summaries = [import_file(store, p, records=importer.records(p)) for p in paths]
    refresh_facts(store)
    return summaries


# -- conversations, field by field ------------------------------------------------------------


def test_bot_handoff_assignment_note_labels_and_csat_field_by_field():
    conv = of("101", events(HISTORY))
    assert {(e["customer_id"], e["channel"]) for e in conv} == {("501", "web")}
    assert [brief(e) for e in conv] == [
        (
            "chatwoot:conv:101:started",
            "conversation_started",
            at(10),
            {
                "team": "support",
                "page_url": "https://shop.example.com/orders",
                "attrs": {"inbox_id": "1"},
            },
        ),
        ("chatwoot:msg:1001", "message", at(10, 0), {"sender": "customer"}),
        ("chatwoot:msg:1002", "message", at(10, 2), {"sender": "bot", "bot_id": "7"}),
        ("chatwoot:msg:1003", "message", at(10, 30), {"sender": "customer"}),
        ("chatwoot:msg:1004", "message", at(10, 32), {"sender": "bot", "bot_id": "7"}),
        # "Conversation was reopened by Helper Bot" while the bot had it (pending -> open)
        ("chatwoot:msg:1005", "handoff_requested", at(10, 33), {}),
        # "Assigned to support by Helper Bot" names a team: no event, the team goes on
        ("chatwoot:msg:1007", "agent_joined", at(10, 63), {"agent_id": "3", "team": "support"}),
        (
            "chatwoot:msg:1008",
            "message",
            at(10, 70),
            {"sender": "agent", "private": True, "agent_id": "3"},
        ),
        ("chatwoot:msg:1009", "message", at(10, 93), {"sender": "agent", "agent_id": "3"}),
        ("chatwoot:msg:1010:tag:delivery", "tag_added", at(10, 100), {"tag": "delivery"}),
        ("chatwoot:msg:1010:tag:vip", "tag_added", at(10, 100), {"tag": "vip"}),
        ("chatwoot:msg:1011", "message", at(10, 120), {"sender": "customer"}),
        (
            "chatwoot:msg:1012",
            "conversation_closed",
            at(10, 180),
            {"resolution": "resolved", "resolved_by": "agent", "agent_id": "3", "team": "support"},
        ),
        ("chatwoot:msg:1013", "message", at(10, 181), {"sender": "system"}),  # the survey
        (
            "chatwoot:csat:1013",
            "rating",
            at(10, 181),
            {"kind": "csat", "score": 5, "comment": "Quick and friendly"},
        ),
        # the conversation's labels now (their time is not exported: the start)
        ("chatwoot:conv:101:label:delivery", "tag_added", at(10), {"tag": "delivery"}),
        ("chatwoot:conv:101:label:vip", "tag_added", at(10), {"tag": "vip"}),
    ]
    texts = {e["event_id"]: e.get("text") for e in conv}
    assert texts["chatwoot:msg:1001"] == "Hi, where is my order #4411?"
    assert texts["chatwoot:msg:1004"].startswith("Sorry, I didn't understand that.")
    assert texts["chatwoot:msg:1013"] == "Please rate the conversation"
    assert texts["chatwoot:msg:1005"] is None  # activity texts are not messages


def test_transfer_reopen_by_a_new_message_and_close_by_the_contact_field_by_field():
    conv = of("102", events(HISTORY))
    assert {(e["customer_id"], e["channel"]) for e in conv} == {("502", "whatsapp")}
    assert [brief(e) for e in conv] == [
        (
            "chatwoot:conv:102:started",
            "conversation_started",
            at(11),
            {"team": "billing", "attrs": {"inbox_id": "2"}},
        ),
        ("chatwoot:msg:2001", "message", at(11, 0), {"sender": "customer"}),
        # "Assigned to billing by Automation System": billing is a team (meta.team)
        ("chatwoot:msg:2003", "agent_joined", at(11, 40), {"agent_id": "4", "team": "billing"}),
        ("chatwoot:msg:2004", "message", at(11, 90), {"sender": "agent", "agent_id": "4"}),
        (
            "chatwoot:msg:2005",
            "transferred",
            at(11, 120),
            {"agent_id": "5", "from_agent_id": "4", "team": "billing"},
        ),
        ("chatwoot:msg:2006", "message", at(11, 180), {"sender": "agent", "agent_id": "5"}),
        (
            "chatwoot:msg:2007",
            "conversation_closed",
            at(11, 240),
            {"resolution": "resolved", "resolved_by": "agent", "agent_id": "5", "team": "billing"},
        ),
        ("chatwoot:msg:2008", "message", at(11, 241), {"sender": "system"}),  # unanswered survey
        ("chatwoot:msg:2009", "message", at(11, 1800), {"sender": "customer"}),
        # Chatwoot reopens a resolved conversation on an incoming message; the activity
        # "System reopened the conversation ..." (2010) that says so adds nothing more
        ("chatwoot:msg:2009:reopen", "conversation_reopened", at(11, 1800), {"team": "billing"}),
        ("chatwoot:msg:2011", "message", at(11, 1860), {"sender": "agent", "agent_id": "5"}),
        ("chatwoot:msg:2012:tag:refund", "tag_added", at(11, 1900), {"tag": "refund"}),
        # "Conversation was resolved by Jonas berg" (the contact's name, capitalised by Ruby)
        (
            "chatwoot:msg:2013",
            "conversation_closed",
            at(11, 2100),
            {"resolution": "resolved", "resolved_by": "customer", "team": "billing"},
        ),
        ("chatwoot:conv:102:label:refund", "tag_added", at(11), {"tag": "refund"}),
    ]


def test_list_page_snapshots_a_resolved_status_and_labels():
    converted = events(LIST_PAGE)
    assert [(e["conversation_id"], *brief(e)) for e in converted] == [
        (
            "103",
            "chatwoot:conv:103:started",
            "conversation_started",
            at(12),
            {"attrs": {"inbox_id": "3"}},
        ),
        ("103", "chatwoot:msg:3002", "message", at(12, 300), {"sender": "customer"}),
        ("103", "chatwoot:conv:103:label:warranty", "tag_added", at(12), {"tag": "warranty"}),
        (
            "104",
            "chatwoot:conv:104:started",
            "conversation_started",
            at(13),
            {"page_url": "https://shop.example.com/", "attrs": {"inbox_id": "1"}},
        ),
        ("104", "chatwoot:msg:4003", "message", at(13, 540), {"sender": "agent", "agent_id": "3"}),
        # status resolved and no activity message seen: closed at the last activity
        (
            "104",
            "chatwoot:conv:104:resolved:2026-11-02T13:10:00",
            "conversation_closed",
            at(13, 600),
            {"resolution": "resolved"},
        ),
    ]
    assert {e["channel"] for e in converted if e["conversation_id"] == "103"} == {"email"}
    assert {e["customer_id"] for e in converted if e["conversation_id"] == "104"} == {"504"}


def test_messages_page_gets_its_contact_from_meta_and_an_inactivity_close():
    conv = events(MESSAGES)
    assert {e["customer_id"] for e in conv} == {"505"}  # bot messages too: from meta.contact
    assert [brief(e) for e in conv] == [
        ("chatwoot:msg:5001", "message", at(14, 0), {"sender": "customer"}),
        ("chatwoot:msg:5002", "message", at(14, 1), {"sender": "bot", "bot_id": "7"}),
        ("chatwoot:msg:5003", "message", at(14, 20), {"sender": "customer"}),
        ("chatwoot:msg:5004", "message", at(14, 21), {"sender": "bot", "bot_id": "7"}),
        # resolved for inactivity with only the bot involved: a close without an outcome
        ("chatwoot:msg:5005", "conversation_closed", at(15), {"reason": "inactivity"}),
    ]


def test_csat_report_entries_share_ids_with_the_survey_messages():
    converted = events(CSAT)
    assert converted == [
        {
            "conversation_id": "102",
            "event_id": "chatwoot:csat:2008",
            "type": "rating",
            "ts": at(11, 300),
            "kind": "csat",
            "score": 2,
            "comment": "Took two people to fix it",
            "customer_id": "502",
            "agent_id": "5",
        },
        {
            "conversation_id": "104",
            "event_id": "chatwoot:csat:4004",
            "type": "rating",
            "ts": at(13, 660),
            "kind": "csat",
            "score": 4,
            "customer_id": "504",
            "agent_id": "3",
        },
    ]
    # the same answer on the survey message (2008, once answered) has the same id
    survey = {
        "id": 2008,
        "conversation_id": 102,
        "message_type": 3,
        "created_at": T0 + 3600 + 241,
        "content_type": "input_csat",
        "content": "Please rate this conversation",
        "content_attributes": {
            "submitted_values": {"csat_survey_response": {"rating": 2, "feedback_message": "x"}}
        },
    }
    rating = list(ChatwootImporter().convert(survey))[1]
    assert (rating["event_id"], rating["score"]) == ("chatwoot:csat:2008", 2)


def test_webhook_payloads_field_by_field():
    converted = events(WEBHOOKS)
    assert {(e["conversation_id"], e["customer_id"], e["channel"]) for e in converted} == {
        ("106", "506", "web")
    }
    assert [brief(e) for e in converted] == [
        (
            "chatwoot:conv:106:started",
            "conversation_started",
            at(15),
            {"page_url": "https://shop.example.com/checkout", "attrs": {"inbox_id": "1"}},
        ),
        ("chatwoot:msg:6001", "message", at(15, 5), {"sender": "customer"}),
        ("chatwoot:msg:6002", "message", at(15, 6), {"sender": "bot", "bot_id": "7"}),
        # conversation_status_changed pending -> open, at the conversation's updated_at
        (
            "chatwoot:conv:106:status:open:2026-11-02T15:00:07",
            "handoff_requested",
            at(15, 7),
            {},
        ),
        # conversation_updated: assignee_id null -> 4
        (
            "chatwoot:conv:106:assignee:4:2026-11-02T15:00:37",
            "agent_joined",
            at(15, 37),
            {"agent_id": "4"},
        ),
        ("chatwoot:msg:6003", "message", at(15, 67), {"sender": "agent", "agent_id": "4"}),
        ("chatwoot:msg:6004", "message", at(15, 100), {"sender": "customer"}),
        (
            "chatwoot:msg:6005",
            "message",
            at(15, 110),
            {"sender": "agent", "private": True, "agent_id": "4"},
        ),
        (
            "chatwoot:conv:106:status:resolved:2026-11-02T15:03:20",
            "conversation_closed",
            at(15, 200),
            {"resolution": "resolved"},
        ),
        ("chatwoot:msg:6006", "message", at(15, 201), {"sender": "system"}),
        # message_updated: the survey message again (a duplicate), now with its answer
        ("chatwoot:msg:6006", "message", at(15, 201), {"sender": "system"}),
        ("chatwoot:csat:6006", "rating", at(15, 201), {"kind": "csat", "score": 3}),
    ]  # contact_updated: nothing


def test_webhook_updates_labels_team_changes_and_statuses(tmp_path):
    """conversation_updated carries `changed_attributes`; a status change arrives both as
    conversation_updated and conversation_status_changed and gives one event id; the
    documented conversation_status_changed sample has no `changed_attributes`: the status
    the run saw before is the previous one."""

    def conv(status: str, updated: float, **extra: Any) -> dict[str, Any]:
        meta = {
            "sender": {"id": 70, "name": "Kim", "type": "contact"},
            "assignee": {"id": 4, "name": "Bruno Berg", "type": "user"},
            "team": {"id": 2, "name": "billing"},
        }
        return {
            "id": 7,
            "channel": "Channel::Api",
            "meta": meta,
            "status": status,
            "messages": [],
            "created_at": T0,
            "timestamp": T0,
            "updated_at": updated,
            **extra,
        }

    def changed(**changes: tuple[Any, Any]) -> list[dict[str, Any]]:
        return [{k: {"previous_value": a, "current_value": b}} for k, (a, b) in changes.items()]

    hooks = [
        conv("open", T0, event="conversation_created"),
        conv(
            "open",
            T0 + 10,
            event="conversation_updated",
            changed_attributes=changed(label_list=([], ["vip", "refund"])),
        ),
        conv(
            "open",
            T0 + 20,
            event="conversation_updated",
            changed_attributes=changed(team_id=(1, 2)),
        ),
        conv(
            "resolved",
            T0 + 30.4,
            event="conversation_updated",
            changed_attributes=changed(
                status=("open", "resolved"), updated_at=(at(10, 20), "2026-11-02T10:00:30.400Z")
            ),
        ),
        conv(
            "resolved",
            T0 + 30.4,
            event="conversation_status_changed",
            changed_attributes=changed(status=("open", "resolved")),
        ),
        conv("open", T0 + 40, event="conversation_status_changed"),
        conv(
            "open",
            T0 + 45,
            event="conversation_updated",
            changed_attributes=changed(cached_label_list=("vip, refund", "vip")),
        ),
    ]
    path = tmp_path / "hooks.jsonl"
    path.write_bytes(b"".join(orjson.dumps(h) + b"\n" for h in hooks))
    got = [brief(e) for e in events(path)]
    closed = ("chatwoot:conv:7:status:resolved:2026-11-02T10:00:30", "conversation_closed")
    assert got == [
        ("chatwoot:conv:7:started", "conversation_started", at(10), {"team": "billing"}),
        # conversation_created with an assignee: picked up on creation (auto-assignment)
        (
            "chatwoot:conv:7:assignee:4:created",
            "agent_joined",
            at(10),
            {"agent_id": "4", "team": "billing"},
        ),
        (
            "chatwoot:conv:7:label:refund:added:2026-11-02T10:00:10",
            "tag_added",
            at(10, 10),
            {"tag": "refund"},
        ),
        (
            "chatwoot:conv:7:label:vip:added:2026-11-02T10:00:10",
            "tag_added",
            at(10, 10),
            {"tag": "vip"},
        ),
        (
            "chatwoot:conv:7:team:2:2026-11-02T10:00:20",
            "transferred",
            at(10, 20),
            {"team": "billing", "from_agent_id": "4"},
        ),
        (*closed, "2026-11-02T10:00:30.400000Z", {"resolution": "resolved", "team": "billing"}),
        (*closed, "2026-11-02T10:00:30.400000Z", {"resolution": "resolved", "team": "billing"}),
        (
            "chatwoot:conv:7:status:open:2026-11-02T10:00:40",
            "conversation_reopened",
            at(10, 40),
            {"team": "billing"},
        ),
        (
            "chatwoot:conv:7:label:refund:removed:2026-11-02T10:00:45",
            "tag_removed",
            at(10, 45),
            {"tag": "refund"},
        ),
    ]
    assert {e["channel"] for e in events(path)} == {"api"}


# -- KPIs -----------------------------------------------------------------------------------


def test_kpis_worked_out_by_hand(store):
    summaries = load(store, *ALL)
    # events read / imported per file; the webhooks repeat message 6006 (message_updated)
    assert [(s.read, s.imported, s.rejected) for s in summaries] == [
        (31, 31, 0),
        (6, 6, 0),
        (5, 5, 0),
        (2, 2, 0),
        (12, 11, 0),
    ]
    f = facts(store)
    assert set(f) == {"101", "102", "103", "104", "105", "106"}
    assert value(store, "conversations") == 6
    # queue entry: 101 the handoff (+33 s), 106 the handoff (+7 s); 102, 103, 104 (no bot) the
    # start. First agent message: 101 +93 s -> 60; 102 +90; 104 +540; 106 +67 -> 60
    frt = {c: f[c]["first_response_seconds"] for c in f}
    assert frt == {"101": 60, "102": 90, "103": None, "104": 540, "105": None, "106": 60}
    assert value(store, "first_response_time") == pytest.approx((60 + 90 + 540 + 60) / 4)
    assert value(store, "first_response_time_median") == pytest.approx((60 + 90) / 2)
    # pickup: 101 +63-33 = 30, 102 +40, 106 +37-7 = 30; 104 has no assignment activity
    assert value(store, "wait_time") == pytest.approx((30 + 40 + 30) / 3)
    assert f["104"]["picked_up_at"] is None
    # 103: no bot, nobody answered, Lea waited 300 s > the 60 s grace
    assert value(store, "missed_chats") == 1 and f["103"]["missed"]
    assert value(store, "human_conversations") == 5  # all but the bot-only 105
    assert value(store, "missed_rate") == pytest.approx(1 / 5)
    # bot conversations 101, 105, 106; 101 and 106 handed over; 105 ended with the bot
    assert value(store, "handoff_rate") == pytest.approx(2 / 3)
    assert value(store, "bot_resolution_rate") == pytest.approx(1 / 3)
    assert f["105"]["bot_only"] and f["105"]["bot_resolved"] and f["105"]["resolution"] is None
    # start -> final resolved close: 180, 2100 (reopened time included), 600, 200
    assert value(store, "resolution_time") == pytest.approx((180 + 2100 + 600 + 200) / 4)
    assert (f["102"]["closes"], f["102"]["reopens"], f["102"]["transfers"]) == (2, 1, 1)
    assert f["102"]["resolved_by"] == "customer" and f["101"]["resolved_by"] == "agent"
    # closed with a resolution: 101, 102, 104, 106 (105's close says none: unknown, left
    # out); at first contact: 101, 104, 106 (102 reopened and transferred)
    assert value(store, "fcr_rate") == pytest.approx(3 / 4)
    assert value(store, "transfer_rate") == pytest.approx(1 / 5)
    # CSAT: 101 5 (survey message), 102 2 and 104 4 (report), 106 3 (webhook)
    assert value(store, "csat") == pytest.approx((5 + 2 + 4 + 3) / 4)
    assert f["102"]["rated_negative"] and f["101"]["rating_comments"] == 1
    # messages: private notes and system (survey) messages are not counted
    counts = {
        c: (f[c]["customer_messages"], f[c]["bot_messages"], f[c]["agent_messages"]) for c in f
    }
    assert counts == {
        "101": (3, 2, 1),
        "102": (2, 0, 3),
        "103": (1, 0, 0),
        "104": (0, 0, 1),
        "105": (2, 2, 0),
        "106": (2, 1, 1),
    }
    assert value(store, "messages") == 6 + 5 + 1 + 1 + 4 + 4
    assert f["101"]["fallback_messages"] == 1  # "Sorry, I didn't understand that."
    # handle time: 101 Aino 63 -> close 180; 102 Bruno 40 -> transfer 120, Carla 120 -> 240;
    # 106 Bruno 37 -> close 200
    handle = {c: f[c]["handle_seconds"] for c in ("101", "102", "106")}
    assert handle == {"101": 117, "102": 80 + 120, "106": 163}
    assert f["102"]["agents"] == ["4", "5"] and f["102"]["team"] == "billing"
    assert f["101"]["tags"] == ["delivery", "vip"] and f["103"]["tags"] == ["warranty"]
    assert f["101"]["response_times"] == [63]  # 1003 (after the bot's turn) -> 1009
    assert {c: f[c]["channel"] for c in f} == {
        "101": "web",
        "102": "whatsapp",
        "103": "email",
        "104": "web",
        "105": None,  # a messages page says nothing of the inbox
        "106": "web",
    }


# -- activity messages and fields ------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Conversation was marked resolved by Aino", Activity("resolved", actor="Aino")),
        ("Conversation was resolved by Jonas berg", Activity("contact_resolved", "Jonas berg")),
        ("Conversation was reopened by Aino", Activity("reopened", actor="Aino")),
        ("Conversation was marked as pending by Aino", Activity("pending", actor="Aino")),
        ("Conversation was snoozed by Aino", Activity("snoozed", actor="Aino")),
        (
            "Conversation was marked resolved by system due to 3 days of inactivity",
            Activity("inactivity", actor="system"),
        ),
        (
            "Conversation was marked resolved by system due to 30 minutes of inactivity",
            Activity("inactivity", actor="system"),
        ),
        (
            "Conversation was marked resolved by Captain due to inactivity",
            Activity("inactivity", actor="Captain"),
        ),
        (
            "Conversation was marked resolved by Captain (customer confirmed)",
            Activity("resolved", actor="Captain", reason="customer confirmed"),
        ),
        (
            "Conversation was marked resolved by Captain: order delivered",
            Activity("resolved", actor="Captain", reason="order delivered"),
        ),
        ("Conversation was marked open by Captain", Activity("reopened", actor="Captain")),
        (
            "Conversation was marked open by system due to an error with the agent bot.",
            Activity("bot_error"),
        ),
        (
            "Conversation was marked open automatically after an agent reply",
            Activity("opened_by_reply"),
        ),
        (
            "System reopened the conversation due to a new incoming message.",
            Activity("system_reopened"),
        ),
        (
            "Aino Virtanen self-assigned this conversation",
            Activity("self_assigned", "Aino Virtanen"),
        ),
        (
            "Assigned to Bruno Berg by Carla Chen",
            Activity("assigned", actor="Carla Chen", target="Bruno Berg"),
        ),
        (
            "Assigned to Bruno Berg via billing by Carla Chen",
            Activity("assigned_via_team", actor="Carla Chen", target="Bruno Berg", team="billing"),
        ),
        ("Conversation unassigned by Carla Chen", Activity("unassigned", actor="Carla Chen")),
        (
            "Unassigned from billing by Carla Chen",
            Activity("team_unassigned", actor="Carla Chen", team="billing"),
        ),
        (
            "Carla Chen added refund, vip-customer",
            Activity("labels_added", actor="Carla Chen", labels=("refund", "vip-customer")),
        ),
        (
            "Automation System removed spam",
            Activity("labels_removed", actor="Automation System", labels=("spam",)),
        ),
        # no chatlens event for these
        ("Carla Chen set the priority to urgent", None),
        ("Carla Chen removed the priority", None),
        ("Carla Chen added SLA policy Gold plan", None),
        ("Carla Chen has muted the conversation", None),
        ("CSAT survey not sent due to outgoing message restrictions", None),
        ("La conversación fue marcada como resuelta por Aino", None),  # other locales
        (None, None),
    ],
)
def test_activity_templates_of_chatwoots_en_locale(text, expected):
    assert parse_activity(text) == expected


def activity(mid: int, t: int, text: str) -> dict[str, Any]:
    return {"id": mid, "conversation_id": 9, "message_type": 2, "created_at": t, "content": text}


def page_file(tmp_path: Path, messages: list[dict[str, Any]]) -> Path:
    """A saved GET .../messages page of conversation 9."""
    path = tmp_path / "page.json"
    path.write_bytes(orjson.dumps({"meta": {"contact": {"id": 77}}, "payload": messages}))
    return path


def test_assignments_name_agents_and_teams_by_what_the_run_knows(tmp_path):
    """Chatwoot writes agent and team assignments with one template ("Assigned to X by Y").
    Names seen in the run decide; an unseen all-lowercase name is a team (Chatwoot
    lower-cases team names); an unseen agent keeps their name as agent_id."""
    bruno = {"id": 4, "name": "Bruno Berg", "type": "user"}
    messages = [
        {"id": 1, "conversation_id": 9, "message_type": 0, "created_at": T0, "content": "hi"},
        {**activity(2, T0 + 10, "Assigned to Bruno Berg by Carla Chen"), "sender": None},
        activity(3, T0 + 20, "Assigned to escalations by Bruno Berg"),
        activity(4, T0 + 30, "Assigned to Dana Diaz via tier2 by Bruno Berg"),
        activity(5, T0 + 40, "Conversation unassigned by Dana Diaz"),
        activity(6, T0 + 50, "Dana Diaz self-assigned this conversation"),
        {"id": 7, "conversation_id": 9, "message_type": 1, "created_at": T0 + 60, "sender": bruno},
    ]
    got = [brief(e) for e in events(page_file(tmp_path, messages)) if e["type"] != "message"]
    assert got == [
        # Bruno Berg: a known agent (he wrote message 7)
        ("chatwoot:msg:2", "agent_joined", at(10, 10), {"agent_id": "4"}),
        # 3: "escalations", an unseen lowercase name: the first team, no event of its own
        # 4: another agent and another team at once
        (
            "chatwoot:msg:4",
            "transferred",
            at(10, 30),
            {"agent_id": "Dana Diaz", "from_agent_id": "4", "team": "tier2"},
        ),
        # unassigned, then back: a new stint of the same agent
        ("chatwoot:msg:6", "agent_joined", at(10, 50), {"agent_id": "Dana Diaz", "team": "tier2"}),
    ]


def test_reopen_and_pending_states_decide_what_a_reopen_means(tmp_path):
    """ "reopened" after a close is a reopen; while the bot has the chat (pending) it is a
    handoff; after a snooze it is nothing."""
    bot = {"id": 7, "name": "Helper Bot", "type": "agent_bot"}
    messages = [
        {"id": 1, "conversation_id": 9, "message_type": 0, "created_at": T0, "content": "hi"},
        {"id": 2, "conversation_id": 9, "message_type": 1, "created_at": T0 + 1, "sender": bot},
        activity(3, T0 + 2, "Conversation was marked resolved by Helper Bot"),
        activity(4, T0 + 3, "Conversation was reopened by Aino"),
        activity(5, T0 + 4, "Conversation was marked as pending by Aino"),
        activity(6, T0 + 5, "Conversation was reopened by Helper Bot"),
        activity(7, T0 + 6, "Conversation was snoozed by Aino"),
        activity(8, T0 + 7, "Conversation was reopened by Aino"),
    ]
    got = [
        (e["event_id"], e["type"], e.get("resolved_by"), e.get("bot_id"), e.get("resolution"))
        for e in events(page_file(tmp_path, messages))
        if e["type"] != "message"
    ]
    assert got == [
        ("chatwoot:msg:3", "conversation_closed", "bot", "7", "resolved"),
        ("chatwoot:msg:4", "conversation_reopened", None, None, None),
        ("chatwoot:msg:6", "handoff_requested", None, None, None),
    ]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (T0, "2026-11-02T10:00:00Z"),  # the API: Unix seconds
        (T0 + 0.5, "2026-11-02T10:00:00.500000Z"),  # updated_at in conversation payloads
        ("2026-11-02T10:00:00.000Z", "2026-11-02T10:00:00Z"),  # webhooks
        ("2026-11-02 10:00:00 UTC", "2026-11-02T10:00:00Z"),  # Rails' to_s in older webhooks
        ("2026-11-02T12:00:00+02:00", "2026-11-02T10:00:00Z"),
        (str(T0), "2026-11-02T10:00:00Z"),
    ],
)
def test_times(value, expected):
    assert moment(value, "created_at")[0] == expected


def test_bad_times_name_the_field():
    with pytest.raises(ItemError, match="field 'created_at': not a Unix time or ISO 8601"):
        moment("yesterday", "created_at")
    with pytest.raises(ItemError, match="field 'created_at': missing"):
        moment(None, "created_at")


@pytest.mark.parametrize(
    ("conversation", "channel"),
    [
        ({"channel": "Channel::FacebookPage"}, "messenger"),
        (
            {
                "channel": "Channel::FacebookPage",
                "additional_attributes": {"type": "instagram_direct_message"},
            },
            "instagram",
        ),
        ({"meta": {"channel": "Channel::Instagram"}}, "instagram"),
        ({"channel": "Channel::TwilioSms", "contact_inbox": {"source_id": "+358401234"}}, "sms"),
        (
            {"channel": "Channel::TwilioSms", "contact_inbox": {"source_id": "whatsapp:+35840"}},
            "whatsapp",
        ),
        ({"channel": "Channel::Api"}, "api"),
        ({"channel": "Channel::Telegram"}, "telegram"),
        ({"channel": "Channel::SomeFutureThing"}, "some_future_thing"),
    ],
)
def test_channel_from_the_inbox_channel_type(conversation, channel):
    item = {"id": 1, "status": "open", "created_at": T0, **conversation}
    started = next(iter(ChatwootImporter().convert(item)))
    assert started["channel"] == channel


def test_senders_message_types_and_the_senderless_option():
    captain = {"id": 2, "name": "Captain", "type": "captain_assistant"}
    messages = [
        {"id": 1, "message_type": "outgoing", "sender": captain},
        {"id": 2, "message_type": "1", "sender_type": "User", "sender_id": 3},  # no object
        {"id": 3, "message_type": 1},  # no sender: Dialogflow, automation, phone-app replies
        {"id": 4, "message_type": 0, "sender_type": "Contact", "sender_id": 88},
        {"id": 5, "message_type": "template", "content_type": "input_email"},
    ]
    base = {"conversation_id": 9, "created_at": T0, "content": "x"}

    def senders(**settings: str) -> list[tuple]:
        importer = ChatwootImporter(settings)
        return [
            (e["sender"], e.get("agent_id"), e.get("bot_id"), e.get("customer_id"))
            for m in messages
            for e in importer.convert({**base, **m})
        ]

    assert senders() == [
        ("bot", None, "captain-2", None),
        ("agent", "3", None, None),
        ("system", None, None, None),
        ("customer", None, None, "88"),
        ("system", None, None, None),  # templates: greetings, email collection, surveys
    ]
    assert [g[0] for g in senders(senderless="bot")][2] == "bot"
    assert [g[0] for g in senders(senderless="agent")][2] == "agent"
    with pytest.raises(InputError, match="senderless=robot: expected one of system, bot"):
        ChatwootImporter({"senderless": "robot"})
    with pytest.raises(ItemError, match="field 'message_type': unknown message type 7"):
        list(ChatwootImporter().convert({**base, "id": 9, "message_type": 7}))
    with pytest.raises(ItemError, match=r"field 'sender\.type': unknown sender type 'robot'"):
        list(
            ChatwootImporter().convert(
                {**base, "id": 9, "message_type": 1, "sender": {"type": "robot"}}
            )
        )


def test_account_option_prefixes_conversation_ids():
    importer = get_importer("chatwoot", {"account": "42"})
    conv = of("42:104", events(LIST_PAGE, importer=importer))
    assert [e["event_id"] for e in conv][:2] == [
        "chatwoot:42:conv:104:started",
        "chatwoot:42:msg:4003",
    ]


def test_long_texts_are_cut_to_the_64_kib_limit():
    item = {"id": 1, "conversation_id": 9, "message_type": 0, "created_at": T0}
    [event] = ChatwootImporter().convert({**item, "content": "ä" * 40_000})  # 80,000 bytes
    assert len(event["text"].encode()) == 64 * 1024 and set(event["text"]) == {"ä"}


# -- shapes, re-imports, pages, bad items, CLI ---------------------------------------------


def test_json_array_jsonl_and_list_envelope_give_the_same_events(store, tmp_path):
    page = orjson.loads(LIST_PAGE.read_bytes())
    conversations = page["data"]["payload"]
    array = tmp_path / "array.json"
    array.write_bytes(orjson.dumps(conversations))
    lines = tmp_path / "lines.jsonl"
    lines.write_bytes(b"".join(orjson.dumps(c) + b"\n" for c in conversations))
    pages = tmp_path / "pages.jsonl"  # one saved API page a line
    pages.write_bytes(orjson.dumps(page) + b"\n")
    expected = events(LIST_PAGE)
    for path in (array, lines, pages):
        assert events(path) == expected, path.name
    first = import_file(store, array, records=ChatwootImporter().records(array))
    assert (first.imported, first.rejected) == (6, 0)
    for path in (LIST_PAGE, lines, pages):  # re-importing, in any shape, adds nothing
        again = import_file(store, path, records=ChatwootImporter().records(path))
        assert (again.imported, again.duplicates) == (0, 6), path.name


def test_overlapping_later_export_adds_only_what_is_new(store, tmp_path):
    load(store, LIST_PAGE)
    page = orjson.loads(LIST_PAGE.read_bytes())
    later = page["data"]["payload"][0]  # 103, now with its history and an answer
    lea, bruno = later["meta"]["sender"], {"id": 4, "name": "Bruno Berg", "type": "user"}
    t2 = T0 + 7200
    later["messages"] = [
        {"id": 3001, "conversation_id": 103, "message_type": 0, "created_at": t2, "sender": lea},
        later["messages"][0],  # 3002, already imported
        activity(3003, t2 + 400, "Assigned to Bruno Berg by Carla Chen") | {"conversation_id": 103},
        {
            "id": 3004,
            "conversation_id": 103,
            "message_type": 1,
            "created_at": t2 + 420,
            "content": "Your claim is approved.",
            "sender": bruno,
        },
    ]
    path = tmp_path / "later.json"
    path.write_bytes(orjson.dumps([later]))
    [summary] = load(store, path)
    # new: 3001, the pickup (3003), 3004; again: the start, 3002, the label
    assert (summary.imported, summary.duplicates) == (3, 3)
    f = facts(store)["103"]
    assert (f["missed"], f["wait_seconds"], f["first_response_seconds"]) == (False, 400, 420)


def test_list_page_after_the_history_in_one_run_adds_no_second_close(tmp_path):
    """A conversation read from the list after its history: the replay already closed it,
    so its `status: resolved` adds no close of its own."""
    snapshot = orjson.loads(HISTORY.read_bytes().splitlines()[0])
    snapshot["messages"] = snapshot["messages"][-1:]  # the list's last message only
    page = tmp_path / "list.json"
    page.write_bytes(orjson.dumps({"data": {"meta": {}, "payload": [snapshot]}}))
    importer = ChatwootImporter()
    events(HISTORY, importer=importer)
    # (the start too was emitted from the history, once a run)
    assert [e["type"] for e in events(page, importer=importer)] == [
        "message",  # the survey message, with its rating
        "rating",
        "tag_added",
        "tag_added",
    ]
    alone = [e["type"] for e in events(page)]  # without the history: closed at last activity
    assert alone.count("conversation_closed") == 1


def test_pages_of_one_conversation_in_several_files(store, tmp_path):
    """GET .../messages returns 20 messages a page, newest first. The pages of 101 saved as
    two files and imported in one run give the events of the whole history; newest first
    still gives the handoff (its bot messages are on the older page). Each page also imports
    on its own."""
    history = orjson.loads(HISTORY.read_bytes().splitlines()[0])
    meta = {"labels": history["labels"], "contact": history["meta"]["sender"]}
    messages = history["messages"]
    newer, older = tmp_path / "page1.json", tmp_path / "page2.json"
    newer.write_bytes(orjson.dumps({"meta": meta, "payload": messages[6:]}))  # 1007-1013
    older.write_bytes(orjson.dumps({"meta": meta, "payload": messages[:6]}))  # 1001-1006
    whole = [
        brief(e)
        for e in of("101", events(HISTORY))
        if e["type"] != "conversation_started" and ":conv:" not in e["event_id"]
    ]
    assert sorted(brief(e) for e in events(older, newer)) == sorted(whole)
    # newest first, the newer page is read before the team assignment (1006) is known: its
    # events lack the team, all else is the same
    no_team = sorted(
        (i, t, ts, {k: v for k, v in x.items() if k != "team"}) for i, t, ts, x in whole
    )
    got = sorted(
        (i, t, ts, {k: v for k, v in x.items() if k != "team"})
        for i, t, ts, x in map(brief, events(newer, older))
    )
    assert got == no_team
    alone = {e["event_id"]: e["type"] for e in events(older)}
    assert alone["chatwoot:msg:1005"] == "handoff_requested"
    summaries = load(store, newer, older)
    assert [s.rejected for s in summaries] == [0, 0]
    f = facts(store)["101"]
    assert (f["wait_seconds"], f["first_response_seconds"], f["customer_id"]) == (30, 60, "501")


def test_bad_items_are_quarantined_naming_the_item_and_the_field(store, tmp_path):
    page = orjson.loads(LIST_PAGE.read_bytes())
    bad = page["data"]["payload"]
    bad[1]["messages"][0]["created_at"] = "yesterday"  # 104
    bad.append({"id": 105, "message_type": 1, "conversation_id": 105})  # no created_at
    bad.append({"id": 31, "rating": 9, "feedback_message": "", "conversation_id": 102})
    bad.append({"name": "not a chatwoot object"})
    path = tmp_path / "bad.json"
    path.write_bytes(orjson.dumps(page))
    [summary] = load(store, path)
    assert (summary.imported, summary.rejected) == (3, 4)  # 103 imports whole
    assert summary.first_errors == [
        "item 1 (conversation 104): field 'messages[0].created_at': not a Unix time or ISO 8601 "
        "timestamp: 'yesterday'",
        "item 2 (message 105): field 'created_at': missing",
        "item 3 (CSAT response 31): field 'rating': not a CSAT rating from 1 to 5: 9",
        "item 4: field '(item)': not a Chatwoot conversation, message, CSAT survey response or "
        "webhook payload (no id with messages/meta/status, message_type, rating or event)",
    ]
    entry = orjson.loads(rejected_path_for(path).read_bytes().splitlines()[0])
    assert entry["ref"] == "conversation 104" and entry["record"]["id"] == 104
    assert set(facts(store)) == {"103"}


def test_cli_imports_a_chatwoot_export_directory(tmp_path):
    db = tmp_path / "cli.duckdb"
    result = CliRunner().invoke(app, ["import", "--from", "chatwoot", str(DATA), "--db", str(db)])
    assert result.exit_code == 0, result.output
    assert "total: read 56, imported 55, duplicates 1, rejected 0" in result.output
    with open_store(db) as store:
        assert len(facts(store)) == 6
        assert value(store, "csat") == pytest.approx(3.5)
