"""A person's erasure and the retention job reach the lake of a server started with
`--lake` alone (the store holds no events): after an admin's erasure over the API no file
of the workspace's lake holds the customer's id, name or email, as bytes or once decoded;
a shorter retention set over the API blanks the lake's old texts and deletes its old days."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from chatlens.lake.compact import partitions, read_events
from chatlens.lake.ingest import LakeSink
from chatlens.lake.layout import EVENTS, Lake
from tests.privacy_data import BO_NAME, SECRETS, aino_events, bo_events, hits
from tests.server.test_retention import conversation
from tests.serverkit import LiveServer, provision
from tests.waiting import wait_until

pytestmark = pytest.mark.server

SPEC = {"acme": {"users": {"root": ("admin", None, None)}, "keys": {"in": "ingest"}}}


def decoded_hits(folder: Path, needles: tuple[str, ...] = SECRETS) -> dict[str, list[str]]:
    """Which Parquet files under `folder` hold each needle in a value, once decoded (the
    files are compressed: a byte search alone could miss a value)."""
    found: dict[str, list[str]] = {}
    for path in sorted(folder.rglob("*.parquet")):
        text = str(pq.read_table(path).to_pylist()).lower()
        for needle in needles:
            if needle.lower() in text:
                found.setdefault(needle, []).append(path.name)
    return found


def test_an_erasure_over_the_api_leaves_no_byte_of_the_customer_in_the_lake(
    tmp_path: Path,
) -> None:
    store = tmp_path / "data" / "chatlens.duckdb"
    store.parent.mkdir()
    seats = provision(store, SPEC)
    url = str(tmp_path / "lake")
    lake = LakeSink(url).lake_of("acme")
    folder = Path(lake.root)
    server = LiveServer(store, args=("--lake", url)).start(timeout=120)
    try:
        sent = server.client(seats.keys["in"]).post(
            "/api/v1/events", json=aino_events() + bo_events()
        )
        assert sent.json() == {"accepted": 21, "duplicates": 0}, sent.text
        wait_until(lambda: read_events(lake).num_rows == 21, 60, what="the 21 events in the lake")
        assert set(decoded_hits(folder)) == set(SECRETS)

        root = server.login(seats.emails["root"])
        done = root.post(
            "/api/v1/privacy/erase",
            params={"workspace": "acme"},
            json={"customer_id": "cust-aino-7731"},
        )
        assert done.status_code == 200, done.text
        # Aino's 15 events, all hers or of her two conversations, but a5/a6/a8/a9/a14 hold
        # no text, comment, page URL or customer id: 10 rows change
        assert done.json()["counts"]["lake_rows"] == 10
    finally:
        server.stop()
    assert hits(folder) == {}
    assert decoded_hits(folder) == {}
    events = {r["event_id"]: r for r in read_events(lake).to_pylist()}
    assert len(events) == 21
    assert events["a7"]["text"] == ""  # the agent's greeting named her: in her conversation
    assert events["a10"]["score"] == 4.0 and events["a10"]["comment"] == ""
    assert events["a1"]["customer_id"].startswith("erased-")
    assert events["b2"]["text"] == f"Hej, jag heter {BO_NAME}"  # Bo's untouched
    assert b"aino" not in server.log.read_bytes().lower()


def test_the_retention_job_expires_the_lake(tmp_path: Path) -> None:
    store = tmp_path / "data" / "chatlens.duckdb"
    store.parent.mkdir()
    seats = provision(store, SPEC)
    url = str(tmp_path / "lake")
    lake: Lake = LakeSink(url).lake_of("acme")
    server = LiveServer(store, args=("--lake", url)).start(timeout=120)
    try:
        now = dt.datetime.now(dt.UTC).replace(microsecond=0)
        events = (
            conversation(now, "c-ancient", 120)
            + conversation(now, "c-old", 60)
            + conversation(now, "c-new", 2)
        )
        answer = server.client(seats.keys["in"]).post("/api/v1/events", json=events)
        assert answer.json() == {"accepted": 9, "duplicates": 0}
        wait_until(lambda: read_events(lake).num_rows == 9, 60, what="the 9 events in the lake")
        days = [part.day for part in partitions(lake, EVENTS)]
        assert len(days) == 3

        root = server.login(seats.emails["root"])
        changed = root.patch(
            "/api/v1/settings",
            json={
                "retention_text_days": 30,
                "retention_page_url_days": 30,
                "retention_events_days": 90,
            },
        )
        assert changed.status_code == 200, changed.text

        def expired() -> dict[str, dict] | None:
            rows = {(r["conversation_id"], r["type"]): r for r in read_events(lake).to_pylist()}
            old = rows.get(("c-old", "message"))
            return rows if len(rows) == 6 and old and old["text"] == "" else None

        rows = wait_until(expired, 60, what="the lake expired")
    finally:
        server.stop()
    assert rows[("c-old", "conversation_started")]["page_url"] == ""
    assert rows[("c-new", "message")]["text"] == "words of c-new"
    assert rows[("c-new", "conversation_started")]["page_url"] == "https://shop/c-new"
    assert [part.day for part in partitions(lake, EVENTS)] == days[1:]  # the 120-day-old one gone
    assert b"words of" not in server.log.read_bytes()
