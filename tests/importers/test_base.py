"""The importer machinery, with a toy importer: envelopes, JSONL, quarantine naming the
item and field, re-import adding nothing, and the CLI's --from/--option."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import orjson
import pytest
from typer.testing import CliRunner

from chatlens.cli import app
from chatlens.errors import InputError, ItemError
from chatlens.importers import REGISTRY, expand_paths, get_importer
from chatlens.importers.base import Importer, Option, epoch_seconds, event_id, iso_time, require
from chatlens.ingest import import_file, rejected_path_for


class Toy(Importer):
    """A chat with an id, a start time (Unix seconds) and messages [{id, at, text}]."""

    name = "toy"
    envelope_keys = ("data.payload", "chats")
    options: ClassVar = (Option("channel", "web", "channel of every chat"),)

    def ref(self, item: dict[str, Any]) -> str:
        return f"chat {item.get('id')}"

    def convert(self, item):
        chat = require(item, "id")
        ts = epoch_seconds(item.get("started"), "started")
        yield {
            "event_id": event_id("toy", chat, "started"),
            "type": "conversation_started",
            "ts": ts,
            "conversation_id": str(chat),
            "channel": self.settings["channel"],
        }
        for n, message in enumerate(item.get("messages") or []):
            yield {
                "event_id": event_id("toy", chat, "msg", message.get("id")),
                "type": "message",
                "ts": epoch_seconds(message.get("at"), f"messages[{n}].at"),
                "conversation_id": str(chat),
                "sender": "customer",
                "text": message.get("text"),
            }


CHATS = [
    {"id": 1, "started": 1793613600, "messages": [{"id": 10, "at": 1793613605, "text": "hi"}]},
    {"id": 2, "started": 1793613700, "messages": [{"id": 20, "at": "soon", "text": "x"}]},
    {"id": 3, "started": 1793613800, "messages": []},
]


def count(store) -> int:
    return store.con.execute("SELECT count(*) FROM events").fetchone()[0]


@pytest.mark.parametrize(
    "document",
    [CHATS, {"data": {"meta": {"count": 3}, "payload": CHATS}}, {"chats": CHATS, "next": None}],
    ids=["array", "nested-envelope", "envelope"],
)
def test_json_shapes_import_and_bad_item_is_quarantined(store, tmp_path, document):
    path = tmp_path / "export.json"
    path.write_bytes(orjson.dumps(document))
    toy = Toy({"channel": "whatsapp"})
    summary = import_file(store, path, records=toy.records(path))
    # chat 1: 2 events, chat 2 rejected whole (its message has a bad time), chat 3: 1 event
    assert (summary.read, summary.imported, summary.rejected) == (4, 3, 1)
    assert summary.first_errors == [
        "item 1 (chat 2): field 'messages[0].at': not a Unix time in seconds: 'soon'"
    ]
    entry = orjson.loads(rejected_path_for(path).read_bytes())
    assert entry["item"] == 1 and entry["ref"] == "chat 2"
    assert entry["errors"] == [
        {"field": "messages[0].at", "message": "not a Unix time in seconds: 'soon'"}
    ]
    assert entry["record"]["id"] == 2  # the platform object itself, to fix and re-import
    channels = store.con.execute(
        "SELECT DISTINCT channel FROM events WHERE channel IS NOT NULL"
    ).fetchall()
    assert channels == [("whatsapp",)]
    again = import_file(store, path, records=toy.records(path))
    assert (again.imported, again.duplicates) == (0, 3)


def test_jsonl_pages_and_overlapping_later_export_adds_only_new(store, tmp_path):
    first = tmp_path / "page1.jsonl"
    first.write_bytes(orjson.dumps({"chats": CHATS[:1]}) + b"\nnot json\n")
    summary = import_file(store, first, records=Toy().records(first))
    assert (summary.imported, summary.rejected) == (2, 1)
    assert summary.first_errors[0].startswith("line 2: field '(event)': not valid JSON")
    later = tmp_path / "later.jsonl"
    grown = dict(CHATS[0], messages=[*CHATS[0]["messages"], {"id": 11, "at": 1793613610}])
    later.write_bytes(orjson.dumps(grown) + b"\n" + orjson.dumps(CHATS[2]) + b"\n")
    summary = import_file(store, later, records=Toy().records(later))
    assert (summary.imported, summary.duplicates) == (2, 2)  # message 11 and chat 3 are new
    assert count(store) == 4


def test_unreadable_file_fails_before_anything_is_written(store, tmp_path):
    path = tmp_path / "broken.json"
    path.write_text("[{")
    with pytest.raises(InputError, match="not valid JSON"):
        Toy().records(path)
    with pytest.raises(InputError, match="no such file"):
        Toy().records(tmp_path / "missing.json")
    assert count(store) == 0


def test_options_and_names_are_checked():
    with pytest.raises(
        InputError, match="importer 'toy' has no option colour; its options: channel"
    ):
        Toy({"colour": "red"})
    with pytest.raises(InputError, match="unknown source 'zendesk'; one of: chatwoot"):
        get_importer("zendesk")
    assert set(REGISTRY) == {"chatwoot", "rasa", "livechat", "intercom", "mapping"}


def test_helpers():
    assert epoch_seconds(1793613600, "t") == "2026-11-02T10:00:00Z"
    assert iso_time("2020-04-01T17:31:32.000Z", "t") == "2020-04-01T17:31:32+00:00"
    assert iso_time("2020-04-01 17:31:32", "t") == "2020-04-01T17:31:32+00:00"
    with pytest.raises(ItemError, match="field 'when': not an ISO 8601 timestamp"):
        iso_time("yesterday", "when")
    long = event_id("x" * 200)
    assert len(long) <= 128 and long == event_id("x" * 200)


def test_directories_expand_to_their_export_files(tmp_path):
    (tmp_path / "b.jsonl").write_text("{}")
    (tmp_path / "a.json").write_text("[]")
    (tmp_path / "a.json.rejected.jsonl").write_text("{}")
    (tmp_path / "notes.txt").write_text("")
    assert [p.name for p in expand_paths([tmp_path])] == ["a.json", "b.jsonl"]
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(InputError, match=r"holds no \.json"):
        expand_paths([empty])


def test_cli_names_unknown_sources_and_bad_options(tmp_path: Path):
    db = str(tmp_path / "s.duckdb")
    runner = CliRunner()
    result = runner.invoke(app, ["import", "--from", "toy", str(tmp_path), "--db", db])
    assert result.exit_code != 0 and "unknown source 'toy'" in result.output
    result = runner.invoke(app, ["import", "--from", "rasa", "-o", "x", str(tmp_path), "--db", db])
    assert result.exit_code != 0 and "--option 'x': expected KEY=VALUE" in result.output
