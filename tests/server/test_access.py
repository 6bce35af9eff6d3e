"""Who may see what, checked over real HTTP: roles, agent seats, workspaces, keys."""

from __future__ import annotations

import csv
import io

import pytest

from chatlens.app import service
from chatlens.app.db import app_db_url, open_app_db
from tests.builders import DAY, chat
from tests.serverkit import LiveServer, provision
from tests.waiting import wait_until

pytestmark = pytest.mark.server
NOVEMBER = {"from": "2026-11-01", "to": "2026-11-30"}


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    store = tmp_path_factory.mktemp("access") / "chatlens.duckdb"
    seats = provision(
        store,
        {
            "acme": {
                "users": {
                    "root": ("admin", None, None),
                    "boss": ("manager", None, None),
                    "ann": ("agent", "ann", "sales"),
                    "bob": ("agent", "bob", "support"),
                },
                "keys": {"acme-in": "ingest", "acme-read": "read", "acme-old": "read"},
            },
            "beta": {
                "users": {"zed": ("manager", None, None)},
                "keys": {"beta-in": "ingest", "beta-read": "read"},
            },
        },
    )
    # agents may read workspace figures: the state every test reads under (the tests of the
    # access setting set their own and leave this one behind), whatever order they run in
    set_access(store, "workspace")
    server = LiveServer(store).start()
    acme = (
        chat("c-ann", DAY, agent="ann", reply_after=30, close_after=300, team="sales")
        + chat("c-bob", DAY, agent="bob", reply_after=90, close_after=600, team="support")
        + chat("c-bot", DAY, bot=True, close_after=60, team="sales")
    )
    beta = chat("c-beta", DAY, agent="yan", reply_after=10, close_after=100)
    for key, events in (("acme-in", acme), ("beta-in", beta)):
        assert server.client(seats.keys[key]).post("/api/v1/events", json=events).status_code == 200
    expected = [
        (server.client(seats.keys["acme-read"]), 3),
        (server.client(seats.keys["beta-read"]), 1),
    ]
    wait_until(
        lambda: all(
            figures(reader, ["conversations"]).json()["rows"][0]["conversations"] == count
            for reader, count in expected
        ),
        what="both workspaces' facts caught up",
    )
    yield server, seats, store
    server.stop()


def figures(client, metrics, **extra):
    return client.post("/api/v1/query", json={"metrics": metrics, **NOVEMBER, **extra})


def set_access(store, access: str) -> None:
    factory = open_app_db(app_db_url(store))
    with factory() as db:
        service.set_agent_access(db, "acme", access)


def frt_by_agent(client) -> dict[str, float]:
    answer = figures(client, ["first_response_time"], by=["agent_id"])
    assert answer.status_code == 200, answer.text
    return {r["agent_id"]: r["first_response_time"] for r in answer.json()["rows"]}


def test_a_manager_sees_every_agent(live):
    server, seats, _ = live
    assert frt_by_agent(server.login(seats.emails["boss"])) == {"ann": 30.0, "bob": 90.0}


def test_an_agent_sees_only_its_own_agent_figures(live):
    server, seats, store = live
    set_access(store, "workspace")
    ann = server.login(seats.emails["ann"])
    assert frt_by_agent(ann) == {"ann": 30.0}
    other = figures(ann, ["first_response_time"], filters={"agent_id": "bob"})
    assert other.status_code == 403
    assert other.json()["error"]["code"] == "forbidden"
    both = figures(ann, ["first_response_time"], filters={"agent_id": ["ann", "bob"]})
    assert both.status_code == 403


def test_agent_access_setting_decides_the_aggregates(live):
    server, seats, store = live
    ann = server.login(seats.emails["ann"])
    set_access(store, "own")
    own = figures(ann, ["conversations"]).json()
    assert own["rows"] == [{"conversations": 1}]
    assert own["meta"]["scoped_to_agent"] == "ann"
    set_access(store, "team")
    team = figures(ann, ["conversations"], filters={"team": "sales"}).json()
    assert team["rows"] == [{"conversations": 2}]  # c-ann and the bot chat of team sales
    assert "scoped_to_agent" not in team["meta"]
    other_team = figures(ann, ["conversations"], filters={"team": "support"}).json()
    assert other_team["rows"] == [{"conversations": 0}]  # narrowed to ann, who is not there
    set_access(store, "workspace")
    assert figures(ann, ["conversations"]).json()["rows"] == [{"conversations": 3}]


