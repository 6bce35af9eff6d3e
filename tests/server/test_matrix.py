# ruff: noqa: E501 - the matrix is a table, one row per route
"""The permission matrix (issue 13): every page and API route of the app, asked by every
kind of credential, over real HTTP, with the expected status written out by hand for each
(route, credential). The routes come from the app itself, so a route added without a row
here fails `test_the_matrix_names_every_route_of_the_app`.

Every request names the workspace `acme` (`?workspace=acme`): a seat or a key of `beta`
must be refused there on every gated route. Each credential's case sets up the state it
needs itself (the workspace's `agent_access`, a key to revoke, a shared dashboard), so no
outcome depends on what an earlier test left behind.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from chatlens.app import connections, service
from chatlens.app.db import app_db_url, open_app_db
from chatlens.app.models import Dashboard, User, Workspace
from chatlens.server.access import PUBLIC, check_routes, route_needs
from chatlens.server.app import create_app
from tests.builders import DAY, chat
from tests.serverkit import LiveServer, provision
from tests.waiting import wait_until

pytestmark = pytest.mark.server
PERIOD = {"from": "2026-11-01", "to": "2026-11-30"}
SECRET = "Private note 7f3a: my card ends 4242"
"""Chat text and a survey comment of workspace acme: shown only where it may be read."""
TRANSCRIPT = "web/acme-1"  # an id with '/' (defect 10), ann's conversation

# Columns: anonymous; the seats of acme (admin, manager, agent ann of team sales under each
# agent_access); acme's ingest, read and revoked read keys; a seat (admin) and a read key of
# workspace beta. Pages answer 303 (to /login) where the API answers 401.
MATRIX_TABLE = """
route                                            anon admin mgr own team ws  ingest read revoked oseat okey
GET /openapi.json                                200  200   200 200 200  200 200    200  200     200   200
GET /docs                                        200  200   200 200 200  200 200    200  200     200   200
GET /docs/oauth2-redirect                        200  200   200 200 200  200 200    200  200     200   200
GET /redoc                                       200  200   200 200 200  200 200    200  200     200   200
GET /static                                      200  200   200 200 200  200 200    200  200     200   200
GET /api/v1/health                               200  200   200 200 200  200 200    200  200     200   200
GET /                                            303  303   303 303 303  303 303    303  303     303   303
GET /login                                       200  200   200 200 200  200 200    200  200     200   200
POST /login                                      403  403   403 403 403  403 403    403  403     403   403
POST /api/v1/auth/login                          422  422   422 422 422  422 422    422  422     422   422
POST /api/v1/invitations/accept                  404  404   404 404 404  404 404    404  404     404   404
POST /api/v1/connect/{connection}                404  404   404 404 404  404 404    404  404     404   404
GET /t.js                                        200  200   200 200 200  200 200    200  200     200   200
POST /api/v1/track/{key}                         404  404   404 404 404  404 404    404  404     404   404
OPTIONS /api/v1/track/{key}                      404  404   404 404 404  404 404    404  404     404   404
GET /invitations/{token}                         404  404   404 404 404  404 404    404  404     404   404
POST /invitations/{token}                        404  404   404 404 404  404 404    404  404     404   404
GET /api/v1/me                                   401  200   200 200 200  200 200    200  401     403   403
POST /api/v1/events                              401  403   403 403 403  403 200    403  401     403   403
GET /api/v1/metrics                              401  200   200 200 200  200 403    200  401     403   403
POST /api/v1/query                               401  200   200 200 200  200 403    200  401     403   403
GET /api/v1/conversations                        401  200   200 200 200  200 403    200  401     403   403
GET /api/v1/conversations/{conversation_id:anyid} 401  200   200 200 200  200 403    200  401     403   403
GET /api/v1/export/conversations                 401  200   200 200 200  200 403    200  401     403   403
GET /api/v1/live                                 401  200   200 403 403  200 403    200  401     403   403
GET /api/v1/topics                               401  200   200 200 200  200 403    200  401     403   403
GET /api/v1/topics/learn-next                    401  200   200 200 200  200 403    200  401     403   403
GET /api/v1/topics/{topic_id}                    401  404   404 404 404  404 403    404  401     403   403
GET /api/v1/settings                             401  200   200 403 403  403 403    403  401     403   403
PATCH /api/v1/settings                           401  200   403 403 403  403 403    403  401     403   403
GET /api/v1/keys                                 401  200   403 403 403  403 403    403  401     403   403
POST /api/v1/keys                                401  201   403 403 403  403 403    403  401     403   403
GET /api/v1/users                                401  200   403 403 403  403 403    403  401     403   403
POST /api/v1/users                               401  201   403 403 403  403 403    403  401     403   403
GET /api/v1/dashboards                           401  200   200 200 200  200 403    403  401     403   403
POST /api/v1/dashboards                          401  201   201 201 201  201 403    403  401     403   403
GET /api/v1/dashboards/{dashboard_id}            401  200   200 200 200  200 403    403  401     403   403
PUT /api/v1/dashboards/{dashboard_id}            401  200   403 403 403  403 403    403  401     403   403
GET /overview                                    303  200   200 200 200  200 403    200  303     403   403
GET /reports/{slug}                              303  200   200 200 200  200 403    200  303     403   403
GET /live                                        303  200   200 403 403  200 403    200  303     403   403
GET /conversations                               303  200   200 200 200  200 403    200  303     403   403
GET /conversations/{conversation_id:anyid}       303  200   200 200 200  200 403    200  303     403   403
GET /agents                                      303  200   200 200 200  200 403    200  303     403   403
GET /agents/{agent_id:anyid}                     303  200   200 403 403  403 403    200  303     403   403
GET /agents/{agent_id:anyid}/report.csv          303  200   200 403 403  403 403    200  303     403   403
GET /agents/{agent_id:anyid}/report.json         303  200   200 403 403  403 403    200  303     403   403
GET /teams                                       303  200   200 403 403  403 403    200  303     403   403
GET /teams/report.json                           303  200   200 403 403  403 403    200  303     403   403
GET /teams/report.csv                            303  200   200 403 403  403 403    200  303     403   403
GET /teams/{team:anyid}                          303  200   200 403 403  403 403    200  303     403   403
GET /teams/{team:anyid}/report.json              303  200   200 403 403  403 403    200  303     403   403
GET /teams/{team:anyid}/report.csv               303  200   200 403 403  403 403    200  303     403   403
GET /faq                                         303  200   200 200 200  200 403    200  303     403   403
GET /goals                                       303  200   200 200 200  200 403    200  303     403   403
POST /goals                                      303  303   403 403 403  403 403    403  303     403   403
GET /settings                                    303  200   200 403 403  403 403    403  303     403   403
POST /settings                                   303  303   403 403 403  403 403    403  303     403   403
POST /settings/access                            303  303   403 403 403  403 403    403  303     403   403
POST /settings/keys                              303  200   403 403 403  403 403    403  303     403   403
POST /settings/keys/{key_id}/revoke              303  303   403 403 403  403 403    403  303     403   403
GET /connections                                 303  200   403 403 403  403 403    403  303     403   403
GET /audit                                       303  200   403 403 403  403 403    403  303     403   403
GET /api/v1/audit                                401  200   403 403 403  403 403    403  401     403   403
POST /connections                                303  200   403 403 403  403 403    403  303     403   403
POST /connections/{connection_id}/revoke         303  303   403 403 403  403 403    403  303     403   403
POST /settings/users                             303  200   403 403 403  403 403    403  303     403   403
GET /dashboards                                  303  200   200 200 200  200 403    403  303     403   403
POST /dashboards                                 303  303   303 303 303  303 403    403  303     403   403
GET /dashboards/{dashboard_id}                   303  200   200 200 200  200 403    403  303     403   403
GET /api/v1/privacy/customers/{customer_id:anyid} 401  404   403 403 403  403 403    403  401     403   403
POST /api/v1/privacy/erase                       401  200   403 403 403  403 403    403  401     403   403
GET /api/v1/privacy/requests                     401  200   403 403 403  403 403    403  401     403   403
DELETE /api/v1/keys/{key_id}                     401  200   403 403 403  403 403    403  401     403   403
DELETE /api/v1/dashboards/{dashboard_id}         401  200   403 403 403  403 403    403  401     403   403
POST /logout                                     303  303   303 303 303  303 303    303  303     303   303
POST /api/v1/auth/logout                         200  200   200 200 200  200 200    200  200     200   200
"""


def parse(table: str) -> tuple[list[str], dict[str, dict[str, int]]]:
    header, *rows = table.strip().splitlines()
    columns = header.split()[1:]
    matrix = {}
    for row in rows:
        method, path, *codes = row.split()
        assert len(codes) == len(columns), row
        matrix[f"{method} {path}"] = dict(zip(columns, map(int, codes), strict=True))
    return columns, matrix


COLUMNS, MATRIX = parse(MATRIX_TABLE)
SHOWS_SECRET = {
    "GET /api/v1/conversations/{conversation_id:anyid}",
    "GET /conversations/{conversation_id:anyid}",
    "GET /reports/{slug}",
}
"""Where the chat text or the survey comment of ann's conversation appears when the answer is
200; every other answer, to every credential, must not contain it."""


@dataclass
class Case:
    """What one credential's run set up: ids that the routes' paths name."""

    key_to_revoke: int
    key_to_revoke_in_form: int
    dashboard: int
    access: str
    connection: int


def sample(route: str, case: Case, client: httpx.Client) -> tuple[str, str, dict[str, Any]]:
    """The request sent for a route: method, path, and httpx arguments (a valid request, so
    that only the credential decides the answer)."""
    csrf = client.headers.get("x-csrf-token", "")
    paths = {
        "GET /static": "/static/css/app.css",
        "GET /api/v1/conversations/{conversation_id:anyid}": f"/api/v1/conversations/{TRANSCRIPT}",
        "GET /conversations/{conversation_id:anyid}": f"/conversations/{TRANSCRIPT}",
        "GET /api/v1/topics/{topic_id}": "/api/v1/topics/999",  # no topics on this data
        "GET /reports/{slug}": "/reports/feedback",
        "GET /agents/{agent_id:anyid}": "/agents/bob",  # not ann: agents see only themselves
        "GET /agents/{agent_id:anyid}/report.csv": "/agents/bob/report.csv",
        "GET /agents/{agent_id:anyid}/report.json": "/agents/bob/report.json",
        "GET /teams/{team:anyid}": "/teams/sales",
        "GET /teams/{team:anyid}/report.json": "/teams/sales/report.json",
        "GET /teams/{team:anyid}/report.csv": "/teams/sales/report.csv",
        "POST /settings/keys/{key_id}/revoke": f"/settings/keys/{case.key_to_revoke_in_form}/revoke",
        "DELETE /api/v1/keys/{key_id}": f"/api/v1/keys/{case.key_to_revoke}",
        "GET /invitations/{token}": "/invitations/not-a-token",
        "POST /invitations/{token}": "/invitations/not-a-token",
        "POST /api/v1/connect/{connection}": "/api/v1/connect/not-a-token",
        "POST /api/v1/track/{key}": "/api/v1/track/not-a-site-key",
        "OPTIONS /api/v1/track/{key}": "/api/v1/track/not-a-site-key",
        "POST /connections/{connection_id}/revoke": f"/connections/{case.connection}/revoke",
        # nobody of that id: the admin's export finds nothing (404), the erasure nothing to do
        "GET /api/v1/privacy/customers/{customer_id:anyid}": "/api/v1/privacy/customers/nobody",
    }
    bodies: dict[str, dict[str, Any]] = {
        "POST /login": {"data": {"email": "x@example.com", "password": "x"}},  # no form token
        "POST /api/v1/auth/login": {"json": {"email": "x@example.com"}},  # no password
        "POST /api/v1/invitations/accept": {"json": {"token": "not-a-token", "password": "x"}},
        "POST /invitations/{token}": {"data": {"password": "long enough password"}},
        "POST /api/v1/events": {
            "json": [
                {
                    "type": "conversation_started",
                    "channel": "web",
                    "ts": "2026-11-20T10:00:00Z",
                    "conversation_id": "matrix",
                }
            ]
        },
        "POST /api/v1/query": {"json": {"metrics": ["conversations"], **PERIOD}},
        "PATCH /api/v1/settings": {"json": {}},
        "POST /api/v1/keys": {"json": {"scope": "read", "name": "matrix"}},
        "POST /api/v1/users": {"json": {"email": "invitee@new.example.com", "role": "manager"}},
        "POST /api/v1/dashboards": {"json": {"name": "mine"}},
        "PUT /api/v1/dashboards/{dashboard_id}": {"json": {"name": "renamed", "shared": True}},
        "POST /goals": {"data": {"metric": "csat", "remove": "1"}},
        "POST /settings": {"data": {}},
        "POST /settings/access": {"data": {"agent_access": case.access}},
        "POST /settings/keys": {"data": {"scope": "read", "name": "matrix"}},
        "POST /settings/users": {
            "data": {"email": "invitee@new.example.com", "role": "agent", "agent_id": "newbie"}
        },
        "POST /dashboards": {"data": {"name": "mine"}},
        "POST /logout": {"data": {"csrf_token": csrf}},
        "POST /api/v1/connect/{connection}": {"json": {"event": "message_created"}},
        "POST /api/v1/track/{key}": {"json": {"events": [{"type": "page_view"}]}},
        "POST /connections": {"data": {"platform": "chatwoot", "name": f"matrix {case.access}"}},
        "POST /api/v1/privacy/erase": {"json": {"customer_id": "nobody"}},
    }
    method, path = route.split(" ", 1)
    path = paths.get(route, path).replace("{dashboard_id}", str(case.dashboard))
    return method, path, bodies.get(route, {})


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    store = tmp_path_factory.mktemp("matrix") / "chatlens.duckdb"
    seats = provision(
        store,
        {
            "acme": {
                "users": {
                    "root": ("admin", None, None),
                    "boss": ("manager", None, None),
                    "ann": ("agent", "ann", "sales"),
                },
                "keys": {"acme-in": "ingest", "acme-read": "read", "acme-old": "read"},
            },
            "beta": {
                "users": {"zed": ("admin", None, None)},
                "keys": {"beta-in": "ingest", "beta-read": "read"},
            },
        },
    )
    factory = open_app_db(app_db_url(store))
    with factory() as db:
        old = next(k for k in service.list_keys(db, "acme") if k.name == "acme-old")
        service.revoke_key(db, old.id)
    factory.kw["bind"].dispose()
    server = LiveServer(store).start()
    secret = {"conversation_id": TRANSCRIPT}
    acme = [
        *chat(
            TRANSCRIPT,
            DAY,
            agent="ann",
            reply_after=30,
            close_after=300,
            team="sales",
            ratings={"csat": 2},
        ),
        {
            "type": "message",
            "ts": "2026-11-02T08:03:00Z",
            "sender": "customer",
            "text": SECRET,
            **secret,
        },
        {
            "type": "rating",
            "ts": "2026-11-02T08:09:00Z",
            "kind": "nps",
            "score": 3,
            "comment": SECRET,
            **secret,
        },
        *chat("c-bob", DAY, agent="bob", reply_after=90, close_after=600, team="support"),
    ]
    beta = chat("c-beta", DAY, agent="yan", reply_after=10, close_after=100)
    for key, events in (("acme-in", acme), ("beta-in", beta)):
        sent = server.client(seats.keys[key]).post("/api/v1/events", json=events)
        assert sent.status_code == 200, sent.text
    query = {"metrics": ["conversations"], **PERIOD}
    expected = [
        (server.client(seats.keys["acme-read"]), 2),
        (server.client(seats.keys["beta-read"]), 1),
    ]
    wait_until(
        lambda: all(
            reader.post("/api/v1/query", json=query).json()["rows"][0]["conversations"] == count
            for reader, count in expected
        ),
        what="both workspaces' facts caught up",
    )
    yield server, seats, store
    server.stop()


def prepare(store, access: str) -> Case:
    """This case's own state: acme's agent access, two keys to revoke, a dashboard the admin
    shares with the workspace."""
    factory = open_app_db(app_db_url(store))
    with factory() as db:
        service.set_agent_access(db, "acme", access)
        first = service.create_key(db, "acme", "read", "to revoke").record.id
        second = service.create_key(db, "acme", "read", "to revoke in the form").record.id
        acme = db.scalar(select(Workspace).where(Workspace.name == "acme"))
        root = db.scalar(select(User).where(User.email == "root@acme.example.com"))
        assert acme is not None and root is not None
        board = Dashboard(
            workspace_id=acme.id, owner_id=root.id, name="team board", shared=True, widgets="[]"
        )
        db.add(board)
        db.commit()
        count = len(connections.list_connections(db, "acme"))
        made = connections.create_connection(db, "acme", "chatwoot", f"to revoke {count}")
        case = Case(first, second, board.id, access, made.record.id)
    factory.kw["bind"].dispose()
    return case


SEATS = {"admin": "root", "mgr": "boss", "own": "ann", "team": "ann", "ws": "ann", "oseat": "zed"}
KEYS = {"ingest": "acme-in", "read": "acme-read", "revoked": "acme-old", "okey": "beta-read"}
ACCESS = {"team": "team", "ws": "workspace"}  # every other case runs under "own"


def connect(server: LiveServer, seats: Any, column: str) -> httpx.Client:
    if column in SEATS:
        return server.login(seats.emails[SEATS[column]])
    return server.client(seats.keys[KEYS[column]] if column in KEYS else None)


@pytest.mark.parametrize("column", COLUMNS)
def test_every_route_answers_each_credential_as_the_matrix_says(live, column):
    server, seats, store = live
    case = prepare(store, ACCESS.get(column, "own"))
    client = connect(server, seats, column)
    wrong = []
    for route, expected in MATRIX.items():
        method, path, extra = sample(route, case, client)
        params = {"workspace": "acme", **PERIOD}
        answer = client.request(method, path, params=params, **extra)
        if answer.status_code != expected[column]:
            wrong.append(f"{route}: {answer.status_code}, expected {expected[column]}")
        shown = SECRET in answer.text
        if shown != (route in SHOWS_SECRET and answer.status_code == 200):
            wrong.append(f"{route}: the private text is {'shown' if shown else 'missing'}")
    assert wrong == []


def test_the_matrix_names_every_route_of_the_app(tmp_path):
    routes = route_needs(create_app(tmp_path / "chatlens.duckdb"))
    assert sorted(routes) == sorted(MATRIX)
    public = {route for route, need in routes.items() if need is None}
    assert public == PUBLIC
    # a public route answers every credential alike; no gated route does
    for route, expected in MATRIX.items():
        assert (len(set(expected.values())) == 1) == (route in PUBLIC), route


def test_a_route_without_a_gate_stops_the_server_from_starting(tmp_path):
    app = create_app(tmp_path / "chatlens.duckdb")

    @app.get("/reports/leaky")
    def leaky() -> dict[str, str]:
        return {"everything": "for everyone"}

    with pytest.raises(RuntimeError, match=r"routes without an access gate .*'GET /reports/leaky'"):
        check_routes(app)


def test_another_workspace_never_reaches_acme_by_its_ids(live):
    """A seat and a key of beta, in their own workspace, naming acme's conversation, agent,
    dashboard and keys: refused as if none existed, and nothing of acme in any answer."""
    server, seats, store = live
    case = prepare(store, "own")
    zed, beta_read = server.login(seats.emails["zed"]), server.client(seats.keys["beta-read"])
    for client in (zed, beta_read):
        for path in (f"/api/v1/conversations/{TRANSCRIPT}", f"/conversations/{TRANSCRIPT}"):
            answer = client.get(path)
            assert answer.status_code == 404, path
            assert SECRET not in answer.text
        listed = client.get("/api/v1/conversations", params=PERIOD).json()
        assert [r["conversation_id"] for r in listed["rows"]] == ["c-beta"]
        assert SECRET not in client.get("/reports/feedback", params=PERIOD).text
    assert zed.get(f"/api/v1/dashboards/{case.dashboard}").status_code == 404
    assert zed.get(f"/dashboards/{case.dashboard}").status_code == 404
    assert zed.delete(f"/api/v1/dashboards/{case.dashboard}").status_code == 404
    revoke = zed.delete(f"/api/v1/keys/{case.key_to_revoke}")
    assert revoke.status_code == 404
    assert revoke.json()["error"]["message"] == f"no API key with id {case.key_to_revoke}"
    form = zed.post(f"/settings/keys/{case.key_to_revoke_in_form}/revoke")
    assert form.status_code == 404
    root = server.login(seats.emails["root"])
    live_keys = [k["id"] for k in root.get("/api/v1/keys").json()["keys"] if not k["revoked_at"]]
    assert {case.key_to_revoke, case.key_to_revoke_in_form} <= set(live_keys)


def test_ids_with_a_slash_open(live):
    """Defect 10: conversation and agent ids containing '/' (as importers produce them)."""
    server, seats, _ = live
    boss = server.login(seats.emails["boss"])
    api = boss.get(f"/api/v1/conversations/{TRANSCRIPT}")
    assert api.status_code == 200
    assert api.json()["conversation"]["conversation_id"] == TRANSCRIPT
    assert [e["type"] for e in api.json()["events"]][:2] == ["conversation_started", "message"]
    for path in (f"/conversations/{TRANSCRIPT}", "/conversations/web%2Facme-1"):
        page = boss.get(path)
        assert page.status_code == 200, path
        assert SECRET in page.text
    sent = server.client(seats.keys["acme-in"]).post(
        "/api/v1/events",
        json=chat("c-eu", DAY, agent="eu/carl", reply_after=45, close_after=100, team="sales"),
    )
    assert sent.status_code == 200

    def counted() -> httpx.Response | None:
        answer = boss.get("/agents/eu/carl/report.csv", params={**PERIOD, "every": "month"})
        return answer if ",1," in answer.text else None

    # the CSV has its month row from the start (0 handled): wait until the chat is counted
    report = wait_until(counted, what="eu/carl's chat counted in the CSV")
    assert report.headers["content-disposition"] == (
        'attachment; filename="agent-eu_carl-2026-11-01.csv"; '
        "filename*=UTF-8''agent-eu%2Fcarl-2026-11-01.csv"
    )
    header, row = report.text.strip().splitlines()
    values = dict(zip(header.split(","), row.split(","), strict=True))
    assert (values["handled_conversations"], values["first_response_time"]) == ("1", "45.0")
    page = boss.get("/agents/eu/carl", params=PERIOD)
    assert page.status_code == 200
    assert "/agents/eu%2Fcarl/report.csv" in page.text
    # no id at all is the agents list (the slash redirected), not an empty agent's report
    bare = boss.get("/agents/")
    assert (bare.status_code, bare.headers["location"]) == (307, f"{server.url}/agents")
