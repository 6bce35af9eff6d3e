"""The Intercom importer on a small export written from the REST API's documented shape.

tests/importers/data/intercom/conversations.json holds six conversations as
`GET /conversations/{id}` returns them (API 2.11+), all on Monday 2026-11-02 (UTC), in a
workspace without office hours (so Intercom's `statistics` durations are plain differences):

- 101 09:00 web, Anna: routed to Ada by an assignment rule (+20 s), Ada answers (+45 s),
  writes a note, answers again, closes (+300 s); CSAT 5 "Quick and kind"; tag shipping.
- 102 10:00 web, lead Bob: Fin answers (+5 s), Bob says it worked, Fin closes (+90 s); CSAT 4.
- 103 11:00 web, Carla: Fin talks, then hands over to the billing team (+35 s); Ben takes it
  (+95 s), answers (+125 s), closes (+200 s); Carla writes again on the closed conversation
  (+4000 s: reopened), Ben answers and closes (+4200 s); CSAT 2; tag billing.
- 104 12:00 email, Dan: Ada assigns herself (+60 s), answers (+90 s), assigns Cleo (+100 s:
  a transfer), Cleo answers (+400 s), snoozes, closes (+5100 s); tags sales, quote.
- 105 13:00 outbound message from Ada to Eve (admin_initiated); Eve replies (+600 s), Ada
  answers (+660 s); still open.
- 106 14:00 WhatsApp, Finn: routed to a team, nobody answers; Finn asks again (+300 s).

list_page1.json is page 1 of `GET /conversations` (per_page=3): the first three
conversations as the list endpoint returns them, without `conversation_parts`.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import orjson
import pytest
from typer.testing import CliRunner

from chatlens.cli import app
from chatlens.importers import get_importer
from chatlens.importers.intercom import IntercomImporter, html_to_text
from chatlens.ingest import import_file, rejected_path_for
from chatlens.store import open_store
from chatlens.store.facts import refresh_facts

from ..conftest import facts, value

DATA = Path(__file__).parent / "data" / "intercom"
EXPORT = DATA / "conversations.json"
LIST_PAGE = DATA / "list_page1.json"

ANNA, BOB, CARLA = (
    "6712f0a1c3e4b5a6d7e8f001",
    "6712f0a1c3e4b5a6d7e8f002",
    "6712f0a1c3e4b5a6d7e8f003",
)
ADA, BEN, CLEO = "814860", "991267", "777001"
FIN, TEAM = "8123402", "5017691"

EVENTS_IN_EXPORT = 47  # 101: 10, 102: 6, 103: 15, 104: 9, 105: 4, 106: 3


def conversations() -> list[dict[str, Any]]:
    return orjson.loads(EXPORT.read_bytes())


def load(store, path: Path):
    summary = import_file(store, path, records=IntercomImporter().records(path))
    refresh_facts(store)
    return summary


def count(store) -> int:
    return store.con.execute("SELECT count(*) FROM events").fetchone()[0]


def test_live_chat_with_note_rating_and_tag_field_by_field():
    first = conversations()[0]
    events = list(IntercomImporter().convert(first))
    c = {"conversation_id": "101"}
    assert events == [
        {
            "event_id": "intercom:101:start",
            "type": "conversation_started",
            "ts": "2026-11-02T09:00:00Z",
            **c,
            "customer_id": ANNA,
            "channel": "web",  # source.type "conversation": the Messenger
            "initiated_by": "customer",
            "page_url": "https://shop.example/orders/123",
        },
        {  # source.body "<p>Hi, my order <b>#123</b> hasn&#39;t arrived &amp; I&#x27;m worried</p>"
            "event_id": "intercom:101:source:403918301",
            "type": "message",
            "ts": "2026-11-02T09:00:00Z",
            **c,
            "text": "Hi, my order #123 hasn't arrived & I'm worried",
            "sender": "customer",
            "customer_id": ANNA,
        },
        {  # default_assignment by Operator to Ada: the bot had not spoken, so no handoff
            "event_id": "intercom:101:part:1001",
            "type": "agent_joined",
            "ts": "2026-11-02T09:00:20Z",
            **c,
            "agent_id": ADA,
        },
        # part 1002 (conversation_attribute_updated_by_admin) makes no event
        {
            "event_id": "intercom:101:part:1003",
            "type": "message",
            "ts": "2026-11-02T09:00:45Z",
            **c,
            "text": "Hello Anna!\nLet me check that for you.",
            "sender": "agent",
            "agent_id": ADA,
        },
        {
            "event_id": "intercom:101:part:1004",
            "type": "message",
            "ts": "2026-11-02T09:01:00Z",
            **c,
            "text": "Carrier delay – see DHL ticket",
            "private": True,
            "sender": "agent",
            "agent_id": ADA,
        },
        {
            "event_id": "intercom:101:part:1005",
            "type": "message",
            "ts": "2026-11-02T09:02:00Z",
            **c,
            "text": "Thanks a lot",
            "sender": "customer",
            "customer_id": ANNA,
        },
        {
            "event_id": "intercom:101:part:1006",
            "type": "message",
            "ts": "2026-11-02T09:03:00Z",
            **c,
            "text": "It ships tomorrow.\nTracking: here",
            "sender": "agent",
            "agent_id": ADA,
        },
        {
            "event_id": "intercom:101:part:1007",
            "type": "conversation_closed",
            "ts": "2026-11-02T09:05:00Z",
            **c,
            "resolution": "resolved",
            "resolved_by": "agent",
            "agent_id": ADA,
        },
        {
            "event_id": "intercom:101:tag:7000001",
            "type": "tag_added",
            "ts": "2026-11-02T09:03:20Z",
            **c,
            "tag": "shipping",
            "agent_id": ADA,
        },
        {  # rated at updated_at (+330 s); the rating was requested at the close
            "event_id": "intercom:101:rating",
            "type": "rating",
            "ts": "2026-11-02T09:05:30Z",
            **c,
            "kind": "csat",
            "score": 5,
            "comment": "Quick and kind",
            "customer_id": ANNA,
            "agent_id": ADA,
        },
    ]


def test_bot_handover_reopen_and_reclose_field_by_field():
    third = conversations()[2]
    events = list(IntercomImporter().convert(third))
    short = [(e["type"], e["ts"][11:19], e.get("sender"), e["event_id"]) for e in events]
    assert short == [
        ("conversation_started", "11:00:00", None, "intercom:103:start"),
        ("message", "11:00:00", "customer", "intercom:103:source:403918303"),
        ("message", "11:00:04", "bot", "intercom:103:part:3001"),
        ("message", "11:00:30", "customer", "intercom:103:part:3002"),
        ("message", "11:00:34", "bot", "intercom:103:part:3003"),
        ("handoff_requested", "11:00:35", None, "intercom:103:part:3004:handoff"),
        ("agent_joined", "11:01:35", None, "intercom:103:part:3005"),
        ("message", "11:02:05", "agent", "intercom:103:part:3006"),
        ("conversation_closed", "11:03:20", None, "intercom:103:part:3007"),
        ("conversation_reopened", "12:06:40", None, "intercom:103:part:3008:reopen"),
        ("message", "12:06:40", "customer", "intercom:103:part:3008"),
        ("message", "12:08:20", "agent", "intercom:103:part:3009"),
        ("conversation_closed", "12:10:00", None, "intercom:103:part:3010"),
        ("tag_added", "11:02:10", None, "intercom:103:tag:7000002"),
        ("rating", "12:11:40", None, "intercom:103:rating"),
    ]
    by_id = {e["event_id"]: e for e in events}
    assert by_id["intercom:103:start"]["team"] == TEAM  # team_assignee_id
    assert by_id["intercom:103:part:3001"]["bot_id"] == FIN  # author.type "bot" (Fin)
    assert "agent_id" not in by_id["intercom:103:part:3001"]
    assert by_id["intercom:103:part:3004:handoff"] == {
        "event_id": "intercom:103:part:3004:handoff",
        "type": "handoff_requested",
        "ts": "2026-11-02T11:00:35Z",
        "conversation_id": "103",
        "team": TEAM,
    }
    assert by_id["intercom:103:part:3005"]["agent_id"] == BEN
    assert by_id["intercom:103:part:3006"]["text"] == (
        "Sorry about that — I’ve refunded the duplicate charge."  # &mdash; and &rsquo;
    )
    assert by_id["intercom:103:part:3010"]["resolved_by"] == "agent"
    assert by_id["intercom:103:rating"]["score"] == 2
    assert by_id["intercom:103:rating"]["comment"] == "Took too long"


def test_transfer_outbound_and_unanswered_conversations():
    _, bot_chat, _, email, outbound, whatsapp = conversations()
    imp = IntercomImporter()
    events = {
        e["event_id"]: e for c in (bot_chat, email, outbound, whatsapp) for e in imp.convert(c)
    }
    # 102: Fin (author.type bot) answers and closes: the close is the bot's
    assert events["intercom:102:part:2001"]["sender"] == "bot"
    assert events["intercom:102:part:2001"]["text"] == (
        "Go to Settings → Security and choose Reset password."
    )
    assert events["intercom:102:part:2003"]["resolved_by"] == "bot"
    assert "comment" not in events["intercom:102:rating"]  # remark null
    # 104: email; Ada assigns herself (pickup), then assigns Cleo (a transfer)
    assert events["intercom:104:start"]["channel"] == "email"
    assert events["intercom:104:source:403918304"]["text"] == (
        "Hello,\nwe need a quote for 50 seats.\nDan"
    )
    assert events["intercom:104:part:4001"]["type"] == "agent_joined"
    assert events["intercom:104:part:4003"] == {
        "event_id": "intercom:104:part:4003",
        "type": "transferred",
        "ts": "2026-11-02T12:01:40Z",
        "conversation_id": "104",
        "agent_id": CLEO,
        "from_agent_id": ADA,
    }
    assert events["intercom:104:part:4004"]["text"] == "Here is your quote: 50 × 12 € = 600 €."
    assert "intercom:104:part:4005" not in events  # snoozed
    assert "intercom:104:part:4006" not in events  # unsnoozed
    # 105: an admin's outbound message: business-initiated, the first message is Ada's
    assert events["intercom:105:start"]["initiated_by"] == "business"
    assert events["intercom:105:source:403918305"]["sender"] == "agent"
    assert events["intercom:105:source:403918305"]["agent_id"] == ADA
    # 106: routed to a team by a rule (no bot spoke): no handoff, no pickup
    assert events["intercom:106:start"]["channel"] == "whatsapp"
    assert [k for k in events if k.startswith("intercom:106:")] == [
        "intercom:106:start",
        "intercom:106:source:403918306",
        "intercom:106:part:6002",
    ]


def test_custom_bot_handover_to_an_admin_team_transfer_and_older_shapes():
    """Hand-made: a custom bot's outbound message (operator_initiated), the bot assigns the
    customer straight to Ada (handoff and pickup at once), Ada moves it to a team (the
    transfer ends her stint), it is unassigned; contacts and tags as plain lists."""
    t = 1793610000
    bot = {"type": "bot", "id": "8123401"}
    conv = {
        "type": "conversation",
        "id": "200",
        "created_at": t,
        "source": {
            "type": "conversation",
            "id": "9",
            "delivered_as": "operator_initiated",
            "author": bot,
            "body": "<p>Hi! What can we help with?</p>",
        },
        "contacts": [{"type": "user", "id": "u1"}],
        "tags": [{"type": "tag", "id": "31", "name": "vip"}],
        "conversation_parts": {
            "conversation_parts": [
                {
                    "id": "21",
                    "part_type": "comment",
                    "created_at": t + 10,
                    "body": "Human please",
                    "author": {"type": "user", "id": "u1"},
                },
                {
                    "id": "22",
                    "part_type": "assignment",
                    "created_at": t + 12,
                    "author": bot,
                    "assigned_to": {"type": "admin", "id": ADA},
                },
                {
                    "id": "23",
                    "part_type": "assignment",
                    "created_at": t + 30,
                    "author": {"type": "admin", "id": ADA},
                    "assigned_to": {"type": "team", "id": TEAM},
                },
                {
                    "id": "24",
                    "part_type": "assignment",
                    "created_at": t + 40,
                    "author": {"type": "admin", "id": BEN},
                    "assigned_to": None,
                },
                {
                    "id": "25",
                    "part_type": "close",
                    "created_at": t + 50,
                    "author": {"type": "admin", "id": BEN, "from_ai_agent": True},
                },
            ]
        },
    }
    events = list(IntercomImporter().convert(conv))
    brief = [(e["type"], e["ts"][14:19], e.get("sender") or e.get("agent_id")) for e in events]
    assert brief == [
        ("conversation_started", "00:00", None),
        ("message", "00:00", "bot"),  # the custom bot's opening message
        ("message", "00:10", "customer"),
        ("handoff_requested", "00:12", None),  # the bot had spoken: a hand-over...
        ("agent_joined", "00:12", ADA),  # ...straight to Ada: picked up at once
        ("transferred", "00:30", None),  # to the team, from Ada
        # part 24 (unassigned) makes no event
        ("conversation_closed", "00:50", None),
        ("tag_added", "00:00", None),  # no applied_at: the conversation's start
    ]
    assert events[0]["initiated_by"] == "business" and events[0]["customer_id"] == "u1"
    assert events[5]["team"] == TEAM and events[5]["from_agent_id"] == ADA
    assert events[6]["resolved_by"] == "bot"  # from_ai_agent: the AI agent closed it
    outbound = copy.deepcopy(conv)
    outbound["source"].update(delivered_as="automated", author={"type": "admin", "id": ADA})
    first = list(IntercomImporter().convert(outbound))[1]
    assert (first["sender"], "agent_id" in first) == ("system", False)  # a Series message


def test_kpis_worked_out_by_hand(store):
    summary = load(store, EXPORT)
    assert (summary.read, summary.imported, summary.rejected) == (EVENTS_IN_EXPORT,) * 2 + (0,)
    f = facts(store)
    assert set(f) == {"101", "102", "103", "104", "105", "106"}
    # queue entry -> first agent message: 101 45 s (no bot: from the start), 103 125-35 = 90 s
    # (from Fin's handover), 104 90 s, 105 0 s (the outbound message is Ada's); 102 bot-only,
    # 106 never answered
    frt = {c: f[c]["first_response_seconds"] for c in f}
    assert frt == {"101": 45, "102": None, "103": 90, "104": 90, "105": 0, "106": None}
    assert value(store, "first_response_time") == pytest.approx((45 + 90 + 90 + 0) / 4)
    assert value(store, "first_response_time_median") == pytest.approx(67.5)
    # pickup: 101 +20, 103 95-35 = 60, 104 +60 (105 and 106 have no assignment to an admin)
    assert value(store, "wait_time") == pytest.approx((20 + 60 + 60) / 3)
    # resolution: start -> final resolved close: 300, 90, 4200 (reopened time included), 5100
    assert value(store, "resolution_time") == pytest.approx((300 + 90 + 4200 + 5100) / 4)
    assert f["103"]["reopens"] == 1 and f["103"]["closes"] == 2
    assert value(store, "csat") == pytest.approx((5 + 4 + 2) / 3)
    # bot conversations 102 and 103; 103 was handed over
    assert value(store, "handoff_rate") == pytest.approx(0.5)
    assert f["102"]["bot_only"] and f["102"]["bot_resolved"] and f["102"]["resolved_by"] == "bot"
    assert f["103"]["handoff_at"] is not None and not f["103"]["bot_only"]
    # human conversations 101, 103, 104, 105, 106; one transfer (104); one missed chat (106)
    assert value(store, "human_conversations") == 5
    assert value(store, "transfer_rate") == pytest.approx(1 / 5)
    assert f["104"]["agents"] == [ADA, CLEO]
    assert value(store, "missed_chats") == 1 and f["106"]["missed"]
    assert f["105"]["initiated_by"] == "business"
    assert f["101"]["messages"] == 4  # the note is private
    assert f["104"]["tags"] == ["quote", "sales"]
    assert f["103"]["team"] == TEAM and f["106"]["channel"] == "whatsapp"
    assert f["101"]["customer_id"] == ANNA and f["102"]["customer_id"] == BOB


def test_statistics_block_cross_checks_frt_and_time_to_close(store):
    """Intercom's own `statistics` against chatlens' facts, conversation by conversation.

    Where the definitions agree the numbers must be equal; where they differ, the difference
    must be exactly the documented one (docs/importers/intercom.md, "Intercom's statistics")."""
    load(store, EXPORT)
    f = facts(store)
    checked = {"frt": [], "close": []}
    for conv in conversations():
        s, fact, cid = conv["statistics"], f[conv["id"]], conv["id"]
        parts = conv["conversation_parts"]["conversation_parts"]
        bot_spoke = any(p["author"]["type"] == "bot" and p["part_type"] == "comment" for p in parts)
        customer_first = conv["source"]["delivered_as"] == "customer_initiated"
        # first response: Intercom counts from the contact's first message, chatlens from the
        # queue entry (the bot's handover, or the start when no bot took part)
        if s["time_to_admin_reply"] is None:
            assert fact["first_response_seconds"] is None  # 102 bot-only, 106 missed
        elif customer_first and not bot_spoke:  # same definition: 101, 104
            assert fact["first_response_seconds"] == s["time_to_admin_reply"], cid
            assert fact["wait_seconds"] == s["time_to_assignment"], cid
            checked["frt"].append(cid)
        elif bot_spoke:  # 103: Intercom includes the 35 s Fin spent before handing over
            bot_phase = fact["handoff_at"].timestamp() - s["first_contact_reply_at"]
            assert bot_phase == 35
            assert fact["first_response_seconds"] == s["time_to_admin_reply"] - bot_phase
        else:  # 105: outbound; chatlens' first response is the message itself (0 s), the
            # reply to Eve's message is chatlens' response_time
            assert fact["first_response_seconds"] == 0
            assert fact["response_times"] == [s["time_to_admin_reply"]] == [60]
        # time to close: chatlens' resolution_time runs to the final close
        if s["time_to_first_close"] is None:
            assert fact["resolution_seconds"] is None  # 105, 106 still open
        elif s["count_reopens"] == 0:  # same definition: 101, 102, 104
            assert fact["resolution_seconds"] == s["time_to_first_close"], cid
            checked["close"].append(cid)
        else:  # 103 reopened: chatlens counts to the last close, like time_to_last_close
            assert fact["resolution_seconds"] == s["time_to_last_close"] == 4200
            assert s["time_to_first_close"] == 200
            assert fact["reopens"] == s["count_reopens"] == 1
    assert checked == {"frt": ["101", "104"], "close": ["101", "102", "104"]}


def test_list_page_envelope_then_full_export_adds_only_the_parts(store):
    """A list/search page carries no parts: starts, first messages, tags and ratings only.
    Retrieving the conversations afterwards adds their parts and nothing twice."""
    page = load(store, LIST_PAGE)
    # 101: start, first message, tag, rating; 102: start, first message, rating; 103: 4 as 101
    assert (page.read, page.imported, page.rejected) == (11, 11, 0)
    kinds = store.con.execute(
        "SELECT type, count(*) FROM events GROUP BY type ORDER BY type"
    ).fetchall()
    assert kinds == [("conversation_started", 3), ("message", 3), ("rating", 3), ("tag_added", 2)]
    full = load(store, EXPORT)
    assert (full.imported, full.duplicates) == (EVENTS_IN_EXPORT - 11, 11)
    assert count(store) == EVENTS_IN_EXPORT


def test_json_array_jsonl_and_reimport_add_nothing_twice(store, tmp_path):
    jsonl = tmp_path / "conversations.jsonl"  # one GET /conversations/{id} response a line
    jsonl.write_bytes(b"".join(orjson.dumps(c) + b"\n" for c in conversations()))
    first = load(store, jsonl)
    assert (first.read, first.imported) == (EVENTS_IN_EXPORT, EVENTS_IN_EXPORT)
    again = load(store, EXPORT)  # the same conversations as a JSON array
    assert (again.imported, again.duplicates) == (0, EVENTS_IN_EXPORT)
    page = load(store, LIST_PAGE)
    assert (page.imported, page.duplicates) == (0, 11)
    assert count(store) == EVENTS_IN_EXPORT


def test_overlapping_later_export_adds_only_what_is_new(store, tmp_path):
    """Export A is taken at 11:05: 103 has just been closed the first time and is not rated
    yet; export B (the full fixture) is taken later."""
    everything = conversations()
    early = copy.deepcopy(everything[2])
    early["conversation_parts"]["conversation_parts"] = early["conversation_parts"][
        "conversation_parts"
    ][:7]  # up to the first close (part 3007)
    early["conversation_rating"] = None
    first = tmp_path / "export_a.json"
    first.write_bytes(orjson.dumps([everything[1], early]))
    a = load(store, first)
    assert a.imported == 6 + 10  # 102 whole; 103 up to its first close, with its tag
    assert facts(store)["103"]["is_closed"]
    b = load(store, EXPORT)
    # new: 101 (10), 103's reopen + 3 parts + rating (5), 104 (9), 105 (4), 106 (3)
    assert (b.imported, b.duplicates) == (31, 16)
    f = facts(store)["103"]
    assert (f["reopens"], f["resolution_seconds"], f["csat"]) == (1, 4200, 2)


def test_bad_conversations_are_quarantined_naming_item_and_field(store, tmp_path):
    good = conversations()[0]
    no_time = copy.deepcopy(conversations()[4])
    no_time["id"] = "999"
    del no_time["conversation_parts"]["conversation_parts"][1]["created_at"]
    odd_author = copy.deepcopy(conversations()[5])
    odd_author["id"] = "998"
    odd_author["conversation_parts"]["conversation_parts"][1]["author"]["type"] = "visitor"
    no_id = {"type": "conversation", "created_at": 1793610000}
    path = tmp_path / "export.json"
    path.write_bytes(orjson.dumps([good, no_time, odd_author, no_id]))
    summary = import_file(store, path, records=IntercomImporter().records(path))
    assert (summary.imported, summary.rejected) == (10, 3)  # 101 whole
    assert summary.first_errors == [
        "item 1 (conversation 999): field 'conversation_parts.conversation_parts[1]"
        ".created_at': missing",
        "item 2 (conversation 998): field 'conversation_parts.conversation_parts[1]"
        ".author.type': unknown author type 'visitor'; expected one of admin, bot, contact, "
        "lead, team, user",
        "item 3: field 'id': missing",
    ]
    quarantined = [orjson.loads(line) for line in rejected_path_for(path).read_bytes().splitlines()]
    assert [q["item"] for q in quarantined] == [1, 2, 3]
    assert quarantined[0]["ref"] == "conversation 999"
    assert quarantined[0]["record"]["id"] == "999"  # the Intercom object, to fix and re-import


def test_html_bodies_become_plain_text():
    assert html_to_text("<p>a &lt;b&gt; &amp; c</p>") == "a <b> & c"
    assert html_to_text("<ul><li>one</li><li>two</li></ul>") == "one\ntwo"
    assert html_to_text("line<br/>next<br>last") == "line\nnext\nlast"
    assert html_to_text('<p><img src="x.png"></p>') is None
    assert html_to_text("<style>p {}</style><p>kept</p>") == "kept"
    assert html_to_text("plain text") == "plain text"
    assert html_to_text(None) is None and html_to_text("") is None


def test_cli_imports_an_intercom_export(tmp_path):
    db = tmp_path / "cli.duckdb"
    result = CliRunner().invoke(app, ["import", "--from", "intercom", str(EXPORT), "--db", str(db)])
    assert result.exit_code == 0, result.output
    assert f"imported {EVENTS_IN_EXPORT}" in result.output
    with open_store(db) as store:
        assert count(store) == EVENTS_IN_EXPORT
    assert get_importer("intercom").name == "intercom"
