"""The mapping importer: a TOML file says where each chatlens field is in a CSV/JSON export.

Fixtures (tests/importers/data/mapping/):
- messages.csv, broken.csv: the shipped `one-row-per-message` mapping;
- webhook.toml + webhook.jsonl: flat JSON objects, Unix ms times, a boolean direction,
  nested paths, an API envelope, a closing status;
- helsinki.toml + helsinki.csv: strftime local times in Europe/Helsinki, direction in/out,
  no message ids;
- desk.toml + desk.json, desk-later.json: a nested export (conversation objects holding their
  turns), exported twice.
(The real nested export, ibm-twitter-care, is in test_ibm_twitter.py.)
"""

from __future__ import annotations

import shutil
from pathlib import Path

import orjson
import pytest
from typer.testing import CliRunner

from chatlens.cli import app
from chatlens.errors import InputError
from chatlens.importers import get_importer
from chatlens.importers.mapping import MappingImporter
from chatlens.ingest import import_file, rejected_path_for
from chatlens.store.facts import refresh_facts
from tests.conftest import facts, report

DATA = Path(__file__).parent / "data" / "mapping"
SHIPPED = "one-row-per-message"


def copy(tmp_path: Path, name: str) -> Path:
    """A fixture copied to tmp (a quarantine file is written beside the input)."""
    return Path(shutil.copy(DATA / name, tmp_path / name))


def run(store, path: Path, mapping: str = SHIPPED):
    importer = MappingImporter({"mapping": mapping})
    return import_file(store, path, records=importer.records(path))


def events(path: Path, mapping: str = SHIPPED) -> list[dict]:
    return [r.data for r in MappingImporter({"mapping": mapping}).records(path)]


def msg(n, ts, sender, text, conv, **more):
    return {
        "event_id": f"csv:{conv}:msg:{n}",
        "type": "message",
        "ts": f"2026-11-02T{ts}.000Z",
        "conversation_id": conv,
        **more,
        "sender": sender,
        "text": text,
    }


def test_one_row_per_message_csv_event_by_event(tmp_path):
    web = {"channel": "web", "team": "support"}
    got = events(copy(tmp_path, "messages.csv"))
    assert got == [
        msg(
            1,
            "09:00:00",
            "customer",
            "Hi, my parcel has not arrived yet.",
            "c1",
            channel="web",
            customer_id="alice",
            team="support",
        ),
        msg(
            2,
            "09:00:45",
            "agent",
            "Sorry to hear that - let me check the tracking.",
            "c1",
            **web,
            agent_id="anna",
        ),
        msg(
            3,
            "09:01:30",
            "customer",
            "It is order 5521.",
            "c1",
            channel="web",
            customer_id="alice",
            team="support",
        ),
        msg(
            4, "09:02:00", "agent", "It arrives tomorrow before noon.", "c1", **web, agent_id="anna"
        ),
        # row 5 has a resolution and no text: a close only
        {
            "event_id": "csv:c1:close:5",
            "type": "conversation_closed",
            "ts": "2026-11-02T09:03:00.000Z",
            "conversation_id": "c1",
            **web,
            "resolution": "resolved",
            "resolved_by": "agent",
        },
        msg(
            6,
            "10:00:00",
            "customer",
            "What are your opening hours?",
            "c2",
            channel="whatsapp",
            customer_id="bob",
        ),
        # row 7 has text and a resolution: the bot's message, then the close
        msg(7, "10:00:02", "bot", "We are open 9-17 on weekdays.", "c2", channel="whatsapp"),
        {
            "event_id": "csv:c2:close:7",
            "type": "conversation_closed",
            "ts": "2026-11-02T10:00:02.000Z",
            "conversation_id": "c2",
            "channel": "whatsapp",
            "resolution": "resolved",
            "resolved_by": "bot",
        },
        # "visitor" and "operator" are mapped to customer and agent
        msg(
            8,
            "11:00:00",
            "customer",
            "Can I change my delivery address?",
            "c3",
            channel="web",
            customer_id="carol",
            team="support",
        ),
        msg(9, "11:02:00", "agent", "Yes - send me the new address.", "c3", **web, agent_id="ben"),
        msg(
            10,
            "11:03:00",
            "customer",
            "Mannerheimintie 1, Helsinki",
            "c3",
            channel="web",
            customer_id="carol",
            team="support",
        ),
        msg(11, "11:03:40", "agent", "Done!", "c3", **web, agent_id="anna"),
        # after the last row: each agent's join at its first message in the conversation;
        # no conversation_started (the CSV has no conversation_started_at column)
        {
            "event_id": "csv:c1:joined:anna",
            "type": "agent_joined",
            "ts": "2026-11-02T09:00:45.000Z",
            "conversation_id": "c1",
            **web,
            "agent_id": "anna",
        },
        {
            "event_id": "csv:c3:joined:ben",
            "type": "agent_joined",
            "ts": "2026-11-02T11:02:00.000Z",
            "conversation_id": "c3",
            **web,
            "agent_id": "ben",
        },
        {
            "event_id": "csv:c3:joined:anna",
            "type": "agent_joined",
            "ts": "2026-11-02T11:03:40.000Z",
            "conversation_id": "c3",
            **web,
            "agent_id": "anna",
        },
    ]


