"""The ingest API over real HTTP: round trip to figures, validation, limits, idempotence."""

from __future__ import annotations

import datetime as dt

import orjson
import pytest

from tests.builders import DAY, chat
from tests.serverkit import LiveServer, provision
from tests.waiting import wait_until

pytestmark = pytest.mark.server


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    store = tmp_path_factory.mktemp("ingest") / "chatlens.duckdb"
    seats = provision(store, {"acme": {"keys": {"in": "ingest", "out": "read"}}})
    server = LiveServer(store).start()
    yield server, seats
    server.stop()


def figures(reader, metrics, **extra):
    body = {"metrics": metrics, "from": "2026-11-01", "to": "2026-11-30", **extra}
    answer = reader.post("/api/v1/query", json=body)
    assert answer.status_code == 200, answer.text
    return answer.json()


DECEMBER = {"from": "2026-12-01", "to": "2026-12-31"}


def test_round_trip_from_events_to_figures(live):
    server, seats = live
    sender, reader = server.client(seats.keys["in"]), server.client(seats.keys["out"])
    # two answered chats (FRT 30 s and 90 s) and one bot-only chat, in December 2026: a
    # month no other test of this module writes to, so the counts hold in any order
    day = DAY + dt.timedelta(days=30)
    events = (
        chat("rt-1", day, agent="ann", reply_after=30, close_after=600)
        + chat("rt-2", day, agent="bob", reply_after=90, close_after=900)
        + chat("rt-3", day, bot=True, close_after=120)
    )
    answer = sender.post("/api/v1/events", json=events)
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"accepted": len(events), "duplicates": 0}

    def ready():
        return figures(reader, ["conversations"], **DECEMBER)["rows"][0]["conversations"] == 3

    wait_until(ready, what="the facts caught up")  # facts follow events within the refresh interval
    metrics = ["conversations", "human_conversations", "first_response_time"]
    rows = figures(reader, metrics, **DECEMBER)["rows"]
    # a 60 s average first response is above the typical 30-45 s: below typical
    assert rows == [
        {
            "conversations": 3,
            "human_conversations": 2,
            "first_response_time": 60.0,
            "first_response_time__band": "below typical",
        }
    ]
    by_agent = figures(reader, ["first_response_time"], by=["agent_id"], **DECEMBER)["rows"]
    assert {r["agent_id"]: r["first_response_time"] for r in by_agent} == {
        "ann": 30.0,
        "bob": 90.0,
    }


def test_ndjson_and_replay_change_nothing(live):
    server, seats = live
    sender = server.client(seats.keys["in"])
    events = chat("nd-1", DAY, agent="ann", close_after=300)
    body = b"".join(orjson.dumps(e) + b"\n" for e in events)
    first = sender.post("/api/v1/events", content=body)
    assert first.json() == {"accepted": len(events), "duplicates": 0}
    again = sender.post("/api/v1/events", content=body)
    assert again.json() == {"accepted": 0, "duplicates": len(events)}
    # a batch that repeats an event inside itself counts it once
    twice = chat("nd-2", DAY)
    answer = sender.post("/api/v1/events", json=twice + twice[:1])
    assert answer.json() == {"accepted": len(twice), "duplicates": 1}


def test_a_batch_with_one_bad_event_stores_nothing(live):
    server, seats = live
    sender, reader = server.client(seats.keys["in"]), server.client(seats.keys["out"])
    good = chat("bad-batch", DAY)
    bad = dict(good[1], sender="robot")
    answer = sender.post("/api/v1/events", json=[good[0], bad, "not an object"])
    assert answer.status_code == 422
    error = answer.json()["error"]
    assert error["code"] == "invalid_events"
    assert error["message"] == "2 of 3 events are invalid; nothing was stored"
    assert [(d["index"], d["field"]) for d in error["details"]] == [(1, "sender"), (2, "(event)")]
    assert "expected a JSON object, got a string" in error["details"][1]["message"]
    listed = reader.get(
        "/api/v1/conversations",
        params={"from": "2026-11-01", "to": "2026-11-30", "filter": "channel=web"},
    ).json()
    assert "bad-batch" not in {r["conversation_id"] for r in listed["rows"]}


