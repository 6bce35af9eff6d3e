"""The website tracker's endpoints on the real server (issue 16 part 5): `/t.js` served as a
small cached script; beacons accepted only from the key's origins (CORS, preflight), only
of the tracker's event types, limited per visitor, counted once when resent, redacted like
every event, and no client address kept anywhere (store, journal, app state, log).

Each test uses its own day (its events carry explicit times and no `sent`, so the server
keeps them as given) and its own visitor ids: the figures it reads are its own."""

from __future__ import annotations

import datetime as dt
import gzip
import itertools
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from chatlens.app import connections
from chatlens.app.db import app_db_url, open_app_db
from chatlens.cli import app as cli
from chatlens.store import open_store
from tests.serverkit import LiveServer, provision
from tests.waiting import wait_until

pytestmark = pytest.mark.server

SHOP = "https://shop.example.com"
SHOP_ALIAS = "http://127.0.0.1:8899"
_ids = itertools.count(1)


def new_id(prefix: str) -> str:
    return f"{prefix}-{next(_ids):06d}-x"


def event(kind: str, visitor: str, at: str, **extra: Any) -> dict[str, Any]:
    """One tracker record at `at` ("2026-10-05T10:00:00"), with a fresh client id."""
    ms = int(dt.datetime.fromisoformat(at + "+00:00").timestamp() * 1000)
    return {
        "id": new_id("ev"),
        "type": kind,
        "ts": ms,
        "customer_id": visitor,
        "session_id": extra.pop("session_id", visitor + "-s1"),
        "page_url": extra.pop("page_url", SHOP + "/"),
        **extra,
    }


def beacon(*events: dict[str, Any]) -> dict[str, Any]:
    return {"events": list(events)}


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    store = tmp_path_factory.mktemp("tracker") / "chatlens.duckdb"
    seats = provision(
        store,
        {
            "acme": {"users": {"root": ("admin", None, None)}, "keys": {"acme-read": "read"}},
            "beta": {"keys": {"beta-read": "read"}},
        },
    )
    factory = open_app_db(app_db_url(store))
    with factory() as db:
        made = connections.create_connection(
            db, "acme", "tracker", "shop", origins=[SHOP, SHOP_ALIAS + "/"]
        )
        assert made.site is not None
        key = made.site.site_key
    factory.kw["bind"].dispose()
    server = LiveServer(store).start(timeout=120)
    yield server, seats, store, key
    server.stop()


def track(server: LiveServer, key: str, body: Any, origin: str | None = SHOP) -> httpx.Response:
    headers = {"Content-Type": "text/plain"}  # what sendBeacon sends: no preflight
    if origin is not None:
        headers["Origin"] = origin
    content = body if isinstance(body, bytes) else httpx.Request("POST", "/", json=body).content
    return server.client().post(f"/api/v1/track/{key}", content=content, headers=headers)


def figures(server: LiveServer, seats: Any, day: str, key: str = "acme-read") -> dict[str, Any]:
    query = {
        "metrics": ["visitors", "conversations", "visitor_chat_rate"],
        "from": day,
        "to": day,
    }
    answer = server.client(seats.keys[key]).post("/api/v1/query", json=query)
    assert answer.status_code == 200, answer.text
    row: dict[str, Any] = answer.json()["rows"][0]
    return row


def wait_figures(server, seats, day, **expected) -> dict[str, Any]:
    def met() -> dict[str, Any] | None:
        row = figures(server, seats, day)
        return row if all(row[k] == v for k, v in expected.items()) else None

    return wait_until(met, 60, what=f"figures of {day} = {expected}")


def test_the_script_is_small_typed_cached_and_gzipped(live):
    server, *_ = live
    plain = server.client().get("/t.js", headers={"Accept-Encoding": "identity"})
    assert plain.status_code == 200
    assert plain.headers["content-type"] == "text/javascript; charset=utf-8"
    assert plain.headers["cache-control"] == "public, max-age=604800"
    assert plain.headers["x-content-type-options"] == "nosniff"
    assert "navigator.sendBeacon" in plain.text and "widgetOpened" in plain.text
    assert len(plain.content) < 6000  # "a few KB"
    packed = server.client().get("/t.js", headers={"Accept-Encoding": "gzip"})
    assert packed.headers["content-encoding"] == "gzip"
    assert packed.content == plain.content  # httpx unpacks it: the same script
    assert len(gzip.compress(plain.content)) < 2500
    again = server.client().get("/t.js", headers={"If-None-Match": plain.headers["etag"]})
    assert again.status_code == 304