def test_one_row_per_message_kpis(store, tmp_path):
    summary = run(store, copy(tmp_path, "messages.csv"))
    assert (summary.read, summary.imported, summary.rejected) == (15, 15, 0)
    refresh_facts(store)
    f = facts(store)
    # started at the first row (no conversation_started: the store takes the earliest event)
    assert [str(f[c]["started_at"])[11:19] for c in ("c1", "c2", "c3")] == [
        "09:00:00",
        "10:00:00",
        "11:00:00",
    ]
    # c1: live chat only (no bot), so it queues from its start: first reply 45 s later;
    # runs of customer messages answered after 45 s (09:00:00) and 30 s (09:01:30);
    # closed resolved 180 s after the start; anna's stint 09:00:45 -> close 09:03:00 = 135 s
    assert f["c1"]["first_response_seconds"] == 45
    assert f["c1"]["response_times"] == [45, 30]
    assert f["c1"]["resolution_seconds"] == 180
    assert f["c1"]["handle_seconds"] == 135
    assert (f["c1"]["agents"], f["c1"]["customer_id"]) == (["anna"], "alice")
    # c2: bot-only, closed resolved by the bot
    assert (f["c2"]["bot_only"], f["c2"]["bot_resolved"], f["c2"]["outcome"]) == (
        True,
        True,
        "resolved",
    )
    # c3: first reply 120 s (ben), then anna answers the 11:03:00 message after 40 s; open
    assert f["c3"]["first_response_seconds"] == 120
    assert f["c3"]["response_times"] == [120, 40]
    assert (f["c3"]["agents"], f["c3"]["outcome"]) == (["ben", "anna"], "open")
    r = report(
        store,
        [
            "conversations",
            "messages",
            "human_conversations",
            "first_response_time",
            "first_response_time_median",
            "response_time",
            "response_time_median",
            "successful_chats",
            "bot_resolution_rate",
        ],
    ).rows[0]
    # messages: 4 in c1 (row 5 is a close only) + 2 in c2 + 4 in c3
    assert (r["conversations"], r["messages"], r["human_conversations"]) == (3, 10, 2)
    # FRT over c1 and c3: (45 + 120) / 2; response times 45, 30, 120, 40
    assert (r["first_response_time"], r["first_response_time_median"]) == (82.5, 82.5)
    assert r["response_time"] == (45 + 30 + 120 + 40) / 4
    assert r["response_time_median"] == (40 + 45) / 2
    # successful = closed resolved by an agent or the customer (c1); the one bot chat resolved
    assert (r["successful_chats"], r["bot_resolution_rate"]) == (1, 1.0)
    by_channel = report(store, "conversations", dimensions=["channel"]).rows
    assert {row["channel"]: row["conversations"] for row in by_channel} == {"web": 2, "whatsapp": 1}


