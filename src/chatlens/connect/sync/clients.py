"""One client per platform's REST API: a page of the conversations updated since a time,
each pulled whole in the shape the platform's importer reads from an export (so a pull is
converted by the same code as a file and a webhook), and how a pulled conversation is
folded into the one the webhooks folded (connect/platforms.py).

A page token is opaque to the sync: it is what the platform needs to continue (Chatwoot's
page number, Intercom's `starting_after`, LiveChat's `page_id`), stored after each page so
an interrupted sync continues there.

Wire formats:
- Chatwoot Application API: `GET /api/v1/accounts/{account_id}/conversations?status=all&
  assignee_type=all&page=N` answers `{"data": {"meta": {...counts}, "payload": [conversation,
  ...]}}`, 25 a page, the most recently active first; `GET .../conversations/{id}/messages
  [?before=<message id>]` answers `{"meta": {...}, "payload": [message, ...]}`, the latest
  20 before that id, oldest first. Header `api_access_token`.
  (chatwoot/chatwoot swagger/paths/application/conversation/index.yml and
  .../conversation/messages/index.yml; https://developers.chatwoot.com/api-reference)
- Intercom REST API 2.11: `POST /conversations/search` with `{"query": {"field":
  "updated_at", "operator": ">", "value": <unix>}, "pagination": {"per_page": N,
  "starting_after": cursor}}` answers a `conversation.list` whose `pages.next.starting_after`
  is the next cursor; `GET /conversations/{id}` answers the conversation with all its
  `conversation_parts`. `Authorization: Bearer <token>`, `Intercom-Version: 2.11`.
  (https://developers.intercom.com/docs/build-an-integration/learn-more/rest-apis/pagination/)
- LiveChat Agent Chat Web API v3.5: `POST /v3.5/agent/action/list_archives` with
  `{"filters": {"from": RFC 3339}, "limit": N, "sort_order": "asc"}`, then only
  `{"page_id": next_page_id}`; answers `{"chats": [chat with one thread], "found_chats",
  "next_page_id", "previous_page_id"}`. Basic auth `account_id:personal_access_token`.
  (https://platform.text.com/docs/messaging/agent-chat-api/v3.5/#list-archives,
  https://heroguides.livechat.com/docs/LiveChat_Guides/PAT_authorisation_and_List_archives)
"""

from __future__ import annotations

import datetime as dt
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

import httpx

from chatlens.connect.platforms import CHAT_SEEN, PLATFORMS
from chatlens.connect.sync.http import Api, PlatformError

INTERCOM_VERSION = "2.11"
LIVECHAT_VERSION = "v3.5"
PER_PAGE = 50
"""Conversations asked for a page (Intercom allows up to 150, LiveChat's list_archives up to
100; Chatwoot's pages hold 25 whatever is asked): each page is one store write."""


@dataclass
class Pulled:
    """One conversation as the platform's API gave it, in its export shape."""

    key: str
    """The conversation's key among the connection's folded conversations (the same as
    its webhooks': connect/platforms.py `conversation`)."""
    document: dict[str, Any]
    updated: float
    """The platform's update time (Unix seconds): the sync's high-water mark."""


@dataclass
class Page:
    conversations: list[Pulled] = field(default_factory=list)
    next: str | None = None
    """The token of the next page; None: this run is done."""


class Client(ABC):
    platform: ClassVar[str]

    def __init__(self, api: Api, account: str | None):
        self.api, self.account = api, account

    @abstractmethod
    def page(self, since: float | None, token: str | None) -> Page:
        """The conversations of one page updated after `since` (all when None)."""

    @abstractmethod
    def fold(self, document: dict[str, Any] | None, pulled: dict[str, Any]) -> dict[str, Any]:
        """The folded conversation with a pulled one taken in: the pull is the platform's
        current state, so it wins over what webhooks said; what only webhooks told (a part
        the API no longer lists) stays."""

    def close(self) -> None:
        self.api.close()


def _seconds(value: Any) -> float:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str) and value:
        try:
            return float(value)
        except ValueError:
            moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=dt.UTC)
            return moment.timestamp()
    return 0.0


# -- Chatwoot --------------------------------------------------------------------------------

PULLED = "pulled"
"""The key of a pulled Chatwoot conversation among its folded payloads (one: the newest)."""


class Chatwoot(Client):
    platform = "chatwoot"

    def page(self, since: float | None, token: str | None) -> Page:
        number = int(token or 1)
        path = f"/api/v1/accounts/{self.account}/conversations"
        answer = self.api.call(
            "GET", path, params={"status": "all", "assignee_type": "all", "page": number}
        )
        listed = _list(_dict(answer, "data", self.api.who), "payload", self.api.who)
        out = Page(next=str(number + 1) if listed else None)
        for item in listed:
            updated = _seconds(item.get("last_activity_at") or item.get("timestamp"))
            if since is not None and updated <= since:
                out.next = None  # most recently active first: the rest is older
                break
            document = {**item, "messages": self._messages(item["id"])}
            out.conversations.append(Pulled(str(item["id"]), document, updated))
        return out

    def _messages(self, conversation: Any) -> list[dict[str, Any]]:
        """Every message: the latest page, then the ones `before` the oldest seen, until a
        page brings nothing new (the page size is Chatwoot's to choose)."""
        path = f"/api/v1/accounts/{self.account}/conversations/{conversation}/messages"
        found: dict[Any, dict[str, Any]] = {}
        before: Any = None
        while True:
            params = {"before": before} if before is not None else {}
            answer = self.api.call("GET", path, params=params)
            batch = [m for m in _list(answer, "payload", self.api.who) if isinstance(m, dict)]
            new = [m for m in batch if m.get("id") not in found]
            if not new:
                break
            found.update({m.get("id"): m for m in new})
            before = min(m["id"] for m in new)
        return sorted(found.values(), key=lambda m: (_seconds(m.get("created_at")), m.get("id")))

    def fold(self, document: dict[str, Any] | None, pulled: dict[str, Any]) -> dict[str, Any]:
        payloads = dict((document or {}).get("payloads") or {})
        payloads[PULLED] = pulled
        return {"payloads": payloads}


