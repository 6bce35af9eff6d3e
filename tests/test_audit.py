"""The audit trail without a server: the command line records its exports under the seat
`cli:LOGIN` and reads the trail (`chatlens audit`), `chatlens privacy expire` applies
`retention_audit_days`, and a Reader whose record cannot be written refuses the read.

The store: November 2026, three conversations, each with a customer message that must
never reach the trail:

    c-ann  ann  team sales     c-bob  bob  team support     c-cid  ann  team sales
"""

from __future__ import annotations

import datetime as dt
import getpass
from pathlib import Path

import orjson
import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from chatlens.app import audit, service
from chatlens.app.db import app_db_url, open_app_db
from chatlens.cli import app
from chatlens.reading import Reader
from chatlens.store import open_store
from tests.builders import DAY, chat
from tests.conftest import load
from tests.test_reader_scope import OneStore, seat

runner = CliRunner()
LOGIN = f"cli:{getpass.getuser()}"


def events() -> list[dict]:
    found = (
        chat("c-ann", DAY, agent="ann", close_after=60, team="sales")
        + chat("c-bob", DAY, agent="bob", close_after=60, team="support")
        + chat("c-cid", DAY, agent="ann", close_after=60, team="sales")
    )
    for event in found:
        if event.get("sender") == "customer":
            event["text"] = f"private words of {event['conversation_id']}"
    return found


@pytest.fixture
def store(tmp_path: Path) -> Path:
    path = tmp_path / "chatlens.duckdb"
    with open_store(path) as opened:
        load(opened, events(), tmp_path)
    return path


def cli(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def trail(store: Path, *args: str) -> list[dict]:
    lines = cli("audit", "--db", str(store), "--json", *args).splitlines()
    return [orjson.loads(line) for line in lines]


def test_cli_exports_are_recorded_with_their_filters_and_counts(store, tmp_path):
    out = tmp_path / "sales.csv"
    cli("export", "conversations", "--db", str(store), "--out", str(out),
        "--from", "2026-11-01", "--to", "2026-11-30", "--filter", "team=sales")  # fmt: skip
    assert out.read_text().count("\n") == 3  # a header and c-ann, c-cid
    cli("export", "events", "--db", str(store), "--out", str(tmp_path / "all.parquet"))
    found = trail(store)
    assert [(r["seat"], r["action"], r["route"], r["rows"]) for r in found] == [
        # 5 events a chat: started, the customer's message, agent joined, its reply, closed
        (LOGIN, "events_export", "chatlens export events", 15),
        (LOGIN, "conversation_export", "chatlens export conversations", 2),
    ]
    assert found[0]["filters"] == {"format": "parquet"}
    assert found[1]["filters"] == {
        "from": "2026-11-01",
        "to": "2026-11-30",
        "format": "csv",
        "filters": {"team": ["sales"]},
    }
    assert [r["action"] for r in trail(store, "--action", "events_export")] == ["events_export"]
    assert trail(store, "--seat", "cli") == found
    assert trail(store, "--since", "2999-01-01") == []
    table = cli("audit", "--db", str(store))
    assert "conversation_export" in table and "2 of 2 records" in table
    assert b"private words" not in (store.parent / "chatlens.app.sqlite").read_bytes()


def test_a_named_workspace_records_in_the_app_state_beside_the_default_store(store, tmp_path):
    sessions = open_app_db(app_db_url(store))
    with sessions() as db:
        service.create_workspace(db, "acme", store)
    sessions.kw["bind"].dispose()
    acme = store.parent / "chatlens.acme.duckdb"
    with open_store(acme) as opened:
        load(opened, chat("c-acme", DAY, agent="ann", close_after=60), tmp_path, "acme.jsonl")
    out = tmp_path / "acme.parquet"
    cli("export", "conversations", "-w", "acme", "--db", str(store), "--out", str(out),
        "--format", "parquet")  # fmt: skip
    assert [(r["rows"], r["filters"]["format"]) for r in trail(store, "-w", "acme")] == [
        (1, "parquet")
    ]
    assert trail(store) == []  # the default workspace's trail holds none of it


def test_privacy_expire_removes_records_past_retention_audit_days(store, tmp_path):
    cli("export", "conversations", "--db", str(store), "--out", str(tmp_path / "a.csv"))
    (record,) = trail(store)
    at = dt.datetime.fromisoformat(record["at"])
    # the default keeps a record 365 days: a day before that, it stays
    kept = cli("privacy", "expire", "--db", str(store),
               "--now", (at + dt.timedelta(days=364)).isoformat())  # fmt: skip
    assert "Audit trail: 0 records" in kept and len(trail(store)) == 1
    cli("settings", "set", "retention_audit_days", "30", "--db", str(store))
    gone = cli("privacy", "expire", "--db", str(store),
               "--now", (at + dt.timedelta(days=31)).isoformat())  # fmt: skip
    assert "Audit trail: 1 records" in gone
    assert trail(store) == []


def test_a_read_whose_record_fails_is_refused_and_its_export_removed(store, tmp_path):
    sessions = open_app_db(f"sqlite:///{tmp_path / 'failing.app.sqlite'}")
    with sessions() as db:
        service.create_workspace(db, "acme", store)
    recorder = audit.AuditTrail(sessions, "acme", "user:7", "GET /test")
    with open_store(store) as opened:
        reader = Reader(OneStore(opened), seat("admin"), recorder)
        assert reader.transcript("c-ann")[0]["conversation_id"] == "c-ann"  # recorded
        with sessions() as db:
            db.execute(text("ALTER TABLE audit_records RENAME TO unreachable"))
            db.commit()
        with pytest.raises(Exception, match="audit_records"):
            reader.transcript("c-bob")
        with pytest.raises(Exception, match="audit_records"):
            reader.conversation("c-bob")
        out = tmp_path / "all.csv"
        with pytest.raises(Exception, match="audit_records"):
            reader.export("2026-11-01", "2026-11-30", {}, None, "csv", out)
        assert not out.exists()
    with sessions() as db:
        kept = db.execute(text("SELECT seat, action, conversation_id FROM unreachable")).all()
    assert [tuple(r) for r in kept] == [("user:7", "transcript_view", "c-ann")]
    sessions.kw["bind"].dispose()


def test_since_and_until_take_a_day_or_a_time_and_name_the_field_when_wrong():
    assert audit.parse_instant("2026-12-01", "since") == dt.datetime(2026, 12, 1)
    assert audit.parse_instant("2026-12-01", "until", end=True) == dt.datetime(2026, 12, 2)
    at = audit.parse_instant("2026-12-01T09:30:00+02:00", "since")
    assert at == dt.datetime(2026, 12, 1, 7, 30)
    assert audit.parse_instant("", "since") is None
    with pytest.raises(Exception, match=r"until 'yesterday': expected a day \(2026-12-01\)"):
        audit.parse_instant("yesterday", "until")
    # beyond the calendar once moved to UTC, or past its last day: refused, not a crash
    with pytest.raises(Exception, match=r"since '0001-01-01T00:00:00\+01:00': expected"):
        audit.parse_instant("0001-01-01T00:00:00+01:00", "since")
    with pytest.raises(Exception, match="until '9999-12-31': expected"):
        audit.parse_instant("9999-12-31", "until", end=True)