def test_reimport_adds_nothing_and_a_later_export_adds_only_what_is_new(store, tmp_path):
    rows = (DATA / "messages.csv").read_text().splitlines()
    first = tmp_path / "first.csv"
    first.write_text("\n".join(rows[:4]) + "\n")  # header + c1 messages 1-3
    later = tmp_path / "later.csv"
    later.write_text("\n".join([rows[0], *rows[2:6]]) + "\n")  # c1 messages 2-5
    summary = run(store, first)
    assert (summary.imported, summary.duplicates) == (4, 0)  # 3 messages + anna's join
    again = run(store, first)
    assert (again.imported, again.duplicates) == (0, 4)
    summary = run(store, later)
    # new: message 4 and the close (row 5); messages 2, 3 and anna's join are known
    assert (summary.imported, summary.duplicates) == (2, 3)


def test_back_filled_earlier_rows_move_the_start_but_not_a_join(store, tmp_path):
    """The documented rule: a flat export derives no conversation_started (the store takes
    the start from the earliest event), so importing an export with earlier rows later moves
    the start; an agent's join, derived once with a conversation-based id, keeps its time."""
    rows = (DATA / "messages.csv").read_text().splitlines()
    tail = tmp_path / "tail.csv"
    tail.write_text("\n".join([rows[0], *rows[3:6]]) + "\n")  # c1 rows 3-5 (09:01:30 on)
    run(store, tail)
    refresh_facts(store)
    assert str(facts(store)["c1"]["started_at"])[11:19] == "09:01:30"
    run(store, copy(tmp_path, "messages.csv"))
    refresh_facts(store)
    c1 = facts(store)["c1"]
    assert str(c1["started_at"])[11:19] == "09:00:00"
    assert c1["first_response_seconds"] == 45  # 09:00:00 -> anna's reply at 09:00:45
    # anna's join came from the tail export (her first reply there: 09:02:00)
    assert str(c1["picked_up_at"])[11:19] == "09:02:00"


def test_started_at_column_gives_one_conversation_started(store, tmp_path):
    path = tmp_path / "started.jsonl"
    rows = [
        {
            "conversation_id": "s1",
            "conversation_started_at": "2026-11-05T07:59:00+02:00",
            "message_id": "a",
            "timestamp": "2026-11-05T06:00:00Z",
            "sender": "customer",
            "text": "Hello",
            "channel": "Web",
        },
        {
            "conversation_id": "s1",
            "conversation_started_at": "2026-11-05T07:59:00+02:00",
            "message_id": "b",
            "timestamp": "2026-11-05T06:02:00Z",
            "sender": "agent",
            "text": "Hi!",
            "agent": "anna",
            "channel": "Web",
        },
    ]
    path.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in rows))
    got = events(path)
    assert got[0] == {
        "event_id": "csv:s1:started",
        "type": "conversation_started",
        "ts": "2026-11-05T05:59:00.000Z",
        "conversation_id": "s1",
        "channel": "Web",
    }
    assert [e["type"] for e in got] == [
        "conversation_started",
        "message",
        "message",
        "agent_joined",
    ]
    run(store, path)
    refresh_facts(store)
    s1 = facts(store)["s1"]
    # queue entry at the start (05:59), first reply 06:02: 180 s; channel lower-cased
    assert (s1["first_response_seconds"], s1["channel"]) == (180, "web")


def test_malformed_rows_are_named_and_the_others_import(store, tmp_path):
    path = copy(tmp_path, "broken.csv")
    summary = run(store, path)
    # good: message 70, message 74 and anna's join at 74; rejected: lines 3, 4, 5
    assert (summary.read, summary.imported, summary.rejected) == (6, 3, 3)
    assert summary.first_errors == [
        "line 3 (conversation c7, message 71): field 'timestamp': "
        "not an ISO 8601 time: 'yesterday'",
        "line 4 (message 72): field 'conversation_id': missing (conversation.id)",
        "line 5 (conversation c7, message 73): field 'sender': 'robot' is not one of the "
        "mapped values: customer, agent, bot, system, user, visitor, operator",
    ]
    entries = [orjson.loads(line) for line in rejected_path_for(path).read_bytes().splitlines()]
    assert [e["line"] for e in entries] == [3, 4, 5]
    assert entries[0]["record"]["timestamp"] == "yesterday"  # the row itself, to fix
    again = run(store, path)
    assert (again.imported, again.duplicates, again.rejected) == (0, 3, 3)


