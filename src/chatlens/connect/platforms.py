"""What differs between platforms: how a delivery proves where it comes from, which
conversation it belongs to, and how it is folded into that conversation's export shape.

Each platform folds its deliveries into the object its importer reads from an export
(Intercom: a conversation with its parts; LiveChat: a `list_archives` chat with one thread;
Chatwoot: the webhook payloads themselves, which its importer reads as items), so a file and
a webhook convert through the same functions. Folding is a union (parts, events and
payloads by their platform id; the newest top-level state by its update time), so the order
in which deliveries arrive does not change the folded conversation."""

from __future__ import annotations

import hashlib
import hmac
from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import Any, ClassVar

import orjson

from chatlens.app import credentials
from chatlens.app.models import Connection
from chatlens.errors import ItemError
from chatlens.importers.chatwoot import ChatwootImporter, moment
from chatlens.importers.intercom import IntercomImporter
from chatlens.importers.livechat import LiveChatImporter


class Refusal(Exception):
    """A delivery refused with a 4xx: `message` names what is wrong, never the payload."""

    def __init__(self, status: int, message: str, code: str = "invalid_delivery"):
        self.status, self.message, self.code = status, message, code
        super().__init__(message)


def body_hash(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()[:40]


def _same_hmac(expected: str, sent: str) -> bool:
    return hmac.compare_digest(expected.encode(), sent.strip().encode())


def _object(value: Any, field: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise Refusal(422, f"field '{field}': expected an object")
    return value


def _key(value: Any, field: str) -> str:
    if value is None or value == "" or isinstance(value, (dict, list, bool)):
        raise Refusal(422, f"field '{field}': missing")
    return str(value)


class Platform(ABC):
    """One platform's webhooks."""

    name: ClassVar[str]

    def check_request(self, conn: Connection, headers: Mapping[str, str], body: bytes) -> None:
        """Refuse a delivery whose signature (over the raw body) is missing or wrong."""
        del conn, headers, body  # no signature by default

    def check_payload(self, conn: Connection, payload: dict[str, Any]) -> None:
        """Refuse a delivery whose in-payload secret is missing or wrong."""
        del conn, payload  # no secret in the payload by default

    def delivery_id(self, headers: Mapping[str, str], body: bytes, payload: dict[str, Any]) -> str:
        """The platform's id of this delivery (a replay carries the same), else the body's
        hash."""
        return body_hash(body)

    def ready(self, document: dict[str, Any]) -> bool:
        """Whether the folded conversation can be converted yet (LiveChat: not before the
        chat itself arrived)."""
        del document
        return True

    @abstractmethod
    def conversation(self, payload: dict[str, Any]) -> str | None:
        """The conversation a delivery is about; None for a delivery with nothing to count
        (a ping, a contact update)."""

    @abstractmethod
    def fold(self, document: dict[str, Any] | None, payload: dict[str, Any]) -> dict[str, Any]:
        """The conversation's document with this delivery taken in."""

    @abstractmethod
    def convert(self, document: dict[str, Any]) -> list[dict[str, Any]]:
        """The chatlens events of a folded conversation (raises ItemError)."""


# -- Intercom --------------------------------------------------------------------------------


def _part_list(item: dict[str, Any]) -> list[Any]:
    holder = item.get("conversation_parts")
    parts = holder.get("conversation_parts") if isinstance(holder, dict) else holder
    return parts if isinstance(parts, list) else []


class Intercom(Platform):
    """Conversation topics (conversation.user.created, conversation.admin.replied,
    conversation.admin.closed, ...): a `notification_event` whose `data.item` is the
    conversation with the parts the notification is about. Signed with HMAC-SHA1 of the raw
    body keyed by the app's client secret, in `X-Hub-Signature: sha1=<hex>`."""

    name = "intercom"

    def check_request(self, conn: Connection, headers: Mapping[str, str], body: bytes) -> None:
        sent = headers.get("x-hub-signature")
        if not sent:
            raise Refusal(401, "missing the X-Hub-Signature header", "unsigned")
        digest = hmac.new((conn.signing_secret or "").encode(), body, hashlib.sha1).hexdigest()
        if not _same_hmac(f"sha1={digest}", sent):
            raise Refusal(
                401,
                "X-Hub-Signature does not match the body: check the connection's client secret",
                "bad_signature",
            )

    def delivery_id(self, headers: Mapping[str, str], body: bytes, payload: dict[str, Any]) -> str:
        notification = payload.get("id")
        return str(notification)[:128] if notification else body_hash(body)

    def conversation(self, payload: dict[str, Any]) -> str | None:
        if payload.get("type") != "notification_event":
            raise Refusal(422, "field 'type': expected notification_event")
        topic = _key(payload.get("topic"), "topic")
        if not topic.startswith("conversation.") or topic.startswith("conversation.contact"):
            return None  # ping, contact.*, ticket.*...: nothing to count
        item = _object(_object(payload.get("data"), "data").get("item"), "data.item")
        return _key(item.get("id"), "data.item.id")

    def fold(self, document: dict[str, Any] | None, payload: dict[str, Any]) -> dict[str, Any]:
        item = payload["data"]["item"]
        parts = {str(p.get("id")): p for p in _part_list(document or {}) if isinstance(p, dict)}
        parts.update({str(p.get("id")): p for p in _part_list(item) if isinstance(p, dict)})
        newer = document is None or _number(item.get("updated_at")) >= _number(
            document.get("updated_at")
        )
        top = dict(item if newer else document)  # type: ignore[arg-type]
        if document is not None and not top.get("conversation_rating"):
            # a rating, once given, stays: an older snapshot without it changes nothing
            top["conversation_rating"] = document.get("conversation_rating") or item.get(
                "conversation_rating"
            )
        ordered = sorted(
            parts.values(), key=lambda p: (_number(p.get("created_at")), str(p.get("id")))
        )
        top["conversation_parts"] = {
            "type": "conversation_part.list",
            "conversation_parts": ordered,
            "total_count": len(ordered),
        }
        return top

    def convert(self, document: dict[str, Any]) -> list[dict[str, Any]]:
        return IntercomImporter().convert_items([document])


def _number(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return float("-inf")


# -- LiveChat --------------------------------------------------------------------------------


CHAT_SEEN = "chatlens_chat_seen"
"""Set on a folded LiveChat chat once its `incoming_chat` came (events may come first)."""
LIVECHAT_ACTIONS = frozenset(
    {
        "incoming_chat",
        "incoming_event",
        "chat_deactivated",
        "thread_tagged",
        "thread_untagged",
        "chat_properties_updated",
        "thread_properties_updated",
    }
)


class LiveChat(Platform):
    """Webhooks v3.x: `{webhook_id, secret_key, action, organization_id, payload}`; the
    secret key chosen at registration comes back in every delivery. Deliveries fold into a
    `list_archives` chat with its one thread (a chatlens conversation per thread)."""

    name = "livechat"

    def check_payload(self, conn: Connection, payload: dict[str, Any]) -> None:
        sent = payload.get("secret_key")
        if not isinstance(sent, str) or not sent:
            raise Refusal(401, "field 'secret_key': missing", "unsigned")
        if not credentials.same(credentials.token_hash(sent), conn.payload_secret_hash or ""):
            raise Refusal(
                401, "field 'secret_key' does not match the connection's secret", "bad_signature"
            )

    def delivery_id(self, headers: Mapping[str, str], body: bytes, payload: dict[str, Any]) -> str:
        return body_hash(body)  # LiveChat sends no delivery id: a replay has the same body

    def conversation(self, payload: dict[str, Any]) -> str | None:
        action = _key(payload.get("action"), "action")
        if action not in LIVECHAT_ACTIONS:
            return None
        inner = _object(payload.get("payload"), "payload")
        if action == "incoming_chat":
            chat = _object(inner.get("chat"), "payload.chat")
            thread = _object(chat.get("thread"), "payload.chat.thread")
            chat_id = _key(chat.get("id"), "payload.chat.id")
            return f"{chat_id}:{_key(thread.get('id'), 'payload.chat.thread.id')}"
        if action == "chat_properties_updated":
            return None  # chat-wide, not a thread's: nothing a conversation counts
        chat_id = _key(inner.get("chat_id"), "payload.chat_id")
        return f"{chat_id}:{_key(inner.get('thread_id'), 'payload.thread_id')}"

    def ready(self, document: dict[str, Any]) -> bool:
        return bool(document.get(CHAT_SEEN))

    def fold(self, document: dict[str, Any] | None, payload: dict[str, Any]) -> dict[str, Any]:
        action, inner = payload["action"], payload["payload"]
        chat_id = inner["chat"]["id"] if action == "incoming_chat" else inner["chat_id"]
        thread_id = (
            inner["chat"]["thread"]["id"] if action == "incoming_chat" else inner["thread_id"]
        )
        doc = document or {"id": chat_id, "users": [], "thread": {"id": thread_id, "events": []}}
        thread = doc["thread"]
        if action == "incoming_chat":
            chat = inner["chat"]
            users = {str(u.get("id")): u for u in doc["users"] if isinstance(u, dict)}
            users.update(
                {str(u.get("id")): u for u in chat.get("users") or [] if isinstance(u, dict)}
            )
            top = {k: v for k, v in chat.items() if k != "thread"}
            doc = {**top, **doc, "users": list(users.values()), CHAT_SEEN: True}
            incoming = chat["thread"]
            merged = {k: v for k, v in incoming.items() if k != "events"}
            # what later deliveries said (a close, tags, a rating) stays
            later = {k: v for k, v in thread.items() if k in ("active", "tags")}
            properties = dict(incoming.get("properties") or {})
            for namespace, values in (thread.get("properties") or {}).items():
                if isinstance(values, dict):
                    properties[namespace] = {**properties.get(namespace, {}), **values}
            thread = {**merged, **later, "properties": properties}
            thread["events"] = _union(
                doc["thread"].get("events") or [], incoming.get("events") or []
            )
        elif action == "incoming_event":
            thread = {**thread, "events": _union(thread.get("events") or [], [inner.get("event")])}
        elif action == "chat_deactivated":
            thread = {**thread, "active": False}
        elif action in ("thread_tagged", "thread_untagged"):
            tags = [t for t in thread.get("tags") or [] if t != inner.get("tag")]
            if action == "thread_tagged":
                tags.append(inner.get("tag"))
            thread = {**thread, "tags": tags}
        elif action == "thread_properties_updated":
            properties = dict(thread.get("properties") or {})
            for namespace, values in (inner.get("properties") or {}).items():
                if isinstance(values, dict):
                    properties[namespace] = {**properties.get(namespace, {}), **values}
            thread = {**thread, "properties": properties}
        return {**doc, "thread": thread}

    def convert(self, document: dict[str, Any]) -> list[dict[str, Any]]:
        return LiveChatImporter().convert_items([document])


def _union(known: list[Any], new: list[Any]) -> list[Any]:
    """Thread events by id (a replay adds nothing), oldest first."""
    by_id = {str(e.get("id")): e for e in known if isinstance(e, dict)}
    for event in new:
        if not isinstance(event, dict) or event.get("id") in (None, ""):
            raise Refusal(422, "field 'payload.event.id': missing")
        by_id[str(event["id"])] = event
    return sorted(by_id.values(), key=lambda e: (str(e.get("created_at")), str(e.get("id"))))


# -- Chatwoot --------------------------------------------------------------------------------


CHATWOOT_EVENTS = frozenset(
    {
        "conversation_created",
        "conversation_status_changed",
        "conversation_resolved",
        "conversation_opened",
        "conversation_updated",
        "message_created",
        "message_updated",
    }
)
_ORDER = {"conversation_created": 0}


class Chatwoot(Platform):
    """Conversation and message webhooks (CSAT answers arrive as `message_updated` of the
    survey message). Chatwoot 4.x signs a webhook that has a secret: `X-Chatwoot-Signature:
    sha256=<HMAC-SHA256 of "<X-Chatwoot-Timestamp>.<raw body>">`; older versions sign
    nothing, and the URL token alone authenticates. Its importer reads webhook payloads as
    items, so the folded document is the conversation's payloads, each kept once."""

    name = "chatwoot"

    def check_request(self, conn: Connection, headers: Mapping[str, str], body: bytes) -> None:
        if not conn.signing_secret:
            return
        sent, stamp = headers.get("x-chatwoot-signature"), headers.get("x-chatwoot-timestamp")
        if not sent or not stamp:
            raise Refusal(
                401,
                "missing the X-Chatwoot-Signature or X-Chatwoot-Timestamp header (this "
                "connection has the webhook's secret, so every delivery must be signed)",
                "unsigned",
            )
        mac = hmac.new(conn.signing_secret.encode(), stamp.encode() + b"." + body, hashlib.sha256)
        if not _same_hmac(f"sha256={mac.hexdigest()}", sent):
            raise Refusal(
                401,
                "X-Chatwoot-Signature does not match the body: check the connection's secret",
                "bad_signature",
            )

    def delivery_id(self, headers: Mapping[str, str], body: bytes, payload: dict[str, Any]) -> str:
        sent = headers.get("x-chatwoot-delivery")
        return sent[:128] if sent else body_hash(body)

    def conversation(self, payload: dict[str, Any]) -> str | None:
        event = _key(payload.get("event"), "event")
        if event not in CHATWOOT_EVENTS:
            return None
        if event.startswith("message"):
            parent = payload.get("conversation")
            if isinstance(parent, dict) and parent.get("id") not in (None, ""):
                return str(parent["id"])
            return _key(payload.get("conversation_id"), "conversation.id")
        return _key(payload.get("id"), "id")

    def fold(self, document: dict[str, Any] | None, payload: dict[str, Any]) -> dict[str, Any]:
        payloads = dict((document or {}).get("payloads") or {})
        payloads[body_hash(orjson.dumps(payload, option=orjson.OPT_SORT_KEYS))] = payload
        return {"payloads": payloads}

    def convert(self, document: dict[str, Any]) -> list[dict[str, Any]]:
        items = sorted(document["payloads"].values(), key=_when)
        return ChatwootImporter().convert_items(items)


def _when(payload: dict[str, Any]) -> tuple[float, int, float]:
    """A payload's place on its conversation's timeline: when it happened (a message's
    creation, a change's update time), a new conversation first on ties."""
    for value in (
        payload.get("created_at") if str(payload.get("event")).startswith("message") else None,
        payload.get("updated_at"),
        payload.get("timestamp"),
        payload.get("created_at"),
    ):
        try:
            if value not in (None, "", 0):
                return (
                    moment(value, "time")[1],
                    _ORDER.get(str(payload.get("event")), 1),
                    _number(payload.get("id")),
                )
        except ItemError:
            continue
    return (float("-inf"), 0, _number(payload.get("id")))


PLATFORMS: dict[str, Platform] = {p.name: p for p in (Chatwoot(), Intercom(), LiveChat())}


def platform(name: str) -> Platform:
    """A webhook platform, or a Rasa broker (connect/rasa.py: its events are folded and
    settled as webhooks are, but come from the server's consumers)."""
    if name in PLATFORMS:
        return PLATFORMS[name]
    from chatlens.connect.rasa import BROKERS  # imports this module

    return BROKERS[name]