def test_the_docs_give_the_script_size_as_served(live):
    server, *_ = live
    text = server.client().get("/t.js", headers={"Accept-Encoding": "identity"}).content
    packed = server.client().get("/t.js", headers={"Accept-Encoding": "gzip"})
    size = int(packed.headers["content-length"])  # the gzipped bytes on the wire
    docs = (Path(__file__).parents[2] / "docs" / "connections.md").read_text()
    assert f"**{len(text):,} bytes, {size:,} gzipped**" in docs


def test_an_allowed_origin_is_stored_and_answered_with_cors(live):
    server, seats, _, key = live
    day = "2026-10-01"
    ann, bob = new_id("ann"), new_id("bob")
    sent = track(
        server,
        key,
        beacon(
            event("visit_started", ann, f"{day}T10:00:00"),
            event("page_view", ann, f"{day}T10:00:00"),
            event("page_view", ann, f"{day}T10:02:00", page_url=SHOP + "/shoes"),
            event("conversation_started", ann, f"{day}T10:03:00"),
            event("visit_started", bob, f"{day}T11:00:00"),
            event("page_view", bob, f"{day}T11:00:00"),
        ),
    )
    assert sent.status_code == 200, sent.text
    assert sent.json() == {"accepted": 6, "duplicates": 0}
    assert sent.headers["access-control-allow-origin"] == SHOP
    assert sent.headers["vary"] == "Origin"
    # 2 visitors, ann opened the widget once: 1 conversation, 1 of 2 visitors chatted
    wait_figures(server, seats, day, visitors=2, conversations=1, visitor_chat_rate=0.5)
    # the other allowed origin, written with a trailing slash at creation, works too
    other = track(
        server, key, beacon(event("page_view", bob, f"{day}T11:05:00")), origin=SHOP_ALIAS
    )
    assert other.status_code == 200
    assert other.headers["access-control-allow-origin"] == SHOP_ALIAS
    # another workspace sees none of it
    beta = server.client(seats.keys["beta-read"]).post(
        "/api/v1/query", json={"metrics": ["visitors"], "from": day, "to": day}
    )
    assert beta.json()["rows"][0]["visitors"] == 0


def test_a_page_of_another_origin_is_refused_and_counts_nothing(live):
    server, seats, _, key = live
    day = "2026-10-02"
    eve, ann = new_id("eve"), new_id("ann")
    for origin in ("https://evil.example.com", "https://shop.example.com.evil.io", "null", None):
        refused = track(
            server, key, beacon(event("visit_started", eve, f"{day}T09:00:00")), origin=origin
        )
        assert refused.status_code == 403, origin
        assert "access-control-allow-origin" not in refused.headers
        assert refused.headers["vary"] == "Origin"
        assert refused.json()["error"]["code"] == "origin_not_allowed"
    # a later allowed beacon of the same day: the figure counts it alone
    assert track(server, key, beacon(event("visit_started", ann, f"{day}T09:30:00"))).is_success
    wait_figures(server, seats, day, visitors=1)


def test_the_preflight_echoes_only_allowed_origins(live):
    server, _, _, key = live
    asked = {
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type",
    }
    ok = server.client().options(f"/api/v1/track/{key}", headers={"Origin": SHOP, **asked})
    assert ok.status_code == 204
    assert ok.headers["access-control-allow-origin"] == SHOP
    assert ok.headers["access-control-allow-methods"] == "POST"
    assert ok.headers["access-control-allow-headers"] == "Content-Type"
    assert ok.headers["vary"] == "Origin"
    assert "access-control-allow-credentials" not in ok.headers
    bad = server.client().options(
        f"/api/v1/track/{key}", headers={"Origin": "https://evil.example.com", **asked}
    )
    assert bad.status_code == 403
    assert "access-control-allow-origin" not in bad.headers
    unknown = server.client().options("/api/v1/track/no-such-key-000", headers={"Origin": SHOP})
    assert unknown.status_code == 404


