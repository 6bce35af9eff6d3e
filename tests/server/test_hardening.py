"""Issue 13: sign-in limits per account whatever the address (and no address picked by a
header), and input that used to answer 500 (huge ids and pages, years 1 and 9999, agent ids
outside Latin-1 in a download's file name), over real HTTP."""

from __future__ import annotations

import time
from urllib.parse import quote

import pytest

from tests.builders import chat
from tests.serverkit import PASSWORD, LiveServer, provision
from tests.waiting import wait_until

pytestmark = pytest.mark.server

WRONG = {"password": "not the password"}


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    store = tmp_path_factory.mktemp("hardening") / "chatlens.duckdb"
    seats = provision(
        store,
        {
            "default": {
                "users": {
                    "root": ("admin", None, None),
                    "boss": ("manager", None, None),
                    "target": ("manager", None, None),
                    "other": ("manager", None, None),
                },
                "keys": {"in": "ingest", "read": "read"},
            }
        },
    )
    server = LiveServer(store).start()
    events = chat("c-1", agent="ann") + chat("c-2", agent="张伟") + chat("c-3", agent="bob")
    sent = server.client(seats.keys["in"]).post("/api/v1/events", json=events)
    assert sent.status_code == 200, sent.text
    reader = server.client(seats.keys["read"])
    body = {"metrics": ["conversations"], "from": "2026-11-01", "to": "2026-11-30"}
    wait_until(
        lambda: reader.post("/api/v1/query", json=body).json()["rows"][0]["conversations"] == 3,
        what="the facts caught up",
    )
    yield server, seats
    server.stop()


def _login(client, email, password):
    return client.post("/api/v1/auth/login", json={"email": email, "password": password})


def test_failed_sign_ins_are_limited_per_account_from_any_address(live):
    server, seats = live
    email = seats.emails["target"]
    for n in range(2, 7):  # five wrong passwords, each from its own address
        answer = _login(server.client(source=f"127.0.0.{n}"), email, WRONG["password"])
        assert answer.status_code == 401, answer.text
    # a sixth address, even with the right password: the account is locked for the window
    locked = _login(server.client(source="127.0.0.7"), email, PASSWORD)
    assert locked.status_code == 429
    assert 0 < int(locked.headers["retry-after"]) <= 900
    assert locked.json()["error"]["message"].startswith("too many failed sign-ins")
    # another account from one of those addresses is not affected
    assert _login(server.client(source="127.0.0.2"), seats.emails["other"], PASSWORD).is_success


@pytest.mark.parametrize(
    ("args", "last"),
    [((), 429), (("--forwarded-allow-ips", "127.0.0.1"), 401)],
    ids=["no-proxy-configured", "loopback-proxy-configured"],
)
def test_x_forwarded_for_is_believed_only_from_configured_proxies(
    tmp_path, monkeypatch, args, last
):
    # uvicorn's own setting (trust loopback, or $FORWARDED_ALLOW_IPS) is not what decides
    monkeypatch.setenv("FORWARDED_ALLOW_IPS", "*")
    store = tmp_path / "chatlens.duckdb"
    provision(store, {"default": {}})
    server = LiveServer(store, args=args).start()
    try:
        client = server.client()  # connects from 127.0.0.1
        for n in range(21):  # 21 accounts, each attempt claiming another address
            answer = client.post(
                "/api/v1/auth/login",
                json={"email": f"nobody{n}@example.com", **WRONG},
                headers={"x-forwarded-for": f"203.0.113.{n}"},
            )
            assert answer.status_code == (401 if n < 20 else last), (n, answer.text)
    finally:
        server.stop()


def test_a_key_id_beyond_64_bits_is_refused_not_a_500(live):
    server, seats = live
    root = server.login(seats.emails["root"])
    answer = root.delete("/api/v1/keys/26493690055809376256")
    assert answer.status_code == 422
    assert answer.json()["error"]["details"][0]["field"] == "path.key_id"
    missing = root.delete("/api/v1/keys/9223372036854775807")  # the largest, no such key
    assert missing.status_code == 404
    assert missing.json()["error"]["message"] == "no API key with id 9223372036854775807"


