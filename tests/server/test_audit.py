"""The audit trail on a real server (issue 18 part 4): every transcript shown and every
export of conversation rows is recorded with its seat, route, conversation or filters and
row count; figures, lists and menus are not; the text never is; admins alone read it, each
only their own workspace's; retention removes old records.

Workspace acme (November 2026), each conversation with a customer message that must never
reach the trail:

    c-ann   ann    team sales     "secret words of c-ann"
    c-ann2  ann    team sales     "secret words of c-ann2"
    c-ann3  ann    team support   "secret words of c-ann3"
    c-bob   bob    team sales     "secret words of c-bob"
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path

import pytest
from sqlalchemy import select

from chatlens.app.db import app_db_url, open_app_db
from chatlens.app.models import AuditRecord, User, Workspace
from tests.builders import DAY, chat
from tests.serverkit import LiveServer, provision
from tests.waiting import wait_until

pytestmark = pytest.mark.server
NOVEMBER = {"from": "2026-11-01", "to": "2026-11-30"}
TRANSCRIPT_API = "GET /api/v1/conversations/{conversation_id:anyid}"
TRANSCRIPT_PAGE = "GET /conversations/{conversation_id:anyid}"
EXPORT_API = "GET /api/v1/export/conversations"


def talk(cid: str, agent: str, team: str, hour: int) -> list[dict]:
    events = chat(cid, DAY + dt.timedelta(hours=hour), agent=agent, close_after=300, team=team)
    for event in events:
        if event.get("sender") == "customer":
            event["text"] = f"secret words of {cid}"
    return events


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    store = tmp_path_factory.mktemp("audit") / "chatlens.duckdb"
    seats = provision(
        store,
        {
            "acme": {
                "users": {
                    "root": ("admin", None, None),
                    "ann": ("agent", "ann", "sales"),
                },
                "keys": {"acme-in": "ingest", "acme-read": "read"},
            },
            "beta": {"users": {"zed": ("admin", None, None)}},
            "gamma": {"users": {"gil": ("admin", None, None)}, "keys": {"gamma-in": "ingest"}},
            "delta": {
                "users": {"dee": ("admin", None, None)},
                "keys": {"delta-in": "ingest", "delta-read": "read"},
            },
        },
    )
    server = LiveServer(store).start(timeout=120)
    events = (
        talk("c-ann", "ann", "sales", 0)
        + talk("c-ann2", "ann", "sales", 1)
        + talk("c-ann3", "ann", "support", 2)
        + talk("c-bob", "bob", "sales", 3)
    )
    answer = server.client(seats.keys["acme-in"]).post("/api/v1/events", json=events)
    assert answer.json()["accepted"] == len(events)
    root = server.login(seats.emails["root"])

    def listed() -> bool:
        found = root.get("/api/v1/conversations", params=NOVEMBER)
        return found.status_code == 200 and found.json()["total"] == 4

    wait_until(listed, 60)
    yield server, seats, store
    server.stop()


def user_id(store: Path, email: str) -> int:
    sessions = open_app_db(app_db_url(store))
    with sessions() as db:
        found = db.scalar(select(User.id).where(User.email == email))
    sessions.kw["bind"].dispose()
    assert found is not None
    return int(found)


def test_two_views_and_an_export_by_an_agent_and_a_view_by_an_admin_are_four_records(live):
    server, seats, store = live
    ann = server.login(seats.emails["ann"])
    root = server.login(seats.emails["root"])
    params = {**NOVEMBER, "workspace": "acme"}

    # reads that are never recorded: figures, overview and report pages, lists, menus
    assert ann.get("/overview", params=params).status_code == 200
    assert root.get("/reports/feedback", params=params).status_code == 200
    figures = {"metrics": ["conversations"], **NOVEMBER}
    assert root.post("/api/v1/query", json=figures).json()["rows"][0]["conversations"] == 4
    assert ann.get("/conversations", params=params).status_code == 200
    assert ann.get("/api/v1/conversations", params=NOVEMBER).json()["total"] == 3
    # a transcript refused is not a view: bob's conversation is not ann's
    assert ann.get("/api/v1/conversations/c-bob").status_code == 404

    # the four reads recorded, in this order
    page = ann.get("/conversations/c-ann")
    assert page.status_code == 200 and "secret words of c-ann" in page.text
    shown = ann.get("/api/v1/conversations/c-ann2")
    assert shown.status_code == 200 and "secret words of c-ann2" in shown.text
    exported = ann.get(
        "/api/v1/export/conversations", params={**NOVEMBER, "format": "csv", "filter": "team=sales"}
    )
    assert exported.status_code == 200
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert [r["conversation_id"] for r in rows] == ["c-ann", "c-ann2"]  # ann's, team sales
    assert root.get("/api/v1/conversations/c-bob").status_code == 200

    trail = root.get("/api/v1/audit").json()
    ann_seat = f"user:{user_id(store, seats.emails['ann'])}"
    root_seat = f"user:{user_id(store, seats.emails['root'])}"
    assert trail["total"] == 4
    got = [
        (r["seat"], r["seat_name"], r["action"], r["route"], r["conversation_id"], r["rows"])
        for r in trail["rows"]
    ]
    assert got == [  # newest first
        (root_seat, seats.emails["root"], "transcript_view", TRANSCRIPT_API, "c-bob", None),
        (ann_seat, seats.emails["ann"], "conversation_export", EXPORT_API, None, 2),
        (ann_seat, seats.emails["ann"], "transcript_view", TRANSCRIPT_API, "c-ann2", None),
        (ann_seat, seats.emails["ann"], "transcript_view", TRANSCRIPT_PAGE, "c-ann", None),
    ]
    # the export's filters as ann's scope applied them: her own conversations of team sales
    assert trail["rows"][1]["filters"] == {
        "from": "2026-11-01",
        "to": "2026-11-30",
        "format": "csv",
        "filters": {"agent_id": ["ann"], "team": ["sales"]},
    }
    assert [r["filters"] for r in trail["rows"] if r["action"] == "transcript_view"] == [None] * 3
    times = [dt.datetime.fromisoformat(r["at"]) for r in trail["rows"]]
    now = dt.datetime.now(dt.UTC)
    assert all(now - dt.timedelta(minutes=10) < t <= now for t in times)

    # the filters of the API, each counted by hand from the four
    def total(**asked: str) -> int:
        answer = root.get("/api/v1/audit", params=asked)
        assert answer.status_code == 200, answer.text
        return int(answer.json()["total"])

    assert total(seat=seats.emails["ann"]) == 3
    assert total(seat=ann_seat) == 3
    assert total(seat=root_seat) == 1
    assert total(seat="cli") == 0
    assert total(conversation="c-ann2") == 1
    assert total(action="conversation_export") == 1
    assert total(action="transcript_view", seat=ann_seat) == 2
    today = now.date()
    assert total(since=str(today)) == 4
    assert total(until=str(today)) == 4  # a day is inclusive
    assert total(since=str(today + dt.timedelta(days=1))) == 0
    assert total(until=str(today - dt.timedelta(days=1))) == 0
    one_page = root.get("/api/v1/audit", params={"per_page": 3, "page": 2}).json()
    assert [r["conversation_id"] for r in one_page["rows"]] == ["c-ann"]
    bad = root.get("/api/v1/audit", params={"action": "transcript_views"})
    assert bad.status_code == 400 and "action 'transcript_views'" in bad.json()["error"]["message"]
    bad = root.get("/api/v1/audit", params={"since": "last week"})
    assert bad.status_code == 400 and "since 'last week'" in bad.json()["error"]["message"]

    # the admin's page shows the same four
    shown_page = root.get("/audit")
    assert shown_page.status_code == 200
    assert "4 records" in shown_page.text
    assert shown_page.text.count("transcript_view") >= 3 and "team = sales" in shown_page.text

    # agents, read keys and other workspaces' admins are refused; beta's admin sees nothing
    assert ann.get("/api/v1/audit").status_code == 403
    assert ann.get("/audit").status_code == 403
    assert server.client(seats.keys["acme-read"]).get("/api/v1/audit").status_code == 403
    zed = server.login(seats.emails["zed"])
    assert zed.get("/api/v1/audit").json() == {"total": 0, "page": 1, "per_page": 50, "rows": []}
    assert zed.get("/api/v1/audit", params={"workspace": "acme"}).status_code == 403
    assert zed.get("/audit", params={"workspace": "acme"}).status_code == 403

    # no text anywhere in the app state's files, nor in the server's log
    app_files = [p for p in store.parent.glob("chatlens.app.sqlite*") if p.is_file()]
    assert app_files
    for path in [*app_files, server.log]:
        assert b"secret words" not in path.read_bytes(), path


def test_untrusted_ids_are_escaped_on_the_page(live):
    server, seats, _ = live
    hostile = '<img src=x onerror="alert(1)">&amp;'
    events = chat(hostile, DAY, agent="dan", close_after=60)
    answer = server.client(seats.keys["delta-in"]).post("/api/v1/events", json=events)
    assert answer.json()["accepted"] == len(events)
    dee = server.login(seats.emails["dee"])
    wait_until(lambda: dee.get(f"/api/v1/conversations/{hostile}").status_code == 200, 60)
    page = dee.get("/audit")
    assert page.status_code == 200
    assert hostile not in page.text
    assert "&lt;img src=x onerror=&#34;alert(1)&#34;&gt;&amp;amp;" in page.text
    # a read key's view is recorded under the key, named by its name and prefix
    key = server.client(seats.keys["delta-read"])
    assert key.get(f"/api/v1/conversations/{hostile}").status_code == 200
    rows = dee.get("/api/v1/audit", params={"conversation": hostile}).json()["rows"]
    assert [r["conversation_id"] for r in rows] == [hostile, hostile]
    prefix = seats.keys["delta-read"][:12]
    assert rows[0]["seat"].startswith("key:")
    assert rows[0]["seat_name"] == f"API key delta-read ({prefix}…)"
    assert rows[1]["seat_name"] == seats.emails["dee"]


def test_retention_removes_old_records_by_default_after_a_year_and_at_once_when_shortened(live):
    server, seats, store = live
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    sessions = open_app_db(app_db_url(store))
    with sessions() as db:
        gamma = db.scalar(select(Workspace.id).where(Workspace.name == "gamma"))
        for days, cid in ((400, "c-400"), (100, "c-100"), (10, "c-10")):
            db.add(
                AuditRecord(
                    workspace_id=gamma,
                    at=now - dt.timedelta(days=days),
                    seat="user:1",
                    action="transcript_view",
                    route=TRANSCRIPT_API,
                    conversation_id=cid,
                )
            )
        db.commit()
    sessions.kw["bind"].dispose()
    gil = server.login(seats.emails["gil"])

    def kept() -> list[str]:
        return [r["conversation_id"] for r in gil.get("/api/v1/audit").json()["rows"]]

    # the workspace opens on this first request: its retention job runs with the default
    # (365 days) and removes the record of 400 days ago
    assert gil.get("/api/v1/settings").json()["settings"]["retention_audit_days"] == 365
    wait_until(lambda: kept() == ["c-10", "c-100"], 60)
    changed = gil.patch("/api/v1/settings", json={"retention_audit_days": 30})
    assert changed.status_code == 200, changed.text
    wait_until(lambda: kept() == ["c-10"], 60)
