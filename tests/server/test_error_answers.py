"""The server answers errors by class, in one place (server/errors.py): over real HTTP, a
small app with the real mapping installed raises each class of the tree."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from chatlens.errors import (
    ChatlensError,
    Conflict,
    EventError,
    FieldError,
    Forbidden,
    InputError,
    ItemError,
    NotFound,
)
from chatlens.ingest.files import ReadFailure
from chatlens.server import errors
from chatlens.server.errors import ApiError, SignIn
from tests.serverkit import free_port

pytestmark = pytest.mark.server

RAISED: dict[str, Callable[[], Exception]] = {
    "input": lambda: InputError("unknown metric 'csta' (did you mean csat?)"),
    "missing": lambda: NotFound("no API key with id 7"),
    "refused": lambda: Forbidden("only a workspace admin can do this"),
    "exists": lambda: Conflict("workspace 'acme' already exists"),
    "event": lambda: EventError([FieldError("ts", "missing"), FieldError("type", "unknown")]),
    "item": lambda: ItemError("author.type", "unknown author type 'robot'"),
    "unreadable": lambda: ReadFailure(Path("a.jsonl"), "line 3", "bad gzip"),
    "busy": lambda: ApiError(429, "try again in 5 s", headers={"Retry-After": "5"}),
    "extra": lambda: ChatlensError("the embeddings topic model needs an optional extra"),
    "hostile": lambda: NotFound("no dashboard <b>7</b>"),
    "crash": lambda: RuntimeError("a secret <b>"),
    "sign-in": lambda: SignIn(),
}


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    app = FastAPI()
    errors.install(app)

    @app.get("/api/v1/raise/{name}")
    def api(name: str) -> None:
        raise RAISED[name]()

    @app.get("/pages/{name}")
    def page(name: str) -> None:
        raise RAISED[name]()

    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="critical")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=30)


@pytest.mark.parametrize(
    ("name", "status", "code", "message"),
    [
        ("input", 400, "bad_request", "unknown metric 'csta' (did you mean csat?)"),
        ("missing", 404, "not_found", "no API key with id 7"),
        ("refused", 403, "forbidden", "only a workspace admin can do this"),
        ("exists", 409, "conflict", "workspace 'acme' already exists"),
        ("unreadable", 400, "bad_request", "a.jsonl: cannot be read from line 3 on: bad gzip"),
        ("busy", 429, "too_many_requests", "try again in 5 s"),
        ("extra", 500, "internal", "the embeddings topic model needs an optional extra"),
    ],
)
def test_each_class_answers_with_its_status(url, name, status, code, message):
    answer = httpx.get(f"{url}/api/v1/raise/{name}")
    assert answer.status_code == status
    assert answer.json() == {"error": {"code": code, "message": message, "details": None}}


def test_an_event_error_answers_422_naming_each_field(url):
    event = httpx.get(f"{url}/api/v1/raise/event").json()["error"]
    assert event == {
        "code": "invalid",
        "message": "field 'ts': missing; field 'type': unknown",
        "details": [{"field": "ts", "message": "missing"}, {"field": "type", "message": "unknown"}],
    }
    item = httpx.get(f"{url}/api/v1/raise/item")
    assert item.status_code == 422
    assert item.json()["error"]["details"] == [
        {"field": "author.type", "message": "unknown author type 'robot'"}
    ]


def test_headers_of_an_api_error_are_sent(url):
    assert httpx.get(f"{url}/api/v1/raise/busy").headers["retry-after"] == "5"


def test_a_page_gets_the_message_as_html_escaped(url):
    page = httpx.get(f"{url}/pages/hostile", headers={"accept": "text/html"})
    assert (page.status_code, page.headers["content-type"]) == (404, "text/html; charset=utf-8")
    assert "no dashboard &lt;b&gt;7&lt;/b&gt;" in page.text
    assert "<b>7</b>" not in page.text


def test_an_unexpected_failure_shows_no_detail(url):
    answer = httpx.get(f"{url}/api/v1/raise/crash")
    assert answer.status_code == 500
    body = answer.json()["error"]
    assert body["code"] == "internal"
    assert body["message"].startswith("something went wrong on the server (incident ")
    assert "secret" not in answer.text


def test_a_page_that_needs_a_signed_in_user_redirects_to_the_sign_in_form(url):
    answer = httpx.get(f"{url}/pages/sign-in?a=1", headers={"accept": "text/html"})
    assert answer.status_code == 303
    assert answer.headers["location"] == "/login?next=%2Fpages%2Fsign-in%3Fa%3D1"