def test_page_numbers_that_are_not_whole_or_are_huge(live):
    server, seats = live
    reader = server.client(seats.keys["read"])
    period = "from=2026-11-01&to=2026-11-30"
    huge = reader.get(f"/api/v1/conversations?{period}&page=99999999999999999999")
    assert huge.status_code == 422
    assert huge.json()["error"]["details"][0]["field"] == "query.page"
    beyond = reader.get(f"/api/v1/conversations?{period}&page=1000000")  # past the end: empty
    assert beyond.status_code == 200
    assert beyond.json() | {"rows": None} == {
        "total": 3,
        "page": 1000000,
        "per_page": 50,
        "rows": None,
    }
    assert beyond.json()["rows"] == []
    boss = server.login(seats.emails["boss"])
    for bad in ("abc", "1.5", "99999999999999999999"):
        page = boss.get(f"/conversations?{period}&page={bad}")
        assert page.status_code == 400, (bad, page.text)
        assert page.json()["error"]["message"].startswith(f"page {bad!r}: expected a whole number")
    last = boss.get(f"/conversations?{period}&page=1000000")
    assert last.status_code == 200
    assert "c-1" not in last.text


@pytest.mark.parametrize("day", ["0001-01-01", "9999-12-31"])
def test_dates_in_years_1_and_9999_are_refused_with_a_message(live, day):
    server, seats = live
    reader = server.client(seats.keys["read"])
    boss = server.login(seats.emails["boss"])
    expected = f"{day!r} is outside the years 1900 to 2999"
    for answer in (
        reader.post(
            "/api/v1/query",
            json={"metrics": ["conversations"], "from": day, "to": "2026-11-30"}
            if day < "2026"
            else {"metrics": ["conversations"], "from": "2026-11-01", "to": day},
        ),
        reader.get(f"/api/v1/conversations?from={day}&to={day}"),
        reader.get(f"/api/v1/export/conversations?from={day}&to={day}"),
        reader.get(f"/api/v1/topics?from={day}&to={day}"),
        boss.get(f"/overview?from={day}&to={day}"),
        boss.get(f"/conversations?from={day}&to={day}"),
    ):
        assert answer.status_code == 400, answer.text
        assert expected in answer.json()["error"]["message"]


def test_a_period_cut_into_too_many_buckets_is_refused_at_once(live):
    server, seats = live
    reader = server.client(seats.keys["read"])
    boss = server.login(seats.emails["boss"])
    started = time.monotonic()
    body = {"metrics": ["conversations"], "from": "1900-01-01", "to": "2999-12-31"}
    hourly = reader.post("/api/v1/query", json={**body, "every": "hour"})
    page = boss.get("/overview?from=1900-01-01&to=2999-12-31&every=day")
    assert time.monotonic() - started < 10  # was: minutes of work for one request
    assert hourly.status_code == 400
    assert hourly.json()["error"]["message"] == (
        "1900-01-01 .. 3000-01-01 by hour is more than 10,000 hours: "
        "choose a coarser grain or a shorter period"
    )
    assert page.status_code == 400
    assert "by day is more than 10,000 days" in page.json()["error"]["message"]
    century = {**body, "from": "2000-01-01", "to": "2099-12-31", "every": "year"}
    yearly = reader.post("/api/v1/query", json=century)
    assert yearly.status_code == 200
    assert len(yearly.json()["rows"]) == 100
    assert sum(r["conversations"] or 0 for r in yearly.json()["rows"]) == 3


def test_the_agent_report_csv_names_any_agent_id(live):
    server, seats = live
    boss = server.login(seats.emails["boss"])
    answer = boss.get("/agents/张伟/report.csv?from=2026-11-01&to=2026-11-30&every=month")
    assert answer.status_code == 200, answer.text
    disposition = answer.headers["content-disposition"]
    name = "agent-张伟-2026-11-01.csv"
    assert disposition == (
        f"attachment; filename=\"agent-__-2026-11-01.csv\"; filename*=UTF-8''{quote(name)}"
    )
    lines = answer.text.splitlines()
    assert lines[1].startswith("2026-11-01T00:00:00,1,")  # its one handled conversation
    # a CR/LF or quote in the id cannot split or end the header (ids are routed as sent:
    # routes.AnyId; the store may hold such ids from before ingest refused control characters)
    odd = boss.get("/agents/a%0D%0AX-Evil:%201%22/report.csv?from=2026-11-01&to=2026-11-30")
    assert odd.status_code == 200, odd.text
    assert "x-evil" not in odd.headers
    assert odd.headers["content-disposition"].startswith('attachment; filename="agent-a__X-Evil_')
