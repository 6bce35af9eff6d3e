"""The ingest API applies the same input rules as file import (one rule in the event model):
control characters, the earliest timestamp, strict booleans, one pretty-printed event."""

from __future__ import annotations

import orjson
import pytest

from chatlens.store import open_store
from tests.serverkit import LiveServer, provision

pytestmark = pytest.mark.server

CONTROL = "only tab, line feed and carriage return are accepted"


def event(n: int, **kw: object) -> dict:
    return {
        "event_id": f"input-{n}",
        "type": "message",
        "ts": "2026-11-02T08:00:00Z",
        "conversation_id": "input-1",
        "sender": "bot",
        "text": f"answer {n}",
        **kw,
    }


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    store = tmp_path_factory.mktemp("input") / "chatlens.duckdb"
    seats = provision(store, {"acme": {"keys": {"in": "ingest"}}})
    server = LiveServer(store).start()
    yield server, seats, store
    server.stop()


def test_pretty_printed_event_is_accepted_like_one_line(live):
    server, seats, _store = live
    # ids of its own: the module's server is shared with tests that send event(1)-(3)
    sender = server.client(seats.keys["in"])
    pretty = orjson.dumps(event(101), option=orjson.OPT_INDENT_2)
    assert pretty.count(b"\n") == 7
    answer = sender.post("/api/v1/events", content=pretty)
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"accepted": 1, "duplicates": 0}
    again = sender.post("/api/v1/events", content=orjson.dumps(event(101)))
    assert again.json() == {"accepted": 0, "duplicates": 1}
    # NDJSON keeps working, and a broken line still names its index
    lines = orjson.dumps(event(102)) + b"\n" + orjson.dumps(event(103)) + b"\n"
    assert sender.post("/api/v1/events", content=lines).json() == {
        "accepted": 2,
        "duplicates": 0,
    }
    broken = sender.post("/api/v1/events", content=orjson.dumps(event(104)) + b"\n{oops\n")
    assert broken.status_code == 422
    assert broken.json()["error"]["details"][0]["index"] == 1


BAD = [
    (event(10, text="a\u0000b"), "text", f"U+0000 at character 2; {CONTROL}"),
    (event(11, conversation_id="in\u001bput"), "conversation_id", "U+001B at character 3"),
    (event(12, attrs={"plan": "\u0007"}), "attrs.plan", "U+0007 at character 1"),
    (event(13, ts="0001-01-01T00:00:00Z"), "ts", "is before 2000-01-01"),
    (event(14, fallback="yes"), "fallback", "Input should be a valid boolean (got 'yes')"),
]


@pytest.mark.parametrize(("bad", "field", "message"), BAD)
def test_bad_input_is_422_naming_index_and_field(live, bad, field, message):
    server, seats, _store = live
    answer = server.client(seats.keys["in"]).post("/api/v1/events", json=[event(5), bad])
    assert answer.status_code == 422, answer.text
    details = answer.json()["error"]["details"]
    assert len(details) == 1
    assert (details[0]["index"], details[0]["field"]) == (1, field)
    assert message in details[0]["message"]


def test_nothing_with_a_control_character_reaches_the_store(live):
    server, seats, store = live
    # this test sends what it checks (the tests above may have sent it already, in any
    # order: the good events are then duplicates, the bad ones refused again)
    sender = server.client(seats.keys["in"])
    good = sender.post("/api/v1/events", json=[event(1), event(2), event(3)])
    assert good.status_code == 200, good.text
    for bad, _field, _message in BAD:
        assert sender.post("/api/v1/events", json=[event(5), bad]).status_code == 422
    server.stop()  # the store is read once the server let go of it
    try:
        with open_store(store.with_name("chatlens.acme.duckdb"), read_only=True) as opened:
            ids = sorted(r[0] for r in opened.con.execute("SELECT event_id FROM events").fetchall())
    finally:
        server.start()
    # the good events stored once each, none of a refused batch (other tests of the module
    # may have stored their own ids: 101-103)
    refused = {"input-5"} | {bad["event_id"] for bad, _field, _message in BAD}
    assert {"input-1", "input-2", "input-3"} <= set(ids)
    assert not refused & set(ids)
    assert len(ids) == len(set(ids))
