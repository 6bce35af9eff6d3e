"""Webhook receivers (issue 16): the real server, deliveries posted over HTTP as each
platform sends them (tests/data/webhooks), correctly and wrongly signed, repeated,
reordered, cut short; connections revoked; bad deliveries quarantined; and the facts of
whole conversations delivered as webhooks (shuffled, repeated) against the same
conversations imported from the platform's export."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from sqlalchemy import func, select

from chatlens.app import connections
from chatlens.app.db import app_db_url, open_app_db
from chatlens.app.models import ConnectionConversation
from chatlens.importers.chatwoot import ChatwootImporter
from chatlens.importers.intercom import IntercomImporter
from chatlens.importers.livechat import LiveChatImporter
from chatlens.ingest import import_file
from chatlens.store import open_store
from chatlens.store.facts import refresh_facts
from tests.conftest import facts
from tests.connect import webhooks
from tests.serverkit import LiveServer, provision

pytestmark = pytest.mark.server

DATA = Path(__file__).parent.parent / "data" / "webhooks"
EXPORTS = Path(__file__).parent.parent / "importers" / "data"
INTERCOM_SECRET = "ic-client-secret-0001"
LIVECHAT_SECRET = "lc-webhook-secret-key-0001"
CHATWOOT_SECRET = "cw-webhook-secret-0001"
PRIVATE = "4242"
"""In every fixture's text: never in an answer, a log line or the Connections page."""
PERIOD = {"from": "2026-11-01", "to": "2026-11-30"}


def fixture(name: str) -> dict[str, Any]:
    return orjson.loads((DATA / name).read_bytes())


def livechat(name: str, secret: str = LIVECHAT_SECRET) -> bytes:
    return (DATA / "livechat" / name).read_bytes().replace(b'"SECRET"', orjson.dumps(secret))


def app_state(store: Path):
    return open_app_db(app_db_url(store))


def wait_settled(store: Path, timeout: float = 30.0) -> None:
    """Until every folded conversation's events are journaled."""
    factory = app_state(store)
    deadline = time.monotonic() + timeout
    try:
        while True:
            with factory() as db:
                left = db.scalar(
                    select(func.count()).where(ConnectionConversation.settled.is_(False))
                )
            if left == 0:
                return
            assert time.monotonic() < deadline, f"{left} conversations never settled"
            time.sleep(0.1)
    finally:
        factory.kw["bind"].dispose()


def serve(store: Path, quiet: float = 0.3) -> LiveServer:
    os.environ["CHATLENS_CONNECT_QUIET_SECONDS"] = str(quiet)
    try:
        return LiveServer(store).start(timeout=120)
    finally:
        del os.environ["CHATLENS_CONNECT_QUIET_SECONDS"]


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    store = tmp_path_factory.mktemp("connect") / "chatlens.duckdb"
    seats = provision(
        store,
        {
            "acme": {
                "users": {"root": ("admin", None, None), "boss": ("manager", None, None)},
                "keys": {"acme-read": "read"},
            },
            "beta": {"users": {"zed": ("admin", None, None)}, "keys": {"beta-read": "read"}},
        },
    )
    factory = app_state(store)
    with factory() as db:
        urls = {
            "intercom": connections.create_connection(
                db, "acme", "intercom", "messenger", INTERCOM_SECRET
            ).path,
            "livechat": connections.create_connection(
                db, "acme", "livechat", "website chat", LIVECHAT_SECRET
            ).path,
            "chatwoot": connections.create_connection(db, "acme", "chatwoot", "desk").path,
            "chatwoot-signed": connections.create_connection(
                db, "acme", "chatwoot", "desk 4", CHATWOOT_SECRET
            ).path,
            "beta": connections.create_connection(
                db, "beta", "intercom", "beta messenger", INTERCOM_SECRET
            ).path,
        }
    factory.kw["bind"].dispose()
    server = serve(store)
    yield server, seats, store, urls
    server.stop()
    assert PRIVATE not in server.log.read_text(), "a payload's text reached the log"