def test_another_event_type_is_refused_naming_record_and_field(live):
    server, seats, _, key = live
    day = "2026-10-03"
    ann = new_id("ann")
    good = event("visit_started", ann, f"{day}T08:00:00")
    message = {**event("page_view", ann, f"{day}T08:01:00"), "type": "message", "text": "hi"}
    extra = {**event("page_view", ann, f"{day}T08:02:00"), "agent_id": "mallory"}
    no_id = {k: v for k, v in event("page_view", ann, f"{day}T08:03:00").items() if k != "id"}
    answer = track(server, key, beacon(good, message, extra, no_id))
    assert answer.status_code == 400
    error = answer.json()["error"]
    assert [(d["index"], d["field"]) for d in error["details"]] == [
        (1, "type"),
        (2, "agent_id"),
        (3, "id"),
    ]
    assert error["message"] == "3 of 4 events were refused (1 stored, 0 stored before)"
    assert "mallory" not in answer.text and "hi" not in error["message"]
    # the valid neighbour was kept
    wait_figures(server, seats, day, visitors=1)
    assert track(server, key, b"{not json").status_code == 400
    assert track(server, key, {"events": []}).status_code == 400
    bad_time = {**event("page_view", ann, f"{day}T08:04:00"), "ts": "yesterday"}
    refused = track(server, key, beacon(bad_time))
    assert [(d["index"], d["field"]) for d in refused.json()["error"]["details"]] == [(0, "ts")]


def test_a_resent_beacon_counts_once(live):
    server, seats, _, key = live
    day = "2026-10-04"
    ann = new_id("ann")
    body = beacon(
        event("visit_started", ann, f"{day}T12:00:00"),
        event("page_view", ann, f"{day}T12:00:00"),
        event("conversation_started", ann, f"{day}T12:01:00"),
    )
    first = track(server, key, body)
    second = track(server, key, body)
    assert first.json() == {"accepted": 3, "duplicates": 0}
    assert second.json() == {"accepted": 0, "duplicates": 3}
    wait_figures(server, seats, day, visitors=1, conversations=1, visitor_chat_rate=1.0)


def test_the_rate_limit_is_per_visitor(live):
    server, _, _, key = live
    day = "2026-10-05"
    busy, calm = new_id("busy"), new_id("calm")

    def views(visitor: str, n: int, minute: int) -> dict[str, Any]:
        return beacon(
            *(event("page_view", visitor, f"{day}T10:{minute:02d}:{s:02d}") for s in range(n))
        )

    assert track(server, key, views(busy, 60, 0)).json()["accepted"] == 60
    assert track(server, key, views(busy, 60, 1)).json()["accepted"] == 60  # 120: the limit
    over = track(server, key, views(busy, 1, 2))
    assert over.status_code == 429
    assert 1 <= int(over.headers["retry-after"]) <= 60
    assert over.headers["access-control-allow-origin"] == SHOP
    assert over.json()["error"]["code"] == "too_many_requests"
    # another visitor of the same site is not held back
    assert track(server, key, views(calm, 1, 3)).json()["accepted"] == 1


def test_a_revoked_or_unknown_key_is_refused_at_once(live):
    server, _, store, _ = live
    factory = open_app_db(app_db_url(store))
    with factory() as db:
        made = connections.create_connection(db, "acme", "tracker", new_id("old"), origins=[SHOP])
        assert made.site is not None
        key = made.site.site_key
    ann = new_id("ann")
    assert track(server, key, beacon(event("page_view", ann, "2026-10-06T10:00:00"))).is_success
    with factory() as db:
        connections.revoke_connection(db, "acme", made.record.name)
    factory.kw["bind"].dispose()
    revoked = track(server, key, beacon(event("page_view", ann, "2026-10-06T10:01:00")))
    assert revoked.status_code == 403
    assert revoked.json()["error"]["code"] == "revoked"
    assert "access-control-allow-origin" not in revoked.headers
    unknown = track(server, "AAAAAAAAAAAAAAAAAAAAAA", beacon())
    assert unknown.status_code == 404
    # a tracker connection has no webhook URL: its (never shown) token is not a way in
    assert server.client().post("/api/v1/connect/" + key, json={}).status_code == 404


def test_the_connections_page_shows_the_snippet_and_counts(live):
    server, seats, _, key = live
    page = server.login(seats.emails["root"]).get("/connections")
    assert page.status_code == 200
    snippet = f"&lt;script async src=&#34;{server.url}/t.js&#34; data-key=&#34;{key}&#34;&gt;"
    assert snippet in page.text
    assert SHOP in page.text and "Website tracker" in page.text


