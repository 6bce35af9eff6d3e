"""Fakes of the REST APIs API sync pulls from, each a FastAPI app served by uvicorn on a
loopback port (`Served`), holding hand-written conversations in the platform's documented
shapes: the conversations of the importers' export fixtures (tests/importers/data), which
were written in the shapes of those same APIs.

What each fake answers (the platforms' documented wire formats):
- Chatwoot Application API (chatwoot/chatwoot swagger/paths/application/conversation/
  index.yml and conversation/messages/index.yml; https://developers.chatwoot.com/
  api-reference): `GET /api/v1/accounts/{account_id}/conversations?status=all&page=N` ->
  `{"data": {"meta": {mine_count, assigned_count, unassigned_count, all_count}, "payload":
  [conversation with its last message only]}}`, most recently active first;
  `GET .../conversations/{id}/messages[?before=ID]` -> `{"meta": {labels, contact, ...},
  "payload": [the latest messages before ID, oldest first]}`. Auth: `api_access_token`
  header; a wrong one gets 401 `{"error": "You need to sign in or sign up before
  continuing."}`.
- Intercom REST API 2.11 (https://developers.intercom.com/docs/build-an-integration/
  learn-more/rest-apis/pagination/, .../references/rest-api/api.intercom.io/conversations/
  searchconversations): `POST /conversations/search` `{"query": {"field": "updated_at",
  "operator": ">", "value": N}, "pagination": {"per_page", "starting_after"}}` ->
  `{"type": "conversation.list", "conversations": [...], "total_count", "pages": {"type":
  "pages", "page", "per_page", "total_pages", "next": {"per_page", "starting_after"}}}`;
  `GET /conversations/{id}` -> the conversation with its `conversation_parts`. Auth:
  `Authorization: Bearer`; a wrong one gets 401 `{"type": "error.list", "errors": [{"code":
  "unauthorized", "message": "Access Token Invalid"}]}`. Rate limit headers
  `X-RateLimit-Limit`, `X-RateLimit-Remaining`, `X-RateLimit-Reset` (Unix time).
- LiveChat Agent Chat Web API v3.5 (https://platform.text.com/docs/messaging/
  agent-chat-api/v3.5/#list-archives): `POST /v3.5/agent/action/list_archives`
  `{"filters": {"from"}, "limit", "sort_order"}` or `{"page_id"}` -> `{"chats": [chat with
  one thread], "found_chats", "next_page_id", "previous_page_id"}`. Auth: Basic
  `account_id:PAT`; a wrong one gets 401 `{"error": {"type": "authentication", "message":
  "Invalid access token"}}`.

Faults (`Fault`): the nth request of a kind is answered with a status (429 with
`Retry-After` in seconds or as an HTTP date, or Intercom's `X-RateLimit-Reset`; 500 or 503)
for `times` requests in a row; every request is logged in `requests`.
"""

from __future__ import annotations

import base64
import copy
import datetime as dt
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from tests.serverkit import free_port
from tests.waiting import wait_until

EXPORTS = Path(__file__).parent.parent / "importers" / "data"


def chatwoot_conversations() -> list[dict[str, Any]]:
    path = EXPORTS / "chatwoot" / "history.jsonl"
    return [orjson.loads(line) for line in path.read_bytes().splitlines()]


def intercom_conversations() -> list[dict[str, Any]]:
    return orjson.loads((EXPORTS / "intercom" / "conversations.json").read_bytes())


def livechat_chats() -> list[dict[str, Any]]:
    return orjson.loads((EXPORTS / "livechat" / "list_archives.json").read_bytes())["chats"]


@dataclass
class Fault:
    kind: str
    """Which requests: "list" (a page of conversations) or "get" (one conversation, or its
    messages)."""
    nth: int
    """The first request of that kind to answer so (1-based; retries count)."""
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    times: int = 1
    later: dict[str, Callable[[], str]] = field(default_factory=dict)
    """Headers computed when the fault is answered (a reset time, a date: from now)."""


@dataclass
class Logged:
    kind: str
    method: str
    path: str
    status: int
    query: dict[str, str]
    body: Any