def test_an_agent_reads_only_its_own_transcripts(live):
    server, seats, _ = live
    ann = server.login(seats.emails["ann"])
    assert ann.get("/api/v1/conversations/c-ann").status_code == 200
    theirs = ann.get("/api/v1/conversations/c-bob")
    assert theirs.status_code == 404
    assert theirs.json()["error"]["message"] == "no conversation 'c-bob' that you can read"
    listed = ann.get("/api/v1/conversations", params=NOVEMBER).json()
    assert [r["conversation_id"] for r in listed["rows"]] == ["c-ann"]
    assert listed["total"] == 1
    exported = ann.get("/api/v1/export/conversations", params={**NOVEMBER, "format": "csv"})
    assert exported.status_code == 200
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert [r["conversation_id"] for r in rows] == ["c-ann"]


def test_a_manager_lists_every_conversation_page_by_page(live):
    server, seats, _ = live
    boss = server.login(seats.emails["boss"])
    first = boss.get("/api/v1/conversations", params={**NOVEMBER, "per_page": 2}).json()
    second = boss.get("/api/v1/conversations", params={**NOVEMBER, "per_page": 2, "page": 2}).json()
    assert first["total"] == second["total"] == 3
    ids = [r["conversation_id"] for r in first["rows"] + second["rows"]]
    assert sorted(ids) == ["c-ann", "c-bob", "c-bot"]
    assert len(set(ids)) == 3


def test_workspaces_never_see_each_other(live):
    server, seats, _ = live
    beta = server.client(seats.keys["beta-read"])
    assert frt_by_agent(beta) == {"yan": 10.0}
    assert beta.get("/api/v1/conversations/c-ann").status_code == 404
    acme = server.client(seats.keys["acme-read"])
    cross = acme.get("/api/v1/metrics", params={"workspace": "beta"})
    assert cross.status_code == 403
    zed = server.login(seats.emails["zed"])
    assert zed.get("/api/v1/conversations/c-ann").status_code == 404
    assert figures(zed, ["conversations"], workspace="acme").status_code == 422  # not a field
    assert zed.get("/api/v1/metrics", params={"workspace": "acme"}).status_code == 403


def test_keys_are_scoped_and_revocable(live):
    server, seats, store = live
    read, ingest = server.client(seats.keys["acme-read"]), server.client(seats.keys["acme-in"])
    assert read.post("/api/v1/events", json=[]).status_code == 403
    assert ingest.get("/api/v1/metrics").status_code == 403
    old = server.client(seats.keys["acme-old"])
    assert old.get("/api/v1/metrics").status_code == 200
    factory = open_app_db(app_db_url(store))
    with factory() as db:
        key_id = next(k.id for k in service.list_keys(db, "acme") if k.name == "acme-old")
        service.revoke_key(db, key_id)
    refused = old.get("/api/v1/metrics")
    assert refused.status_code == 401
    assert refused.json()["error"]["code"] == "invalid_key"
    assert server.client("clk_made-up").get("/api/v1/metrics").status_code == 401


def test_settings_are_read_by_managers_and_changed_by_admins(live):
    server, seats, _ = live
    boss, root = server.login(seats.emails["boss"]), server.login(seats.emails["root"])
    ann = server.login(seats.emails["ann"])
    assert boss.get("/api/v1/settings").json()["settings"]["sla_first_response_seconds"] == 60
    assert ann.get("/api/v1/settings").status_code == 403
    denied = boss.patch("/api/v1/settings", json={"sla_first_response_seconds": 45})
    assert denied.status_code == 403
    within = figures(boss, ["frt_within_sla"]).json()["rows"][0]["frt_within_sla"]
    assert within == 0.5  # 30 s within 60 s, 90 s not
    bad = root.patch("/api/v1/settings", json={"sla_first_response_seconds": -1, "timezone": "UTC"})
    assert bad.status_code == 400
    assert "sla_first_response_seconds" in bad.json()["error"]["message"]
    changed = root.patch("/api/v1/settings", json={"sla_first_response_seconds": 120})
    assert changed.status_code == 200, changed.text
    assert figures(boss, ["frt_within_sla"]).json()["rows"][0]["frt_within_sla"] == 1.0
    back = root.patch("/api/v1/settings", json={"sla_first_response_seconds": 60})
    assert back.status_code == 200


