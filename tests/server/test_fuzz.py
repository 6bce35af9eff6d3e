"""The API fuzzed from its own OpenAPI document (schemathesis): every operation, valid and
invalid input, against the real server with a seeded workspace, signed in as an admin (events
sent with an ingest key). No answer may be a 5xx, and JSON answers must match the document.

Bounded: a few dozen examples per operation (`make test-fuzz`, about a minute on 2 cores)."""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from chatlens.app.models import ROLES, SCOPES
from chatlens.events import EVENT_TYPES
from chatlens.metrics import GRAINS
from chatlens.reports.export import EXPORT_FORMATS
from tests.builders import DAY, chat
from tests.serverkit import PASSWORD, LiveServer, provision
from tests.waiting import wait_until

pytestmark = [pytest.mark.fuzz, pytest.mark.server]

EXAMPLES = 20
"""Per operation and phase; hypothesis stops sooner once it has nothing new to try."""
LOGIN_SOURCE = "127.0.0.77"
"""Fresh sessions for the sign-out cases come from their own address: the sign-in cases'
random failures (counted per address) must not lock them out."""


class Fuzzed:
    """The running server and the credentials the cases are sent with."""

    def __init__(self, server: LiveServer, email: str, ingest_key: str, kept: set[int]):
        self.server = server
        self.email = email
        self.ingest_key = ingest_key
        self.kept = kept  # key ids a DELETE must not revoke (the fuzz needs them)
        self.admin = self.session()
        self.answers: dict[str, Counter[int]] = defaultdict(Counter)  # operation -> statuses

    def session(self) -> tuple[dict[str, str], dict[str, str]]:
        """(cookies, headers) of a new admin session."""
        with self.server.client(source=LOGIN_SOURCE) as client:
            answer = client.post(
                "/api/v1/auth/login", json={"email": self.email, "password": PASSWORD}
            )
            answer.raise_for_status()
            return dict(client.cookies), {"x-csrf-token": answer.json()["csrf_token"]}


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory):
    store = tmp_path_factory.mktemp("fuzz") / "chatlens.duckdb"
    seats = provision(
        store,
        {
            "default": {
                "users": {"root": ("admin", None, None), "ann": ("agent", "ann", "sales")},
                "keys": {"in": "ingest", "read": "read"},
            }
        },
    )
    server = LiveServer(store).start()
    events = (
        chat("c-1", bot=True, customer="u1")
        + chat("c-2", handoff_after=10, agent="ann", ratings={"csat": 4})
        + chat("c-3", DAY.replace(day=3), agent="bob", channel="email", resolution=None)
    )
    sent = server.client(seats.keys["in"]).post("/api/v1/events", json=events)
    assert sent.status_code == 200, sent.text
    reader = server.client(seats.keys["read"])
    body = {"metrics": ["conversations"], "from": "2026-11-01", "to": "2026-11-30"}
    wait_until(
        lambda: reader.post("/api/v1/query", json=body).json()["rows"][0]["conversations"] == 3,
        what="the facts caught up",
    )
    state = Fuzzed(server, seats.emails["root"], seats.keys["in"], set())
    with httpx.Client(base_url=server.url, cookies=state.admin[0], headers=state.admin[1]) as c:
        state.kept = {k["id"] for k in c.get("/api/v1/keys").json()["keys"]}
        board = {"name": "Mine", "widgets": [{"metric": "conversations"}]}
        assert c.post("/api/v1/dashboards", json=board).status_code in (200, 201)
    yield state
    server.stop()


CHEAP_METRICS = ["conversations", "csat", "first_response_time", "handoff_rate", "missed_chats"]
"""The metrics /query may draw (each new combination compiles SQL: a handful keeps it quick)."""


def _date_param(schema: dict[str, Any]) -> dict[str, Any]:
    date = {"type": "string", "format": "date"}
    return {"anyOf": [date, {"type": "null"}]} if "anyOf" in schema else date


