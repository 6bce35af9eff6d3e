"""Retention on a real server: a shorter retention set over the API is applied at once by
the workspace's retention job; old texts and page URLs go, recent ones and figures stay."""

from __future__ import annotations

import datetime as dt
import time

import pytest

from tests.builders import iso
from tests.serverkit import LiveServer, provision

pytestmark = pytest.mark.server


def poll(check, timeout: float = 60.0):
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.2)


def conversation(now: dt.datetime, cid: str, days_ago: int) -> list[dict]:
    start = now - dt.timedelta(days=days_ago)
    at = [iso(start + dt.timedelta(seconds=s)) for s in (0, 5, 60)]
    base = {"conversation_id": cid, "channel": "web"}
    return [
        {"type": "conversation_started", "ts": at[0], "page_url": f"https://shop/{cid}", **base},
        {"type": "message", "ts": at[1], "sender": "customer", "text": f"words of {cid}", **base},
        {"type": "conversation_closed", "ts": at[2], **base},
    ]


def test_a_shorter_retention_applies_at_once(tmp_path):
    store = tmp_path / "chatlens.duckdb"
    seats = provision(
        store, {"acme": {"users": {"root": ("admin", None, None)}, "keys": {"in": "ingest"}}}
    )
    server = LiveServer(store).start(timeout=120)
    try:
        now = dt.datetime.now(dt.UTC).replace(microsecond=0)
        events = conversation(now, "c-old", 60) + conversation(now, "c-new", 2)
        answer = server.client(seats.keys["in"]).post("/api/v1/events", json=events)
        assert answer.json() == {"accepted": 6, "duplicates": 0}
        root = server.login(seats.emails["root"])

        def read(cid):
            got = root.get(f"/api/v1/conversations/{cid}")
            if got.status_code != 200:
                return None
            events = got.json()["events"]
            return {e["type"]: e for e in events}

        def counted():
            body = {"metrics": ["conversations", "messages_per_conversation"],
                    "from": iso(now - dt.timedelta(days=90))[:10], "to": iso(now)[:10]}  # fmt: skip
            rows = root.post("/api/v1/query", json=body).json()["rows"]
            return rows if rows and rows[0]["conversations"] == 2 else None

        assert poll(lambda: read("c-old"))["message"]["text"] == "words of c-old"
        before = poll(counted)
        assert before

        changed = root.patch(
            "/api/v1/settings", json={"retention_text_days": 30, "retention_page_url_days": 30}
        )
        assert changed.status_code == 200, changed.text
        old = poll(lambda: (e := read("c-old")) and e["message"]["text"] == "" and e)
        assert old, read("c-old")
        assert old["conversation_started"]["page_url"] == ""
        new = read("c-new")
        assert new["message"]["text"] == "words of c-new"
        assert new["conversation_started"]["page_url"] == "https://shop/c-new"
        assert counted() == before
    finally:
        server.stop()
    assert b"words of" not in server.log.read_bytes()