def post(server: LiveServer, path: str, delivery: webhooks.Delivery) -> httpx.Response:
    headers, body = delivery
    return httpx.post(server.url + path, content=body, headers=headers, timeout=30)


def transcript(
    server: LiveServer,
    key: str,
    conversation: str,
    events: int,
    timeout: float = 20.0,
    fact: str | None = None,
) -> dict[str, Any]:
    """The conversation's facts and events, once the store holds `events` of them and, with
    `fact`, once the facts have that column filled (the journal moves into the store first,
    the facts refresh after it, within a second or so)."""
    deadline = time.monotonic() + timeout
    while True:
        answer = server.client(key).get(f"/api/v1/conversations/{conversation}")
        found = answer.json() if answer.status_code == 200 else None
        if (
            found
            and len(found["events"]) >= events
            and (fact is None or found["conversation"][fact] is not None)
        ):
            return found
        assert time.monotonic() < deadline, answer.text
        time.sleep(0.1)


def test_intercom_signed_deliveries_arrive_once_whatever_the_order(live):
    server, seats, store, urls = live
    created = webhooks.intercom_signed(
        fixture("intercom/conversation.user.created.json"), INTERCOM_SECRET
    )
    replied = webhooks.intercom_signed(
        fixture("intercom/conversation.admin.replied.json"), INTERCOM_SECRET
    )
    # the reply before the conversation it belongs to, then both again
    for delivery in (replied, created, replied, created):
        answer = post(server, urls["intercom"], delivery)
        assert answer.status_code == 202, answer.text
        assert answer.json()["status"] == "received"
    assert answer.json()["delivery_id"] == "notif_7a1c2e00-0000-4000-8000-000000000001"
    wait_settled(store)
    events = transcript(server, seats.keys["acme-read"], "9001", 3)["events"]
    assert [(e["event_id"], e["type"], e["ts"][:19]) for e in events] == [
        ("intercom:9001:start", "conversation_started", "2026-11-07T09:00:00"),
        ("intercom:9001:source:403990001", "message", "2026-11-07T09:00:00"),
        ("intercom:9001:part:90010001", "message", "2026-11-07T09:01:30"),
    ]
    assert events[2]["agent_id"] == "814860" and events[2]["sender"] == "agent"
    # another workspace's read key does not see it
    other = server.client(seats.keys["beta-read"]).get("/api/v1/conversations/9001")
    assert other.status_code == 404