class Fake:
    """One platform's API: its conversations, its token, faults, the requests it saw."""

    token = "fake-api-token-0001"
    account = "7"

    def __init__(self) -> None:
        self.faults: list[Fault] = []
        self.requests: list[Logged] = []
        self.counts: dict[str, int] = {}
        self.lock = threading.Lock()
        self.app = FastAPI()
        self.routes()

    def routes(self) -> None:
        raise NotImplementedError

    def answer(
        self, request: Request, kind: str, authorized: bool, body: Any, make: Any
    ) -> Response:
        """The fault planned for this request, a 401, or what `make()` builds."""
        with self.lock:
            self.counts[kind] = number = self.counts.get(kind, 0) + 1
            fault = next(
                (f for f in self.faults if f.kind == kind and f.nth <= number < f.nth + f.times),
                None,
            )
        if not authorized:
            response = self.unauthorized()
        elif fault is not None:
            headers = fault.headers | {k: make_value() for k, make_value in fault.later.items()}
            response = JSONResponse(
                {"error": "planned fault"}, status_code=fault.status, headers=headers
            )
        else:
            response = make()
        self.requests.append(
            Logged(
                kind,
                request.method,
                request.url.path,
                response.status_code,
                dict(request.query_params),
                body,
            )
        )
        return response

    def unauthorized(self) -> Response:
        raise NotImplementedError

    def statuses(self, kind: str) -> list[int]:
        return [r.status for r in self.requests if r.kind == kind]


def _token(value: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(value)).decode()


def _untoken(value: str) -> dict[str, Any]:
    return orjson.loads(base64.urlsafe_b64decode(value.encode()))


# -- Chatwoot --------------------------------------------------------------------------------


class ChatwootFake(Fake):
    def __init__(self, per_page: int = 25, messages_per_page: int = 20) -> None:
        self.per_page, self.messages_per_page = per_page, messages_per_page
        self.conversations = chatwoot_conversations()
        super().__init__()

    def unauthorized(self) -> Response:
        return JSONResponse(
            {"error": "You need to sign in or sign up before continuing."}, status_code=401
        )

    def routes(self) -> None:
        base = "/api/v1/accounts/{account}/conversations"

        @self.app.get(base)
        def conversations(account: str, request: Request, page: int = 1) -> Response:
            def make() -> Response:
                if account != self.account:
                    return JSONResponse({"error": "Account not found"}, status_code=404)
                ordered = sorted(self.conversations, key=lambda c: -c["last_activity_at"])
                chunk = ordered[(page - 1) * self.per_page : page * self.per_page]
                listed = [{**c, "messages": c["messages"][-1:]} for c in chunk]
                meta = {"mine_count": 0, "assigned_count": len(ordered)}
                meta |= {"unassigned_count": 0, "all_count": len(ordered)}
                return JSONResponse({"data": {"meta": meta, "payload": listed}})

            return self.answer(request, "list", self._ok(request), None, make)

        @self.app.get(base + "/{conversation}/messages")
        def messages(
            account: str, conversation: int, request: Request, before: int | None = None
        ) -> Response:
            def make() -> Response:
                found = [c for c in self.conversations if c["id"] == conversation]
                if account != self.account or not found:
                    return JSONResponse({"error": "Resource could not be found"}, 404)
                older = [m for m in found[0]["messages"] if before is None or m["id"] < before]
                chunk = older[-self.messages_per_page :] if older else []
                meta = {"labels": found[0].get("labels", []), "additional_attributes": {}}
                meta["contact"] = found[0]["meta"]["sender"]
                return JSONResponse({"meta": meta, "payload": chunk})

            return self.answer(request, "get", self._ok(request), None, make)

    def _ok(self, request: Request) -> bool:
        return request.headers.get("api_access_token") == self.token


# -- Intercom --------------------------------------------------------------------------------