WEBHOOK = [orjson.loads(line) for line in (DATA / "webhook.jsonl").read_bytes().splitlines()]


@pytest.mark.parametrize(
    "name, content",
    [
        ("hook.jsonl", b"".join(orjson.dumps(r) + b"\n" for r in WEBHOOK)),
        ("hook.json", orjson.dumps(WEBHOOK)),
        ("hook-page.json", orjson.dumps({"data": WEBHOOK, "next": None})),
    ],
    ids=["jsonl", "array", "envelope"],
)
def test_flat_json_shapes(store, tmp_path, name, content):
    path = tmp_path / name
    path.write_bytes(content)
    mapping = str(DATA / "webhook.toml")
    got = events(path, mapping)
    base = {
        "conversation_id": "501",
        "channel": "messenger",
        "customer_id": "v-9",
        "attrs": {"plan": "pro"},
    }
    assert got == [
        {
            "event_id": "hook:501:msg:m1",
            "type": "message",
            "ts": "2026-11-02T10:00:00.000Z",
            **base,
            "sender": "customer",
            "text": "Can I get an invoice?",
        },
        {
            "event_id": "hook:501:msg:m2",
            "type": "message",
            "ts": "2026-11-02T10:00:30.500Z",
            **base,
            "sender": "agent",
            "text": "Sure, sending it now.",
            "agent_id": "anna@example.com",
        },
        {
            "event_id": "hook:501:msg:m3",
            "type": "message",
            "ts": "2026-11-02T10:01:30.000Z",
            **base,
            "sender": "agent",
            "text": "Sent - anything else?",
            "agent_id": "anna@example.com",
        },
        {
            "event_id": "hook:501:close:m3",
            "type": "conversation_closed",
            "ts": "2026-11-02T10:01:30.000Z",
            **base,
            "resolution": "resolved",
            "resolved_by": "agent",
        },
        {
            "event_id": "hook:501:joined:anna@example.com",
            "type": "agent_joined",
            "ts": "2026-11-02T10:00:30.500Z",
            **base,
            "agent_id": "anna@example.com",
        },
    ]
    run(store, path, mapping)
    refresh_facts(store)
    chat = facts(store)["501"]
    assert (chat["first_response_seconds"], chat["resolution_seconds"]) == (30.5, 90)
    r = report(store, "conversations", dimensions=["attrs.plan"]).rows
    assert [(row["attrs.plan"], row["conversations"]) for row in r] == [("pro", 1)]


def test_strftime_times_in_a_zone_and_hashed_ids(store, tmp_path):
    path = copy(tmp_path, "helsinki.csv")
    mapping = str(DATA / "helsinki.toml")
    got = events(path, mapping)
    # Helsinki is UTC+2 in November; on 29 March 2026 summer time began at 03:00 (UTC+3)
    assert [(e["conversation_id"], e["ts"], e["sender"]) for e in got] == [
        ("T-1", "2026-11-02T09:00:00.000Z", "customer"),
        ("T-1", "2026-11-02T09:04:00.000Z", "agent"),
        ("T-2", "2026-03-29T01:30:00.000Z", "customer"),
    ]
    # no message ids: ids are hashed from time, sender and text, never the row position
    assert all(e["event_id"].startswith(f"desk:{e['conversation_id']}:msg:") for e in got)
    assert len({e["event_id"] for e in got}) == 3
    assert got[1]["agent_id"] == "Liisa"
    assert (run(store, path, mapping).imported, run(store, path, mapping).duplicates) == (3, 3)