def test_admins_manage_keys_and_seats_over_the_api(live):
    server, seats, _ = live
    root, boss = server.login(seats.emails["root"]), server.login(seats.emails["boss"])
    assert boss.post("/api/v1/keys", json={"scope": "read"}).status_code == 403
    made = root.post("/api/v1/keys", json={"scope": "read", "name": "wallboard"})
    assert made.status_code == 201
    key = made.json()["key"]
    assert server.client(key).get("/api/v1/metrics").status_code == 200
    listed = root.get("/api/v1/keys").json()["keys"]
    assert key not in str(listed)
    assert root.delete(f"/api/v1/keys/{made.json()['id']}").status_code == 200
    assert server.client(key).get("/api/v1/metrics").status_code == 401
    seat = root.post(
        "/api/v1/users", json={"email": "cy@acme.example.com", "role": "agent", "agent_id": "cy"}
    )
    assert seat.status_code == 201
    assert seat.json()["status"] == "invited"
    token = seat.json()["accept_url"].removeprefix("/invitations/")
    accepted = server.client().post(
        "/api/v1/invitations/accept", json={"token": token, "password": "long enough pw"}
    )
    assert accepted.json() == {"workspace": "acme", "role": "agent", "email": "cy@acme.example.com"}
    assert (
        server.login("cy@acme.example.com", "long enough pw").get("/api/v1/me").json()["agent_id"]
        == "cy"
    )


def test_rates_carry_their_wilson_lower_bound_for_rankings(live):
    server, seats, _ = live
    boss = server.login(seats.emails["boss"])
    answer = figures(boss, ["frt_within_sla"], by=["agent_id"], bounds=True)
    rows = {r["agent_id"]: r for r in answer.json()["rows"]}
    # 1 of 1 within the SLA: (1 + z²/2 - z·z/2) / (1 + z²) with z = 1.96
    assert rows["ann"]["frt_within_sla__lower"] == pytest.approx(0.2065, abs=1e-4)
    assert rows["bob"]["frt_within_sla__lower"] == 0.0


def test_a_list_narrowed_to_what_a_figure_counts_keeps_the_reader_scope(live):
    server, seats, _ = live
    boss, ann = server.login(seats.emails["boss"]), server.login(seats.emails["ann"])
    params = {**NOVEMBER, "counted": "human_conversations"}
    humans = boss.get("/api/v1/conversations", params=params).json()
    assert (humans["total"], sorted(r["conversation_id"] for r in humans["rows"])) == (
        2,
        ["c-ann", "c-bob"],
    )
    mine = ann.get("/api/v1/conversations", params=params).json()
    assert [r["conversation_id"] for r in mine["rows"]] == ["c-ann"]
    assert boss.get("/api/v1/conversations", params={**NOVEMBER, "csat": 5}).json()["total"] == 0
    wrong = boss.get("/api/v1/conversations", params={**NOVEMBER, "counted": "csat"})
    assert wrong.status_code == 400
    assert "not a count of conversations" in wrong.json()["error"]["message"]
    assert boss.get("/api/v1/conversations", params={**NOVEMBER, "csat": 6}).status_code == 422


def test_goals_saved_at_the_same_time_all_land(live):
    """Each goal save reads the stored goals and writes them back with its own: done at
    once by six requests, none may be lost."""
    from concurrent.futures import ThreadPoolExecutor

    server, seats, _ = live
    root = server.login(seats.emails["root"])
    metrics = ["csat", "nps", "ces", "fcr_rate", "missed_rate", "handoff_rate"]

    def save(metric: str) -> int:
        with server.client() as own:  # a connection of its own, the same session
            own.cookies, own.headers = root.cookies, root.headers
            form = {"metric": metric, "min": "1"}
            return own.post("/goals", data=form, follow_redirects=False).status_code

    with ThreadPoolExecutor(6) as pool:
        assert list(pool.map(save, metrics)) == [303] * 6
    goals = root.get("/api/v1/settings").json()["settings"]["goals"]
    assert sorted(goals) == sorted(metrics)
    for metric in metrics:  # leave the workspace as the other tests expect it
        root.post("/goals", data={"metric": metric, "remove": "1"}, follow_redirects=False)
    assert root.get("/api/v1/settings").json()["settings"]["goals"] == {}
