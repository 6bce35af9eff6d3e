"""Webhook deliveries of the conversations of the importers' export fixtures, as each
platform sends them while the conversations happen (field structure: tests/data/webhooks/
README.md), and the signing of each platform.

The deliveries of a conversation tell together exactly what its export tells: so the facts
from the export file and from the deliveries, in any order and repeated, must be the same."""

from __future__ import annotations

import copy
import hashlib
import hmac
import random
from typing import Any

import orjson

Delivery = tuple[dict[str, str], bytes]
"""Headers and raw body of one POST."""


# -- signing ---------------------------------------------------------------------------------


def intercom_signed(payload: dict[str, Any], secret: str) -> Delivery:
    body = orjson.dumps(payload)
    digest = hmac.new(secret.encode(), body, hashlib.sha1).hexdigest()
    return {"x-hub-signature": f"sha1={digest}", "content-type": "application/json"}, body


def chatwoot_signed(
    payload: dict[str, Any], secret: str | None, delivery: str, stamp: str = "1793613600"
) -> Delivery:
    body = orjson.dumps(payload)
    headers = {"content-type": "application/json", "x-chatwoot-delivery": delivery}
    if secret is not None:
        mac = hmac.new(secret.encode(), stamp.encode() + b"." + body, hashlib.sha256)
        headers |= {
            "x-chatwoot-signature": f"sha256={mac.hexdigest()}",
            "x-chatwoot-timestamp": stamp,
        }
    return headers, body


def livechat_body(action: str, payload: dict[str, Any], secret: str) -> Delivery:
    envelope = {
        "webhook_id": "b3e8c1f0a1d2",
        "secret_key": secret,
        "action": action,
        "organization_id": "390e44e6-f1e6-0368c-z6ddb-74g14508c2ex",
        "payload": payload,
        "additional_data": {},
    }
    return {"content-type": "application/json"}, orjson.dumps(envelope)


def shuffled_with_repeats(deliveries: list[Delivery], seed: int) -> list[Delivery]:
    """Every delivery once in a random order, and every third one again later."""
    rng = random.Random(seed)
    out = list(deliveries) + deliveries[::3]
    rng.shuffle(out)
    return out


# -- Intercom --------------------------------------------------------------------------------


def intercom_topic(part: dict[str, Any]) -> str:
    kind, author = part.get("part_type"), (part.get("author") or {}).get("type")
    if kind == "comment":
        return (
            "conversation.user.replied"
            if author in ("user", "lead")
            else "conversation.admin.replied"
        )
    return {
        "note": "conversation.admin.noted",
        "close": "conversation.admin.closed",
        "open": "conversation.admin.opened",
    }.get(str(kind), "conversation.admin.assigned")


def intercom_deliveries(conversation: dict[str, Any], secret: str) -> list[Delivery]:
    """conversation.user.created (no parts yet), one notification per part (the conversation
    with that part, as it stood then), and conversation.rating.added after the close."""
    parts = conversation["conversation_parts"]["conversation_parts"]
    top = {k: v for k, v in conversation.items() if k != "conversation_parts"}
    early = {
        **top,
        "tags": {"type": "tag.list", "tags": []},
        "conversation_rating": None,
        "open": True,
        "state": "open",
    }
    out = []

    def notify(topic: str, item: dict[str, Any], at: int, n: int) -> None:
        payload = {
            "type": "notification_event",
            "app_id": "ky0xkd4n",
            "topic": topic,
            "id": f"notif_{conversation['id']}_{n}",
            "created_at": at,
            "delivery_attempts": 1,
            "first_sent_at": at,
            "data": {"type": "notification_event_data", "item": item},
        }
        out.append(intercom_signed(payload, secret))

    first = {
        **early,
        "updated_at": conversation["created_at"],
        "conversation_parts": {
            "type": "conversation_part.list",
            "conversation_parts": [],
            "total_count": 0,
        },
    }
    notify("conversation.user.created", first, conversation["created_at"], 0)
    for n, part in enumerate(parts, 1):
        last = n == len(parts)
        item = {
            **(top if last else early),
            "updated_at": part["created_at"],
            "conversation_parts": {
                "type": "conversation_part.list",
                "conversation_parts": [part],
                "total_count": 1,
            },
        }
        notify(intercom_topic(part), item, part["created_at"], n)
    rating = conversation.get("conversation_rating")
    if rating:  # rated after the close: the conversation updated after it closed
        at = rating.get("updated_at") or rating["created_at"]
        item = {
            **top,
            "updated_at": max(at, conversation["updated_at"]),
            "conversation_parts": {
                "type": "conversation_part.list",
                "conversation_parts": [],
                "total_count": 0,
            },
        }
        notify("conversation.rating.added", item, at, len(parts) + 1)
    return out