# -- Intercom --------------------------------------------------------------------------------


class Intercom(Client):
    platform = "intercom"

    def page(self, since: float | None, token: str | None) -> Page:
        query = {"field": "updated_at", "operator": ">", "value": int(since or 0)}
        pagination: dict[str, Any] = {"per_page": PER_PAGE}
        if token:
            pagination["starting_after"] = token
        answer = self.api.call(
            "POST", "/conversations/search", json={"query": query, "pagination": pagination}
        )
        listed = _list(answer, "conversations", self.api.who)
        pages = answer.get("pages") if isinstance(answer, dict) else None
        following = pages.get("next") if isinstance(pages, dict) else None
        out = Page(next=following.get("starting_after") if isinstance(following, dict) else None)
        for item in listed:
            whole = self.api.call("GET", f"/conversations/{item['id']}")
            if not isinstance(whole, dict):
                raise PlatformError(f"{self.api.who}: conversation {item['id']} is not an object")
            updated = _seconds(whole.get("updated_at") or item.get("updated_at"))
            out.conversations.append(Pulled(str(item["id"]), whole, updated))
        return out

    def fold(self, document: dict[str, Any] | None, pulled: dict[str, Any]) -> dict[str, Any]:
        return PLATFORMS["intercom"].fold(document, {"data": {"item": pulled}})


# -- LiveChat --------------------------------------------------------------------------------


class LiveChat(Client):
    platform = "livechat"

    def page(self, since: float | None, token: str | None) -> Page:
        body: dict[str, Any]
        if token:
            body = {"page_id": token}
        else:
            body = {"limit": PER_PAGE, "sort_order": "asc"}
            if since is not None:
                moment = dt.datetime.fromtimestamp(since, dt.UTC)
                body["filters"] = {"from": moment.isoformat().replace("+00:00", "Z")}
        answer = self.api.call("POST", f"/{LIVECHAT_VERSION}/agent/action/list_archives", json=body)
        chats = _list(answer, "chats", self.api.who)
        out = Page(next=answer.get("next_page_id") or None)
        for chat in chats:
            thread = chat.get("thread") if isinstance(chat, dict) else None
            if not isinstance(thread, dict):
                raise PlatformError(f"{self.api.who}: a chat of list_archives has no thread")
            # list_archives filters threads by their start: the mark is the newest start
            # (the newest thread is pulled again next time, with what it said since)
            updated = _seconds(thread.get("created_at"))
            out.conversations.append(Pulled(f"{chat['id']}:{thread['id']}", chat, updated))
        return out

    def fold(self, document: dict[str, Any] | None, pulled: dict[str, Any]) -> dict[str, Any]:
        thread = pulled["thread"]
        known = ((document or {}).get("thread") or {}).get("events") or []
        events = {str(e.get("id")): e for e in known if isinstance(e, dict)}
        events.update({str(e.get("id")): e for e in thread.get("events") or []})
        ordered = sorted(events.values(), key=lambda e: (str(e.get("created_at")), str(e["id"])))
        return {**pulled, "thread": {**thread, "events": ordered}, CHAT_SEEN: True}


# -- building one ----------------------------------------------------------------------------

CLIENTS: dict[str, type[Client]] = {c.platform: c for c in (Chatwoot, Intercom, LiveChat)}


def client_for(
    platform: str,
    url: str,
    token: str,
    account: str | None,
    who: str,
    sleep: Callable[[float], None] | None = None,
) -> Client:
    """The API client of a connection (`who` names it in errors)."""
    headers: dict[str, str] = {}
    auth: httpx.Auth | None = None
    if platform == "chatwoot":
        headers["api_access_token"] = token
    elif platform == "intercom":
        headers |= {"authorization": f"Bearer {token}", "intercom-version": INTERCOM_VERSION}
    elif platform == "livechat":
        auth = httpx.BasicAuth(account or "", token)
    extra = {"sleep": sleep} if sleep is not None else {}
    api = Api(url, headers, who, auth=auth, **extra)
    return CLIENTS[platform](api, account)


def _dict(value: Any, key: str, who: str) -> dict[str, Any]:
    found = value.get(key) if isinstance(value, dict) else None
    if not isinstance(found, dict):
        raise PlatformError(f"{who}: the answer has no object '{key}' (is --api-url right?)")
    return found


def _list(value: Any, key: str, who: str) -> list[Any]:
    found = value.get(key) if isinstance(value, dict) else None
    if not isinstance(found, list):
        raise PlatformError(f"{who}: the answer has no list '{key}' (is --api-url right?)")
    return found


__all__ = ["CLIENTS", "Client", "Page", "Pulled", "client_for"]