def test_nested_export_then_a_later_export(store, tmp_path):
    mapping = str(DATA / "desk.toml")
    summary = run(store, copy(tmp_path, "desk.json"), mapping)
    # d-1: started (at its earliest turn), 2 messages, kim's join
    assert (summary.imported, summary.rejected) == (4, 0)
    later = copy(tmp_path, "desk-later.json")
    got = [e for e in events(later, mapping) if e["conversation_id"] == "d-1"]
    assert [(e["event_id"], e["ts"][11:19]) for e in got] == [
        ("desk:d-1:started", "12:00:00"),
        ("desk:d-1:msg:1", "12:00:00"),
        ("desk:d-1:joined:kim", "12:10:00"),
        ("desk:d-1:msg:2", "12:10:00"),
        ("desk:d-1:msg:3", "12:30:00"),
        ("desk:d-1:close:3", "12:30:00"),
    ]
    summary = run(store, later, mapping)
    # new: d-1's turn 3 and its close; d-2's start, 3 messages and close (state "solved" on
    # the requester's turn: resolved by the customer)
    assert (summary.imported, summary.duplicates) == (7, 4)
    refresh_facts(store)
    f = facts(store)
    assert (f["d-1"]["first_response_seconds"], f["d-1"]["resolved_by"]) == (600, "agent")
    assert (f["d-2"]["bot_resolved"], f["d-2"]["resolved_by"]) == (True, "customer")
    assert (f["d-2"]["channel"], f["d-2"]["customer_id"]) == ("web", "r-2")


BASE = """
source = "x"
[conversation]
id = "conv"
[message]
ts = "at"
sender = "who"
"""


@pytest.mark.parametrize(
    "text, error",
    [
        (BASE.replace('source = "x"', ""), "key 'source': required"),
        (BASE + "sendr = 'x'\n", "key 'message.sendr': unknown; expected one of: id, ts,"),
        (BASE.replace('ts = "at"', ""), "key 'message.ts': required"),
        (BASE.replace('id = "conv"', 'turns = "t"'), "key 'conversation.id': required"),
        (
            BASE + "agent_id = { path = 'text', pattern = '(unclosed' }\n",
            "key 'message.agent_id.pattern': not a valid regular expression",
        ),
        (
            BASE.replace('sender = "who"', "sender = { path = 'in', values = { y = 'client' } }"),
            "key 'message.sender.values.y': 'client' is not one of: customer, agent, bot, system",
        ),
        (
            BASE + "text = { path = 'a', value = 'b' }\n",
            "key 'message.text': give exactly one of 'path', 'value' or 'present'",
        ),
        (BASE + "text = { path = 'a', format = 'iso' }\n", "key 'message.text.format': only for"),
        (BASE + "[time]\nformat = 'epoch'\n", "key 'time.format': 'epoch': expected iso, unix"),
        (BASE + "[time]\ntimezone = 'Mars/Base'\n", "unknown time zone 'Mars/Base'"),
        (BASE + "[close]\nrecord = 'end'\n", "key 'close.record': a closing record inside"),
        (BASE + "[close]\nresolution = { value = 'done' }\n", "key 'close.resolution.value'"),
        (BASE + "[extra]\n", "key 'extra': unknown"),
        ("source = [", "not valid TOML"),
    ],
)
def test_mapping_file_is_checked_up_front(tmp_path, text, error):
    path = tmp_path / "my.toml"
    path.write_text(text)
    with pytest.raises(InputError, match=r"mapping .*my\.toml") as caught:
        MappingImporter({"mapping": str(path)})
    assert error in str(caught.value)


def test_mapping_option_names_a_file_or_a_shipped_mapping():
    with pytest.raises(InputError, match=r"needs --option mapping=FILE .* ibm-twitter-care, "):
        get_importer("mapping")
    with pytest.raises(InputError, match="'nope': no such file, nor a shipped mapping"):
        get_importer("mapping", {"mapping": "nope"})
    assert get_importer("mapping", {"mapping": SHIPPED}).mapping.source == "csv"


def test_cli(tmp_path):
    db = str(tmp_path / "s.duckdb")
    path = copy(tmp_path, "broken.csv")
    runner = CliRunner()
    args = ["import", "--from", "mapping", "--option", f"mapping={SHIPPED}", str(path)]
    result = runner.invoke(app, [*args, "--db", db])
    assert result.exit_code == 1  # some rows were rejected
    assert "read 6, imported 3, duplicates 0, rejected 3" in result.output
    assert "line 3 (conversation c7, message 71): field 'timestamp'" in result.output
    assert "Hi there" not in result.output and "Beep" not in result.output  # no chat text
    result = runner.invoke(app, [*args[:3], str(path), "--db", db])
    assert result.exit_code != 0 and "needs --option mapping=FILE" in result.output