def sharpened(document: dict[str, Any]) -> dict[str, Any]:
    """The served document with what it leaves as free text narrowed, so that most cases
    get past validation into the routes (free text almost never makes a valid date or a
    metric id): from/to are dates (all of them, years 1 to 9999), metrics, grains,
    dimensions, formats, key scopes and roles come from their lists, and /events gets the
    JSON body it reads itself (it also takes NDJSON, so the document does not declare one)."""
    for methods in document["paths"].values():
        for operation in methods.values():
            for param in operation.get("parameters", []):
                if param["in"] == "query" and param["name"] in ("from", "to"):
                    param["schema"] = _date_param(param["schema"])
                elif param["in"] == "query" and param["name"] == "format":
                    param["schema"] = {"type": "string", "enum": list(EXPORT_FORMATS)}
                elif param["in"] == "query" and param["name"] == "counted":
                    param["schema"] = {"enum": [*CHEAP_METRICS, "nps_detractors", None]}
    query = document["components"]["schemas"]["QueryIn"]["properties"]  # /query's body
    query["from"] = query["to"] = {"type": "string", "format": "date"}
    query["metrics"]["items"] = {"enum": CHEAP_METRICS}
    query["metrics"]["maxItems"] = 3
    query["every"] = {"enum": [*GRAINS, None]}
    query["by"]["items"] = {"enum": ["channel", "agent_id", "team", "weekday", "topic"]}
    query["by"]["maxItems"] = 2
    schemas = document["components"]["schemas"]
    schemas["KeyIn"]["properties"]["scope"]["enum"] = list(SCOPES)
    schemas["SeatIn"]["properties"]["role"]["enum"] = list(ROLES)
    event = {
        "type": "object",
        "required": ["type", "ts"],
        "properties": {
            "type": {"enum": list(EVENT_TYPES)},
            "ts": {"type": "string", "format": "date-time"},
            "conversation_id": {"type": "string", "maxLength": 12},
            "channel": {"enum": ["web", "email", "whatsapp"]},
            "sender": {"enum": ["customer", "bot", "agent"]},
            "text": {"type": "string", "maxLength": 200},
            "agent_id": {"type": "string", "maxLength": 12},
        },
    }
    content = {"schema": {"type": "array", "items": event, "maxItems": 5}}
    document["paths"]["/api/v1/events"]["post"]["requestBody"] = {
        "required": True,
        "content": {"application/json": content},
    }
    return document


@pytest.fixture(scope="module")
def api_schema(fuzzed):
    served = httpx.get(fuzzed.server.url + "/openapi.json").json()
    schema = schemathesis.openapi.from_dict(sharpened(served))
    schema.config.update(base_url=fuzzed.server.url)
    return schema


schema = schemathesis.pytest.from_fixture("api_schema")


@pytest.fixture(autouse=True)
def _node_id_for_schemathesis(request):
    """schemathesis 4.32 names each operation's subtest through `node._nodeid`, which pytest
    9.2 no longer has (its id is `node.nodeid`): give it one to read and rewrite."""
    request.node._nodeid = request.node.nodeid


def _credentials(case: Any, fuzzed: Fuzzed) -> dict[str, Any]:
    """How a case is sent: ingest with the ingest key, sign-out on a session of its own
    (it ends it), everything else as the admin."""
    path, method = case.operation.path, case.method.upper()
    if path == "/api/v1/events":
        return {"headers": {"Authorization": f"Bearer {fuzzed.ingest_key}"}}
    if path == "/api/v1/auth/logout":
        cookies, headers = fuzzed.session()
        return {"cookies": cookies, "headers": headers}
    revoking = method == "DELETE" and path == "/api/v1/keys/{key_id}"
    if revoking and case.path_parameters.get("key_id") in fuzzed.kept:
        case.path_parameters["key_id"] = 10**12  # no such key: the fuzz keeps its own
    cookies, headers = fuzzed.admin
    return {"cookies": cookies, "headers": headers}


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
def test_no_input_makes_the_server_fail(case, fuzzed):
    if case.query:
        case.query.pop("workspace", None)  # a random workspace is refused before the route
    sent = _credentials(case, fuzzed)
    answer = case.call_and_validate(
        timeout=60,
        checks=[not_a_server_error, response_schema_conformance],
        **sent,
    )
    fuzzed.answers[f"{case.method.upper()} {case.operation.path}"][answer.status_code] += 1


@pytest.mark.last
def test_every_operation_was_fuzzed_signed_in(fuzzed, api_schema):
    """Runs after the fuzz (marked `last`): each operation got cases, and the credentials were
    accepted (not every answer a 401 or 403), so the fuzz reached the routes' own code."""
    operations = {
        f"{method.upper()} {path}"
        for path, methods in api_schema.raw_schema["paths"].items()
        for method in methods
    }
    for operation in sorted(operations):
        counts = fuzzed.answers[operation]
        print(operation, dict(sorted(counts.items())))
        assert counts, f"{operation}: no case was sent"
        assert set(counts) - {401, 403}, f"{operation}: only refused ({dict(counts)})"