def test_unsigned_and_wrongly_signed_deliveries_are_refused_naming_what_is_wrong(live):
    server, _, _, urls = live
    payload = fixture("intercom/conversation.admin.replied.json")
    headers, body = webhooks.intercom_signed(payload, INTERCOM_SECRET)
    missing = post(server, urls["intercom"], ({"content-type": "application/json"}, body))
    assert missing.status_code == 401
    assert missing.json()["error"]["message"] == "missing the X-Hub-Signature header"
    wrong = post(server, urls["intercom"], webhooks.intercom_signed(payload, "not-the-secret"))
    assert wrong.status_code == 401
    assert "X-Hub-Signature does not match the body" in wrong.json()["error"]["message"]
    # a body cut short no longer matches its signature
    cut = post(server, urls["intercom"], (headers, body[: len(body) // 2]))
    assert cut.status_code == 401
    # the same secret on another workspace's connection is that workspace's own (a
    # conversation of its own: the tests share one server, and 9001 must stay acme's only)
    theirs = {**payload, "id": "notif_beta", "data": {**payload["data"]}}
    theirs["data"]["item"] = {**payload["data"]["item"], "id": "9901"}
    beta = post(server, urls["beta"], webhooks.intercom_signed(theirs, INTERCOM_SECRET))
    assert beta.status_code == 202
    for answer in (missing, wrong, cut):
        assert PRIVATE not in answer.text


def test_chatwoot_token_only_and_signed_connections(live):
    server, seats, store, urls = live
    payloads = [
        orjson.loads(line)
        for line in (DATA / "chatwoot/deliveries.jsonl").read_bytes().splitlines()
    ]
    unsigned = [webhooks.chatwoot_signed(p, None, f"d-{n}") for n, p in enumerate(payloads)]
    cut_headers, cut_body = unsigned[1]
    cut = post(server, urls["chatwoot"], (cut_headers, cut_body[:-40]))
    assert cut.status_code == 400
    assert cut.json()["error"]["message"].startswith("the body is not valid JSON (cut short?)")
    assert PRIVATE not in cut.text
    for delivery in reversed(unsigned):  # the newest first: the conversation last
        answer = post(server, urls["chatwoot"], delivery)
        assert answer.status_code in (200, 202), answer.text
    contact = post(server, urls["chatwoot"], unsigned[-1])  # contact_updated counts nothing
    assert contact.json() == {
        "status": "ignored",
        "delivery_id": f"d-{len(payloads) - 1}",
        "reason": None,
    }
    # the signed connection wants X-Chatwoot-Signature over "<timestamp>.<body>"
    plain = post(server, urls["chatwoot-signed"], unsigned[1])
    assert plain.status_code == 401
    assert "missing the X-Chatwoot-Signature" in plain.json()["error"]["message"]
    signed = webhooks.chatwoot_signed(payloads[1], CHATWOOT_SECRET, "s-1")
    assert post(server, urls["chatwoot-signed"], signed).status_code == 202
    headers, body = signed
    stale = {**headers, "x-chatwoot-timestamp": "1793613601"}  # not the signed timestamp
    refused = post(server, urls["chatwoot-signed"], (stale, body))
    assert refused.status_code == 401
    assert "X-Chatwoot-Signature does not match" in refused.json()["error"]["message"]
    wait_settled(store)
    got = transcript(server, seats.keys["acme-read"], "106", 11, fact="csat")
    # each once, though 6006 came twice (created, then updated with the survey's answer)
    assert [e["event_id"].removeprefix("chatwoot:") for e in got["events"]] == [
        "conv:106:started",
        "msg:6001",
        "msg:6002",
        "conv:106:status:open:2026-11-02T15:00:07",  # pending -> open: the bot hands over
        "conv:106:assignee:4:2026-11-02T15:00:37",
        "msg:6003",
        "msg:6004",
        "msg:6005",
        "conv:106:status:resolved:2026-11-02T15:03:20",
        "msg:6006",
        "csat:6006",
    ]
    assert got["conversation"]["csat"] == 3  # the survey answer: rating 3


def test_livechat_secret_key_and_an_event_before_its_chat(live):
    server, seats, store, urls = live
    wrong = post(server, urls["livechat"], ({}, livechat("incoming_event.json", "guessed!")))
    assert wrong.status_code == 401
    assert wrong.json()["error"]["message"] == (
        "field 'secret_key' does not match the connection's secret"
    )
    for name in ("incoming_event.json", "chat_deactivated.json"):
        assert post(server, urls["livechat"], ({}, livechat(name))).status_code == 202
    wait_settled(store)
    # nothing to count before the chat itself: its thread's start is unknown
    early = server.client(seats.keys["acme-read"]).get(
        "/api/v1/conversations/PJ0MRSHTDG:K600PKZON8"
    )
    assert early.status_code == 404
    assert post(server, urls["livechat"], ({}, livechat("incoming_chat.json"))).status_code == 202
    wait_settled(store)
    got = transcript(
        server, seats.keys["acme-read"], "PJ0MRSHTDG:K600PKZON8", 5, fact="first_response_seconds"
    )
    assert [e["type"] for e in got["events"]] == [
        "conversation_started",
        "message",
        "agent_joined",
        "message",
        "conversation_closed",
    ]
    assert got["conversation"]["first_response_seconds"] == 41.0  # start 10:00:00 -> 10:00:41


def test_a_delivery_that_cannot_be_converted_is_quarantined_and_shown(live):
    server, _, store, urls = live
    bad = fixture("intercom/conversation.admin.replied.json")
    bad["id"] = "notif_bad"
    bad["data"]["item"]["id"] = "9002"
    part = bad["data"]["item"]["conversation_parts"]["conversation_parts"][0]
    part["created_at"] = "soon, 4242"
    answer = post(server, urls["intercom"], webhooks.intercom_signed(bad, INTERCOM_SECRET))
    assert answer.status_code == 200
    assert answer.json() == {
        "status": "quarantined",
        "delivery_id": "notif_bad",
        "reason": "field 'conversation_parts.conversation_parts[0].created_at': "
        "not a Unix time in seconds: '…'",
    }
    # the conversation is not blocked: a good delivery of it is taken
    good = fixture("intercom/conversation.user.created.json")
    good["id"], good["data"]["item"]["id"] = "notif_good", "9002"
    assert (
        post(server, urls["intercom"], webhooks.intercom_signed(good, INTERCOM_SECRET)).status_code
        == 202
    )
    no_id = {**good, "id": "notif_noid", "data": {"item": {"type": "conversation"}}}
    refused = post(server, urls["intercom"], webhooks.intercom_signed(no_id, INTERCOM_SECRET))
    assert refused.status_code == 422
    assert refused.json()["error"]["message"] == (
        "field 'data.item.id': missing (the delivery is quarantined)"
    )
    wait_settled(store)
    page = server.login("root@acme.example.com").get("/connections")
    assert page.status_code == 200
    assert "notif_bad" in page.text and "not a Unix time in seconds" in page.text
    assert PRIVATE not in page.text
    factory = app_state(store)
    with factory() as db:
        record = connections.get_connection(db, "acme", "messenger")
        seen = connections.traffic(db, record.id)
    factory.kw["bind"].dispose()
    assert seen.quarantined == 2
    assert [p.delivery_id for p in seen.quarantine] == ["notif_noid", "notif_bad"]


def test_revoking_a_connection_stops_it_at_once(live):
    server, _, store, _ = live
    factory = app_state(store)
    with factory() as db:
        made = connections.create_connection(db, "acme", "chatwoot", "to revoke")
    factory.kw["bind"].dispose()
    payload = orjson.loads((DATA / "chatwoot/deliveries.jsonl").read_bytes().splitlines()[0])
    delivery = webhooks.chatwoot_signed(payload, None, "r-1")
    assert post(server, made.path, delivery).status_code == 202
    admin = server.login("root@acme.example.com")
    revoked = admin.post(f"/connections/{made.record.id}/revoke", follow_redirects=False)
    assert revoked.status_code == 303
    after = post(server, made.path, delivery)
    assert after.status_code == 403
    assert after.json()["error"]["message"] == "this connection was revoked"
    unknown = post(server, "/api/v1/connect/not-a-token", delivery)
    assert unknown.status_code == 404


def test_a_delivery_too_large_is_refused(live):
    server, _, _, urls = live
    body = b'{"event": "message_created", "content": "' + b"x" * (1024 * 1024) + b'"}'
    answer = post(server, urls["chatwoot"], ({"content-type": "application/json"}, body))
    assert answer.status_code == 413
    assert answer.json()["error"]["message"] == "a delivery holds at most 1024 KiB"


def test_the_connections_page_is_for_admins_and_shows_the_traffic(live):
    server, _, store, _ = live
    assert server.login("boss@acme.example.com").get("/connections").status_code == 403
    admin = server.login("root@acme.example.com")
    made = admin.post("/connections", data={"platform": "intercom", "name": "no secret"})
    assert made.status_code == 400
    assert "a intercom connection needs --secret" in made.text
    made = admin.post(
        "/connections",
        data={"platform": "livechat", "name": "site 2", "secret": "a-long-secret-key"},
    )
    assert made.status_code == 200
    assert f"{server.url}/api/v1/connect/" in made.text and 'id="steps-livechat"' in made.text
    wait_settled(store)
    page = admin.get("/connections").text
    assert "messenger" in page and "website chat" in page and "site 2" in page
    assert "beta messenger" not in page  # another workspace's


def export_items(platform: str) -> tuple[Path, list[dict[str, Any]]]:
    if platform == "intercom":
        path = EXPORTS / "intercom/conversations.json"
        return path, orjson.loads(path.read_bytes())
    if platform == "livechat":
        path = EXPORTS / "livechat/list_archives.json"
        return path, orjson.loads(path.read_bytes())["chats"]
    path = EXPORTS / "chatwoot/history.jsonl"
    return path, [orjson.loads(line) for line in path.read_bytes().splitlines()]


IMPORTERS = {
    "intercom": IntercomImporter,
    "livechat": LiveChatImporter,
    "chatwoot": ChatwootImporter,
}
DELIVERIES = {
    "intercom": lambda item: webhooks.intercom_deliveries(item, INTERCOM_SECRET),
    "livechat": lambda item: webhooks.livechat_deliveries(item, LIVECHAT_SECRET),
    "chatwoot": lambda item: webhooks.chatwoot_deliveries(item, CHATWOOT_SECRET),
}


@pytest.mark.parametrize("platform", ["intercom", "chatwoot", "livechat"])
def test_webhooks_give_the_facts_of_the_export(tmp_path, platform):
    path, items = export_items(platform)
    with open_store(tmp_path / "export.duckdb") as exported:
        import_file(exported, path, records=IMPORTERS[platform]().records(path))
        refresh_facts(exported)
        expected = facts(exported)
    store = tmp_path / "chatlens.duckdb"
    provision(store, {})
    factory = app_state(store)
    secret = {
        "intercom": INTERCOM_SECRET,
        "livechat": LIVECHAT_SECRET,
        "chatwoot": CHATWOOT_SECRET,
    }[platform]
    with factory() as db:
        url = connections.create_connection(db, "default", platform, "live", secret).path
    factory.kw["bind"].dispose()
    deliveries = [d for item in items for d in DELIVERIES[platform](item)]
    # every conversation's deliveries come within the settle pause, as docs/connections.md
    # promises: the pause outlasts the posting (a loaded machine posts the shuffled deliveries
    # of all the conversations in tens of seconds), then a restart with no pause settles them
    # all (what the app state kept is settled at the next start)
    server = serve(store, quiet=3600.0)
    try:
        for delivery in webhooks.shuffled_with_repeats(deliveries, seed=16):
            answer = post(server, url, delivery)
            assert answer.status_code == 202, answer.text
    finally:
        server.stop()
    server = serve(store, quiet=0.0)
    try:
        wait_settled(store)
    finally:
        server.stop()
    with open_store(store) as delivered:
        refresh_facts(delivered)
        assert facts(delivered) == expected
    assert len(expected) == {"intercom": 6, "chatwoot": 2, "livechat": 5}[platform]


def test_a_crash_right_after_the_answer_loses_nothing(tmp_path):
    store = tmp_path / "chatlens.duckdb"
    seats = provision(store, {"default": {"keys": {"read": "read"}}})
    factory = app_state(store)
    with factory() as db:
        url = connections.create_connection(db, "default", "intercom", "m", INTERCOM_SECRET).path
    factory.kw["bind"].dispose()
    server = serve(store, quiet=600.0)  # nothing settles before the crash
    for name in ("conversation.user.created.json", "conversation.admin.replied.json"):
        delivery = webhooks.intercom_signed(fixture(f"intercom/{name}"), INTERCOM_SECRET)
        assert post(server, url, delivery).status_code == 202
    server.kill()
    server = serve(store)
    try:
        wait_settled(store)
        events = transcript(server, seats.keys["read"], "9001", 3)["events"]
        assert [e["event_id"] for e in events] == [
            "intercom:9001:start",
            "intercom:9001:source:403990001",
            "intercom:9001:part:90010001",
        ]
    finally:
        server.stop()