class IntercomFake(Fake):
    def __init__(self) -> None:
        self.conversations = intercom_conversations()
        self.reset_at: int | None = None
        super().__init__()

    def unauthorized(self) -> Response:
        errors = [{"code": "unauthorized", "message": "Access Token Invalid"}]
        return JSONResponse({"type": "error.list", "errors": errors}, status_code=401)

    def routes(self) -> None:
        @self.app.post("/conversations/search")
        async def search(request: Request) -> Response:
            body = await request.json()

            def make() -> Response:
                query, pagination = body["query"], body.get("pagination") or {}
                assert query["field"] == "updated_at" and query["operator"] == ">"
                per_page = int(pagination.get("per_page", 20))
                matching = sorted(
                    (c for c in self.conversations if c["updated_at"] > query["value"]),
                    key=lambda c: (c["updated_at"], c["id"]),
                )
                start = (
                    _untoken(pagination["starting_after"])["at"]
                    if pagination.get("starting_after")
                    else 0
                )
                chunk = matching[start : start + per_page]
                listed = [{k: v for k, v in c.items() if k != "conversation_parts"} for c in chunk]
                total_pages = max(1, -(-len(matching) // per_page))
                pages: dict[str, Any] = {
                    "type": "pages",
                    "page": start // per_page + 1,
                    "per_page": per_page,
                    "total_pages": total_pages,
                }
                if start + per_page < len(matching):
                    pages["next"] = {
                        "per_page": per_page,
                        "starting_after": _token({"at": start + per_page}),
                    }
                return JSONResponse(
                    {
                        "type": "conversation.list",
                        "conversations": listed,
                        "total_count": len(matching),
                        "pages": pages,
                    }
                )

            return self.answer(request, "list", self._ok(request), body, make)

        @self.app.get("/conversations/{conversation}")
        def conversation(conversation: str, request: Request) -> Response:
            def make() -> Response:
                found = [c for c in self.conversations if c["id"] == conversation]
                if not found:
                    errors = [{"code": "not_found", "message": "Resource Not Found"}]
                    return JSONResponse({"type": "error.list", "errors": errors}, 404)
                return JSONResponse(copy.deepcopy(found[0]))

            return self.answer(request, "get", self._ok(request), None, make)

    def _ok(self, request: Request) -> bool:
        return (
            request.headers.get("authorization") == f"Bearer {self.token}"
            and request.headers.get("intercom-version") == "2.11"
        )


# -- LiveChat --------------------------------------------------------------------------------


class LiveChatFake(Fake):
    def __init__(self) -> None:
        self.chats = livechat_chats()
        super().__init__()

    def unauthorized(self) -> Response:
        error = {"type": "authentication", "message": "Invalid access token"}
        return JSONResponse({"error": error}, status_code=401)

    def routes(self) -> None:
        @self.app.post("/v3.5/agent/action/list_archives")
        async def list_archives(request: Request) -> Response:
            body = await request.json()

            def make() -> Response:
                if "page_id" in body:
                    assert set(body) == {"page_id"}, "page_id goes alone"
                    state = _untoken(body["page_id"])
                else:
                    since = (body.get("filters") or {}).get("from")
                    state = {"from": since, "limit": body.get("limit", 10), "at": 0}
                    state["order"] = body.get("sort_order", "desc")
                matching = [
                    c
                    for c in self.chats
                    if state["from"] is None or _at(c["thread"]["created_at"]) >= _at(state["from"])
                ]
                matching.sort(
                    key=lambda c: c["thread"]["created_at"], reverse=state["order"] == "desc"
                )
                start, limit = state["at"], state["limit"]
                chunk = matching[start : start + limit]
                following = (
                    _token({**state, "at": start + limit})
                    if start + limit < len(matching)
                    else None
                )
                answer = {
                    "chats": chunk,
                    "found_chats": len(matching),
                    "next_page_id": following,
                    "previous_page_id": None,
                }
                return JSONResponse({k: v for k, v in answer.items() if v is not None})

            return self.answer(request, "list", self._ok(request), body, make)

    def _ok(self, request: Request) -> bool:
        sent = request.headers.get("authorization", "")
        expected = base64.b64encode(f"{self.account}:{self.token}".encode()).decode()
        return sent == f"Basic {expected}"


def _at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


# -- serving ---------------------------------------------------------------------------------


class Served:
    """A fake served by uvicorn in a thread on a free loopback port."""

    def __init__(self, fake: Fake):
        self.fake = fake
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(fake.app, host="127.0.0.1", port=self.port, log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> Served:
        self.thread.start()
        wait_until(lambda: self.server.started, timeout=60, what="the fake API to start")
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)