def test_an_admin_creates_a_tracker_on_the_page(live):
    server, seats, _, _ = live
    admin = server.login(seats.emails["root"])
    name = new_id("page")
    refused = admin.post("/connections", data={"platform": "tracker", "name": name})
    assert refused.status_code == 400
    assert "needs its site&#39;s origins" in refused.text
    made = admin.post(
        "/connections",
        data={
            "platform": "tracker",
            "name": name,
            "origins": "https://a.example.com http://b.test:8080",
        },
    )
    assert made.status_code == 200
    assert 'id="new-snippet"' in made.text and 'id="steps-tracker"' in made.text
    key = made.text.split("data-key=&#34;")[1].split("&#34;")[0]
    assert len(key) == 22
    for origin in ("https://a.example.com", "http://b.test:8080"):
        assert track(
            server,
            key,
            beacon(event("page_view", new_id("v"), "2026-10-08T10:00:00")),
            origin=origin,
        ).is_success


def test_cli_creates_a_tracker_and_prints_its_snippet(tmp_path):
    store = tmp_path / "chatlens.duckdb"
    provision(store, {"shop": {}})
    runner = CliRunner()
    base = ["connections", "create", "-w", "shop", "--platform", "tracker", "--db", str(store)]
    made = runner.invoke(
        cli,
        [
            *base,
            "--name",
            "site",
            "--origin",
            "https://Shop.Example.com/",
            "--origin",
            "http://localhost:3000",
            "--base-url",
            "https://stats.example.com",
        ],
    )
    assert made.exit_code == 0, made.output
    line = made.output.strip()
    assert line.startswith('<script async src="https://stats.example.com/t.js" data-key="')
    key = line.split('data-key="')[1].split('"')[0]
    assert len(key) == 22
    shown = runner.invoke(cli, ["connections", "show", "-w", "shop", "site", "--db", str(store)])
    assert f"site key: {key}" in shown.output
    assert "https://shop.example.com, http://localhost:3000" in shown.output
    for args, fault in (
        (["--name", "none"], "needs its site's origins (--origin)"),
        (["--name", "path", "--origin", "https://shop.example.com/cart"], "no path"),
        (["--name", "ftp", "--origin", "ftp://shop.example.com"], "https://shop.example.com"),
        (["--name", "sec", "--origin", SHOP, "--secret", "s3cret-value"], "has no secret"),
    ):
        refused = runner.invoke(cli, [*base, *args])
        assert refused.exit_code != 0 and fault in refused.output, (args, refused.output)


def test_no_address_is_kept_and_page_urls_are_redacted(tmp_path):
    """A beacon sent from 127.0.0.7: that address is nowhere afterwards (store, journal,
    app state, server log), and a card number in a page URL is stored as [card]."""
    store = tmp_path / "chatlens.duckdb"
    provision(store, {"acme": {"keys": {"read": "read"}}})
    factory = open_app_db(app_db_url(store))
    with factory() as db:
        made = connections.create_connection(db, "acme", "tracker", "shop", origins=[SHOP])
        assert made.site is not None
        key = made.site.site_key
    factory.kw["bind"].dispose()
    server = LiveServer(store).start(timeout=120)
    try:
        ann = new_id("ann")
        body = beacon(
            event("visit_started", ann, "2026-10-07T10:00:00"),
            event(
                "page_view", ann, "2026-10-07T10:00:00", page_url=SHOP + "/pay?c=4242424242424242"
            ),
        )
        with server.client(source="127.0.0.7") as client:
            sent = client.post(
                f"/api/v1/track/{key}",
                content=httpx.Request("POST", "/", json=body).content,
                headers={"Origin": SHOP, "Content-Type": "text/plain"},
            )
        assert sent.status_code == 200, sent.text
        for path in (p for p in tmp_path.rglob("*") if p.is_file()):  # journal, app state
            assert b"127.0.0.7" not in path.read_bytes(), path
    finally:
        server.stop()
    with open_store(store.with_name("chatlens.acme.duckdb"), read_only=True) as acme:
        rows = acme.con.execute(
            "SELECT type, customer_id, page_url, channel, CAST(extra AS VARCHAR) FROM events"
            " ORDER BY type"
        ).fetchall()
    assert rows == [
        ("page_view", ann, SHOP + "/pay?c=[card]", "web", None),
        ("visit_started", ann, SHOP + "/", "web", None),
    ]
    for path in (p for p in tmp_path.rglob("*") if p.is_file()):
        assert b"127.0.0.7" not in path.read_bytes(), path
    assert "127.0.0.7" not in server.log.read_text()