# -- Chatwoot --------------------------------------------------------------------------------

MESSAGE_TYPES = {0: "incoming", 1: "outgoing", 2: "activity", 3: "template"}


def chatwoot_deliveries(conversation: dict[str, Any], secret: str | None) -> list[Delivery]:
    """conversation_created, message_created for every message (activity messages included,
    the survey without its answer), message_updated of the survey once answered, and the
    resolve as conversation_status_changed, sent twice (two deliveries of one change)."""
    top = {k: v for k, v in conversation.items() if k != "messages"}
    cid = conversation["id"]
    out = []
    created = {
        **top,
        "event": "conversation_created",
        "status": "open",
        "messages": [],
        "labels": [],
        "updated_at": top["created_at"],
        "meta": {**top["meta"], "assignee": None, "team": None},
    }
    out.append(chatwoot_signed(created, secret, f"{cid}-created"))
    for message in conversation["messages"]:
        payload = {
            **copy.deepcopy(message),
            "event": "message_created",
            "message_type": MESSAGE_TYPES[message["message_type"]],
            "conversation": {**top, "messages": [message]},
        }
        survey = message.get("content_type") == "input_csat"
        if survey:
            answered = copy.deepcopy(payload)
            answered["event"] = "message_updated"
            out.append(chatwoot_signed(answered, secret, f"{cid}-{message['id']}-answered"))
            payload["content_attributes"] = {}
        out.append(chatwoot_signed(payload, secret, f"{cid}-{message['id']}"))
    if conversation.get("status") == "resolved":
        change = {
            **top,
            "event": "conversation_status_changed",
            "messages": [],
            "changed_attributes": [
                {"status": {"previous_value": "open", "current_value": "resolved"}}
            ],
        }
        out.append(chatwoot_signed(change, secret, f"{cid}-resolved-1"))
        out.append(chatwoot_signed(change, secret, f"{cid}-resolved-2"))
    return out


# -- LiveChat --------------------------------------------------------------------------------


def livechat_deliveries(chat: dict[str, Any], secret: str) -> list[Delivery]:
    """incoming_chat with the thread's first event, incoming_event for each later one,
    thread_tagged per tag, thread_properties_updated with the rating, chat_deactivated."""
    thread = chat["thread"]
    events = thread["events"]
    opening = {
        k: v for k, v in thread.items() if k not in ("events", "tags", "active", "properties")
    }
    opening |= {
        "active": True,
        "events": events[:1],
        "properties": {k: v for k, v in (thread.get("properties") or {}).items() if k != "rating"},
    }
    ids = {"chat_id": chat["id"], "thread_id": thread["id"]}
    out = [livechat_body("incoming_chat", {"chat": {**chat, "thread": opening}}, secret)]
    out += [livechat_body("incoming_event", {**ids, "event": e}, secret) for e in events[1:]]
    out += [
        livechat_body("thread_tagged", {**ids, "tag": t}, secret) for t in thread.get("tags") or []
    ]
    rating = (thread.get("properties") or {}).get("rating")
    if rating:
        out.append(
            livechat_body(
                "thread_properties_updated", {**ids, "properties": {"rating": rating}}, secret
            )
        )
    if thread.get("active") is False:
        out.append(
            livechat_body("chat_deactivated", {**ids, "user_id": "anna@shop.example"}, secret)
        )
    return out
