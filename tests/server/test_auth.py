"""Signing in and out, cookies, CSRF, rate limits, secrets at rest, the error shape and the
OpenAPI document, over real HTTP."""

from __future__ import annotations

import re
import sqlite3

import httpx
import pytest
from openapi_spec_validator import validate

from tests.serverkit import PASSWORD, LiveServer, provision

pytestmark = pytest.mark.server


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    store = tmp_path_factory.mktemp("auth") / "chatlens.duckdb"
    seats = provision(
        store,
        {
            "acme": {
                "users": {"boss": ("manager", None, None), "ann": ("agent", "ann", None)},
                "keys": {"in": "ingest"},
            }
        },
    )
    server = LiveServer(store).start()
    yield server, seats, store
    server.stop()


def login_form(client: httpx.Client, email: str, password: str, next_url: str = "/"):
    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    form = {"email": email, "password": password, "csrf_token": token, "next": next_url}
    return client.post("/login", data=form)


def test_form_sign_in_sets_a_safe_cookie_and_sign_out_ends_it(live):
    server, seats, _ = live
    browser = server.client()
    answer = login_form(browser, seats.emails["boss"], PASSWORD, "/api/v1/me")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/api/v1/me"
    cookie = next(c for c in answer.headers.get_list("set-cookie") if "chatlens_session" in c)
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie
    me = browser.get("/api/v1/me").json()
    assert me["email"] == seats.emails["boss"]
    assert me["role"] == "manager"
    # signing out needs the CSRF token; afterwards the old cookie is worthless
    stolen = browser.cookies["chatlens_session"]
    assert browser.post("/logout").status_code == 403
    assert browser.post("/logout", data={"csrf_token": me["csrf_token"]}).status_code == 303
    replay = server.client()
    replay.cookies.set("chatlens_session", stolen)
    assert replay.get("/api/v1/me").status_code == 401


def test_the_form_needs_its_csrf_token_and_refuses_open_redirects(live):
    server, seats, _ = live
    browser = server.client()
    browser.get("/login")
    forged = browser.post(
        "/login",
        data={"email": seats.emails["boss"], "password": PASSWORD, "csrf_token": "guess"},
    )
    assert forged.status_code == 403
    assert "chatlens_session" not in forged.headers.get("set-cookie", "")
    answer = login_form(server.client(), seats.emails["boss"], PASSWORD, "//evil.example.com/")
    assert answer.headers["location"] == "/"


def test_state_changes_with_a_cookie_need_the_csrf_header(live):
    server, seats, _ = live
    signed_in = server.login(seats.emails["boss"])
    token = signed_in.headers.pop("x-csrf-token")
    body = {"metrics": ["conversations"], "from": "2026-11-01", "to": "2026-11-30"}
    refused = signed_in.post("/api/v1/query", json=body)
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "csrf"
    assert signed_in.get("/api/v1/metrics").status_code == 200  # reads need no token
    allowed = signed_in.post("/api/v1/query", json=body, headers={"x-csrf-token": token})
    assert allowed.status_code == 200


def test_wrong_passwords_are_rate_limited(live):
    server, seats, _ = live
    client = server.client()
    email = seats.emails["ann"]
    for _ in range(5):
        wrong = client.post("/api/v1/auth/login", json={"email": email, "password": "nope"})
        assert wrong.status_code == 401
        assert wrong.json()["error"]["message"] == "wrong email or password"
    limited = client.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
    assert limited.status_code == 429
    assert int(limited.headers["retry-after"]) > 0
    # an unknown email gets the same answer as a wrong password
    unknown = client.post("/api/v1/auth/login", json={"email": "x@y.zz", "password": "nope"})
    assert unknown.json()["error"]["message"] == "wrong email or password"


def test_passwords_and_keys_are_stored_only_as_hashes(live):
    _, seats, store = live
    app_db = store.with_suffix(".app.sqlite")
    with sqlite3.connect(app_db) as db:
        hashes = [row[0] for row in db.execute("SELECT password_hash FROM users")]
        key_hashes = [row[0] for row in db.execute("SELECT key_hash FROM api_keys")]
    assert hashes and all(h.startswith("$argon2id$") for h in hashes)
    assert all(PASSWORD not in h for h in hashes)
    assert seats.keys["in"] not in key_hashes
    assert seats.keys["in"].encode() not in app_db.read_bytes()


def test_errors_share_one_shape_and_never_carry_a_trace(live):
    server, _, _ = live
    client = server.client()
    for answer in (
        client.get("/api/v1/nowhere"),
        client.get("/api/v1/metrics"),
        client.post("/api/v1/events", json=[]),
        server.client("clk_wrong").post("/api/v1/query", json={}),
        client.post("/api/v1/auth/login", content=b"a", headers={"content-type": "text/plain"}),
    ):
        error = answer.json()["error"]
        assert set(error) == {"code", "message", "details"}, answer.text
        assert "Traceback" not in answer.text
    assert client.get("/api/v1/nowhere").json()["error"]["code"] == "not_found"


def test_the_openapi_document_is_served_and_valid(live):
    server, _, _ = live
    document = server.client().get("/openapi.json").json()
    validate(document)
    paths = document["paths"]
    for path in ("/api/v1/events", "/api/v1/query", "/api/v1/metrics", "/api/v1/conversations"):
        assert path in paths


def test_a_failing_page_answers_a_browser_with_html_and_the_api_with_json(live):
    server, seats, _ = live
    boss = server.login(seats.emails["boss"])
    page = boss.get("/reports/<img src=x onerror=alert(1)>", headers={"accept": "text/html"})
    assert page.status_code == 404
    assert page.headers["content-type"].startswith("text/html")
    assert "<h1>Not found</h1>" in page.text
    assert "no report &#39;&lt;img src=x onerror=alert(1)&gt;&#39;" in page.text
    assert "<img src=x" not in page.text
    api = boss.get("/api/v1/conversations/nope", headers={"accept": "text/html"})
    assert api.status_code == 404
    assert api.json()["error"]["code"] == "not_found"
    plain = boss.get("/reports/nope")  # no HTML asked for: the API's shape
    assert plain.json()["error"]["message"].startswith("no report 'nope'")