@pytest.mark.parametrize(
    ("event", "field", "message"),
    [
        ({"type": "nope"}, "type", "unknown event type 'nope'"),
        ({"ts": "2026-11-02T08:00:00Z"}, "type", "is required"),
        (
            {"type": "message", "ts": "yesterday", "conversation_id": "c", "sender": "customer"},
            "ts",
            "is not an RFC 3339 timestamp",
        ),
        (
            {
                "type": "rating",
                "ts": "2026-11-02T08:00:00Z",
                "conversation_id": "c",
                "kind": "csat",
                "score": 9,
            },
            "score",
            "",
        ),
        (
            {"type": "message", "ts": "2026-11-02T08:00:00Z", "sender": "customer"},
            "conversation_id",
            "is required",
        ),
    ],
)
def test_each_validation_error_names_index_and_field(live, event, field, message):
    server, seats = live
    answer = server.client(seats.keys["in"]).post("/api/v1/events", json=[event])
    assert answer.status_code == 422
    details = answer.json()["error"]["details"]
    assert details[0]["index"] == 0
    assert details[0]["field"] == field
    assert message in details[0]["message"]


def test_message_text_is_never_echoed_in_errors(live):
    server, seats = live
    secret = "my card number is 4111 1111 1111 1111"
    event = {"type": "message", "ts": "bad", "conversation_id": "c", "sender": "x", "text": secret}
    answer = server.client(seats.keys["in"]).post("/api/v1/events", json=[event])
    assert answer.status_code == 422
    assert "4111" not in answer.text
    assert "4111" not in server.log.read_text()


def test_invalid_json_and_empty_bodies(live):
    server, seats = live
    sender = server.client(seats.keys["in"])
    broken = sender.post("/api/v1/events", content=b'[{"type": ')
    assert broken.status_code == 400
    assert broken.json()["error"]["message"].startswith("the body is not valid JSON")
    line = sender.post("/api/v1/events", content=b'{"type": "message"}\n{oops\n')
    assert line.status_code == 422
    assert line.json()["error"]["details"][0]["index"] == 1
    empty = sender.post("/api/v1/events", content=b"  ")
    assert empty.status_code == 400


def test_size_limits_answer_413_naming_the_limit(live):
    server, seats = live
    sender = server.client(seats.keys["in"])
    many = [{"type": "health_check", "ts": "2026-11-02T08:00:00Z", "status": "up"}] * 10_001
    answer = sender.post("/api/v1/events", json=many)
    assert answer.status_code == 413
    assert answer.json()["error"] == {
        "code": "too_large",
        "message": "10001 events in one request: at most 10000 events and 5 MiB per request",
        "details": None,
    }
    huge = b"[" + b" " * (5 * 1024 * 1024) + b"]"
    answer = sender.post("/api/v1/events", content=huge)
    assert answer.status_code == 413
    assert "at most 10000 events and 5 MiB per request" in answer.json()["error"]["message"]


def test_untrusted_text_is_stored_and_returned_as_data(live):
    server, seats = live
    sender, reader = server.client(seats.keys["in"]), server.client(seats.keys["out"])
    events = chat("xss", DAY)
    events[1]["text"] = "<script>alert(1)</script>"
    assert sender.post("/api/v1/events", json=events).status_code == 200
    wait_until(lambda: reader.get("/api/v1/conversations/xss").status_code == 200)
    answer = reader.get("/api/v1/conversations/xss")
    assert answer.headers["content-type"] == "application/json"
    texts = [e.get("text") for e in answer.json()["events"]]
    assert "<script>alert(1)</script>" in texts
