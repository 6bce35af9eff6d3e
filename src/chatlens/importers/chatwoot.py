"""Chatwoot conversations, messages, CSAT responses and webhook payloads as chatlens events.

An item is one of (see docs/importers/chatwoot.md):

- a conversation object, as in `GET /api/v1/accounts/{account_id}/conversations`
  (envelope `{"data": {"meta": ..., "payload": [...]}}`, each with its last message only)
  or with its whole history saved into `messages`;
- a message, as in `GET .../conversations/{id}/messages` (envelope `{"meta", "payload"}`);
- a CSAT survey response, as in `GET .../csat_survey_responses`;
- a webhook payload (`event`: conversation_created, conversation_status_changed,
  conversation_updated, message_created, message_updated; other events carry nothing to count).

Chatwoot records what happened to a conversation as *activity messages* written from
templates (config/locales/en.yml, `conversations.activity`): "Assigned to Aino by Carla",
"Conversation was marked resolved by Aino", "Conversation was reopened by Helper Bot"... Their
meaning depends on the state before them (a reopen from `pending` is the bot handing the chat to
a human; from `resolved` it is a reopen), so every file is read twice: first to put the
messages of each conversation on a timeline and replay it (chatwoot_activity.py), then to
convert each item with what the replay found. The timelines and the names of agents, bots
and teams are kept for the whole `chatlens import` run, so pages of one conversation spread
over several files still see each other (events are always emitted by the file holding
their message).

Event ids come from Chatwoot's ids (`chatwoot:msg:1002`, `chatwoot:conv:42:started`), so a
re-import adds nothing and an overlapping later export adds only what is new.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from chatlens.errors import InputError, ItemError
from chatlens.events.schema import MAX_TEXT_BYTES
from chatlens.importers.base import Importer, Item, Option, event_id, require
from chatlens.importers.chatwoot_activity import (
    Directory,
    Entry,
    Plan,
    Replay,
    parse_activity,
)
from chatlens.ingest.files import Progress, Record

MESSAGE_TYPES = {0: "incoming", 1: "outgoing", 2: "activity", 3: "template"}
MESSAGE_TYPE_NAMES = frozenset(MESSAGE_TYPES.values())

# Sender `type` (push_event_data / webhook_data) and the polymorphic `sender_type` column.
SENDER_TYPES = frozenset({"contact", "user", "agent_bot", "captain_assistant"})
SENDER_CLASSES = {
    "Contact": "contact",
    "User": "user",
    "AgentBot": "agent_bot",
    "Captain::Assistant": "captain_assistant",
}

CHANNELS = {
    "Channel::WebWidget": "web",
    "Channel::Whatsapp": "whatsapp",
    "Channel::FacebookPage": "messenger",
    "Channel::Instagram": "instagram",
    "Channel::Email": "email",
    "Channel::Api": "api",
    "Channel::Telegram": "telegram",
    "Channel::Line": "line",
    "Channel::Sms": "sms",
    "Channel::TwilioSms": "sms",
    "Channel::TwitterProfile": "twitter",
    "Channel::Voice": "phone",
    "Channel::Tiktok": "tiktok",
}

SENDERLESS = ("system", "bot", "agent")
CSAT_SCORES = range(1, 6)


@dataclass
class _Conversation:
    """What the run knows of one conversation besides its events."""

    customer: str | None = None
    channel: str | None = None
    pending_at_start: bool = False
    timeline: dict[str, Entry] = field(default_factory=dict)


# -- the importer ---------------------------------------------------------------------------


class ChatwootImporter(Importer):
    """Chatwoot conversations and messages (API or webhooks), and CSAT survey responses."""

    name = "chatwoot"
    summary = (
        "Chatwoot: conversations and messages from the REST API (list pages, "
        "GET .../conversations/{id}/messages), CSAT survey responses, webhook payloads"
    )
    envelope_keys: ClassVar[tuple[str, ...]] = ("data.payload", "payload")
    options: ClassVar[tuple[Option, ...]] = (
        Option(
            "account",
            "",
            "Chatwoot account id; when set, conversation ids become ACCOUNT:DISPLAY_ID (for "
            "several accounts in one store)",
        ),
        Option(
            "senderless",
            "system",
            "sender of outgoing messages without a sender (Dialogflow bots, automation rules, "
            "replies sent from the phone app): system (not counted), bot or agent",
        ),
    )

    def __init__(self, settings: dict[str, str] | None = None):
        super().__init__(settings)
        if self.settings["senderless"] not in SENDERLESS:
            raise InputError(
                f"--option senderless={self.settings['senderless']}: expected one of "
                + ", ".join(SENDERLESS)
            )
        account = self.settings["account"].strip()
        self.account = account or None
        self.names = Directory()
        self.conversations: dict[str, _Conversation] = {}
        self.plans: dict[str, Plan] = {}
        self.statuses: dict[str, str] = {}  # last status seen in a webhook, per conversation
        self.started: set[str] = set()  # ids of the conversation starts emitted this run

    # -- reading a file: scan, replay, convert ----------------------------------------------

    def records(self, path: Path, progress: Progress | None = None) -> Iterator[Record]:
        self.prepare(item.data for item in self.scan_items(path) if isinstance(item, Item))
        return self._convert_all(self.items(path, progress))

    def prepare(self, items: Iterable[dict[str, Any]]) -> None:
        """Pass 1 over a file's items or a conversation's webhook deliveries: the
        timelines and the names, then each touched conversation's replay."""
        touched: set[str] = set()
        for item in items:
            self._scan(item, touched)
        for conv in touched:
            known = self.conversations[conv]
            self.plans[conv] = Replay(self.names, known.pending_at_start).run(
                known.timeline.values()
            )

    def unwrap(self, document: Any) -> list[Any] | None:
        """As the base class; also keeps what a messages page's `meta` says of its
        conversation (the contact, the assignee) for the messages that lack it."""
        items = super().unwrap(document)
        meta = document.get("meta") if isinstance(document, dict) else None
        if isinstance(meta, dict) and isinstance(document.get("payload"), list) and items:
            contact = meta.get("contact")
            customer = _id(contact.get("id")) if isinstance(contact, dict) else None
            customer = customer or _id(meta.get("contact_id"))
            self._learn_person(meta.get("assignee"))
            for message in items:
                if isinstance(message, dict) and customer and message.get("conversation_id"):
                    known = self._known(message["conversation_id"])
                    known.customer = known.customer or customer
        return items

    # -- naming --------------------------------------------------------------------------

    def ref(self, item: dict[str, Any]) -> str | None:
        kind = _kind(item)
        value = item.get("id")
        what = {
            "message": "message",
            "csat": "CSAT response",
            "conversation": "conversation",
        }.get(kind, "item")
        if kind == "webhook":
            event = item.get("event")
            what = f"{event} " + ("message" if str(event).startswith("message") else "conversation")
        return f"{what} {value}" if value not in (None, "") else None

    def conversation_id(self, display_id: Any) -> str:
        return f"{self.account}:{display_id}" if self.account else str(display_id)

    def eid(self, *parts: object) -> str:
        prefix = ("chatwoot", self.account) if self.account else ("chatwoot",)
        return event_id(*prefix, *parts)

    # -- pass 1: the timelines and the names --------------------------------------------------

    def _known(self, display_id: Any) -> _Conversation:
        conv = self.conversation_id(display_id)
        return self.conversations.setdefault(conv, _Conversation())

    def _learn_person(self, person: Any) -> None:
        if not isinstance(person, dict) or not person.get("name") or person.get("id") is None:
            return
        kind = person.get("type")
        if kind == "user":
            self.names.agents[str(person["name"])] = str(person["id"])
        elif kind in ("agent_bot", "captain_assistant"):
            self.names.bots[str(person["name"])] = _bot_id(kind, person["id"])

    def _scan(self, item: dict[str, Any], touched: set[str]) -> None:
        """Learn what an item says (never raises: bad items are reported in pass 2)."""
        try:
            kind = _kind(item)
            if kind == "webhook":
                parent = item.get("conversation")
                if str(item.get("event")).startswith("message"):
                    self._scan_message(item, parent if isinstance(parent, dict) else None, touched)
                elif str(item.get("event")).startswith("conversation"):
                    self._scan_conversation(item, touched)
                    if item.get("event") == "conversation_created" and item.get("status") == (
                        "pending"
                    ):
                        self._known(item["id"]).pending_at_start = True
            elif kind == "message":
                self._scan_message(item, None, touched)
            elif kind == "csat":
                self._learn_person(item.get("assigned_agent"))
            elif kind == "conversation":
                self._scan_conversation(item, touched)
        except (ItemError, TypeError, ValueError, KeyError, AttributeError):
            return

    def _scan_conversation(self, item: dict[str, Any], touched: set[str]) -> None:
        if item.get("id") is None:
            return
        known = self._known(item["id"])
        known.customer = known.customer or _conversation_customer(item)
        known.channel = known.channel or _channel(item)
        meta = item.get("meta")
        meta = meta if isinstance(meta, dict) else {}
        team = meta.get("team")
        if isinstance(team, dict) and team.get("name"):
            self.names.teams.add(str(team["name"]))
        self._learn_person(meta.get("assignee"))
        messages = item.get("messages")
        for message in messages if isinstance(messages, list) else []:
            if isinstance(message, dict):
                self._scan_message(message, item, touched)

    def _scan_message(
        self, message: dict[str, Any], parent: dict[str, Any] | None, touched: set[str]
    ) -> None:
        display = message.get("conversation_id")
        if display is None and parent is not None:
            display = parent.get("id")
        if display is None or message.get("id") is None:
            return
        known = self._known(display)
        conv = self.conversation_id(display)
        sender = _sender(message)
        self._learn_person(sender)
        mtype = _message_type(message.get("message_type"), "message_type")
        if mtype == "incoming" and sender and sender.get("type") == "contact":
            known.customer = known.customer or _id(sender.get("id"))
        if parent is not None:
            known.customer = known.customer or _conversation_customer(parent)
            known.channel = known.channel or _channel(parent)
        ts, seconds = moment(message.get("created_at"), "created_at")
        kind = self._author_kind(mtype, sender)
        if message.get("private") is True:
            kind = "private"
        activity = parse_activity(message.get("content")) if mtype == "activity" else None
        entry = Entry(str(message["id"]), ts, (seconds, _number(message["id"])), kind, activity)
        known.timeline[entry.message] = entry
        touched.add(conv)

    def _author_kind(self, mtype: str, sender: dict[str, Any] | None) -> str:
        if mtype in ("activity", "template"):
            return "activity" if mtype == "activity" else "system"
        if mtype == "incoming":
            return "customer"
        kind = sender.get("type") if sender else None
        if kind == "user":
            return "agent"
        if kind in ("agent_bot", "captain_assistant"):
            return "bot"
        if kind == "contact":
            return "customer"
        return self.settings["senderless"]

    # -- pass 2: events ----------------------------------------------------------------------

    def convert(self, item: dict[str, Any]) -> Iterator[dict[str, Any]]:
        events = self._events(item)
        # Every webhook payload embeds its conversation: its start is emitted once a run.
        fresh = [
            e
            for e in events
            if e["type"] != "conversation_started" or e["event_id"] not in self.started
        ]
        self.started.update(e["event_id"] for e in fresh if e["type"] == "conversation_started")
        return iter(fresh)

    def _events(self, item: dict[str, Any]) -> list[dict[str, Any]]:
        kind = _kind(item)
        if kind == "webhook":
            return self._webhook(item)
        if kind == "message":
            return self._message(item, None, "")
        if kind == "csat":
            return self._csat(item)
        if kind == "conversation":
            return self._conversation(item)
        raise ItemError(
            "(item)",
            "not a Chatwoot conversation, message, CSAT survey response or webhook payload "
            "(no id with messages/meta/status, message_type, rating or event)",
        )

    def _envelope(self, conv: str, event: dict[str, Any]) -> dict[str, Any]:
        """Add the conversation-level fields the run knows of."""
        known = self.conversations.get(conv)
        out = {"conversation_id": conv, **event}
        if known is not None:
            if known.customer and "customer_id" not in out:
                out["customer_id"] = known.customer
            if known.channel and "channel" not in out:
                out["channel"] = known.channel
        return out

    def _conversation(
        self, item: dict[str, Any], webhook: str | None = None
    ) -> list[dict[str, Any]]:
        display = require(item, "id")
        conv = self.conversation_id(display)
        events: list[dict[str, Any]] = []
        started = self._started(item, conv, required=webhook is None)
        if started is not None:
            events.append(started)
        messages = item.get("messages")
        if messages is not None and not isinstance(messages, list):
            raise ItemError("messages", "expected a list of messages")
        for n, message in enumerate(messages or []):
            if not isinstance(message, dict):
                raise ItemError(f"messages[{n}]", "expected a message object")
            events.extend(self._message(message, item, f"messages[{n}]."))
        if webhook is None:
            events.extend(self._snapshot_state(item, conv, started))
        return events

    def _started(self, item: dict[str, Any], conv: str, required: bool) -> dict[str, Any] | None:
        created = item.get("created_at")
        if created in (None, "", 0) and not required:
            return None  # older webhook payloads carry no creation time
        ts, _ = moment(created, "created_at")
        meta = _dict(item, "meta")
        team = _dict(meta, "meta.team").get("name") or None
        referer = _dict(item, "additional_attributes").get("referer")
        page_url = referer if isinstance(referer, str) and 0 < len(referer) <= 2048 else None
        inbox = item.get("inbox_id")
        event = {
            "event_id": self.eid("conv", item["id"], "started"),
            "type": "conversation_started",
            "ts": ts,
            "customer_id": _conversation_customer(item),
            "channel": _channel(item),
            "team": str(team) if team else None,
            "page_url": page_url,
            "attrs": {"inbox_id": str(inbox)} if inbox is not None else None,
        }
        return self._envelope(conv, _compact(event))

    def _snapshot_state(
        self, item: dict[str, Any], conv: str, started: dict[str, Any] | None
    ) -> list[dict[str, Any]]:
        """What a conversation object's current state says that the activity messages
        seen for it did not: a resolved status, and its labels."""
        events: list[dict[str, Any]] = []
        plan = self.plans.get(conv, Plan())
        if item.get("status") == "resolved" and not plan.closed:
            last = item.get("last_activity_at") or item.get("timestamp")
            ts, _ = moment(last, "last_activity_at")
            outcome = "resolved" if plan.human or not plan.bot_seen else None
            event = {
                "event_id": self.eid("conv", item["id"], "resolved", ts[:19]),
                "type": "conversation_closed",
                "ts": ts,
                "resolution": outcome,
            }
            events.append(self._envelope(conv, _compact(event)))
        labels = item.get("labels")
        if labels is not None and not isinstance(labels, list):
            raise ItemError("labels", "expected a list of label titles")
        for label in labels or []:
            if not isinstance(label, str) or not label:
                raise ItemError("labels", f"not a label title: {label!r}")
            ts = started["ts"] if started else moment(item.get("created_at"), "created_at")[0]
            event = {
                "event_id": self.eid("conv", item["id"], "label", label),
                "type": "tag_added",
                "ts": ts,
                "tag": label,
            }
            events.append(self._envelope(conv, event))
        return events

    def _message(
        self, message: dict[str, Any], parent: dict[str, Any] | None, where: str
    ) -> list[dict[str, Any]]:
        msg_id = require(message, "id", f"{where}id")
        display = message.get("conversation_id")
        if display is None and parent is not None:
            display = parent.get("id")
        if display is None:
            raise ItemError(f"{where}conversation_id", "missing")
        conv = self.conversation_id(display)
        mtype = _message_type(message.get("message_type"), f"{where}message_type")
        ts, _ = moment(message.get("created_at"), f"{where}created_at")
        derived = self._derived(conv, str(msg_id))
        if mtype == "activity":
            return derived
        sender = _sender(message, f"{where}sender")
        kind = self._author_kind(mtype, sender)
        event: dict[str, Any] = {
            "event_id": self.eid("msg", msg_id),
            "type": "message",
            "ts": ts,
            "sender": kind,
            "text": _text(message.get("content")),
        }
        if message.get("private") is True:
            event["private"] = True
            event["sender"] = "agent" if kind in ("agent", "system") else kind
        sender_id = _id(sender.get("id")) if sender else None
        if kind == "customer" and sender and sender.get("type") == "contact":
            event["customer_id"] = sender_id
        elif kind == "agent" and sender and sender.get("type") == "user":
            event["agent_id"] = sender_id
        elif kind == "bot" and sender and sender_id:
            event["bot_id"] = _bot_id(sender.get("type"), sender_id)
        if parent is not None:
            event.setdefault("customer_id", _conversation_customer(parent))
            event["channel"] = _channel(parent)
        events = [self._envelope(conv, _compact(event))]
        events.extend(self._rating_of(message, conv, ts, where))
        return [*events, *derived]

    def _derived(self, conv: str, msg_id: str) -> list[dict[str, Any]]:
        """The events the replay found for a message, with their ids and envelope."""
        out = []
        for planned in self.plans.get(conv, Plan()).events.get(msg_id, []):
            event = {k: v for k, v in planned.items() if k != "_key"}
            event = {"event_id": self.eid(*planned["_key"]), **event}
            out.append(self._envelope(conv, event))
        return out

    def _rating_of(
        self, message: dict[str, Any], conv: str, ts: str, where: str
    ) -> list[dict[str, Any]]:
        """The CSAT answer stored on an `input_csat` survey message, if any."""
        if message.get("content_type") != "input_csat":
            return []
        attributes = message.get("content_attributes")
        submitted = attributes.get("submitted_values") if isinstance(attributes, dict) else None
        response = submitted.get("csat_survey_response") if isinstance(submitted, dict) else None
        if not isinstance(response, dict) or response.get("rating") in (None, ""):
            return []
        path = f"{where}content_attributes.submitted_values.csat_survey_response"
        score = _csat_score(response.get("rating"), f"{path}.rating")
        event = {
            "event_id": self.eid("csat", message["id"]),
            "type": "rating",
            "ts": ts,
            "kind": "csat",
            "score": score,
            "comment": _text(response.get("feedback_message")),
        }
        return [self._envelope(conv, _compact(event))]

    def _csat(self, item: dict[str, Any]) -> list[dict[str, Any]]:
        display = require(item, "conversation_id")
        conv = self.conversation_id(display)
        score = _csat_score(item.get("rating"), "rating")
        ts, _ = moment(item.get("created_at"), "created_at")
        contact = _dict(item, "contact")
        agent = _dict(item, "assigned_agent")
        message = item.get("message_id")
        key = (
            ("csat", message) if message is not None else ("csat", "response", require(item, "id"))
        )
        event = {
            "event_id": self.eid(*key),
            "type": "rating",
            "ts": ts,
            "kind": "csat",
            "score": score,
            "comment": _text(item.get("feedback_message")),
            "customer_id": _id(contact.get("id")),
            "agent_id": _id(agent.get("id")),
        }
        return [self._envelope(conv, _compact(event))]

    # -- webhooks ------------------------------------------------------------------------------

    def _webhook(self, item: dict[str, Any]) -> list[dict[str, Any]]:
        event = item.get("event")
        if event in ("message_created", "message_updated"):
            parent = item.get("conversation")
            if parent is not None and not isinstance(parent, dict):
                raise ItemError("conversation", "expected a conversation object")
            events = []
            if parent and parent.get("id") is not None:
                conv = self.conversation_id(parent["id"])
                try:
                    started = self._started(parent, conv, required=False)
                except ItemError as exc:
                    raise ItemError(f"conversation.{exc.field}", exc.message) from None
                events = [started] if started else []
            return [*events, *self._message(item, parent, "")]
        if event == "conversation_created":
            if item.get("id") is not None and item.get("status"):
                self.statuses[self.conversation_id(item["id"])] = str(item["status"])
            events = self._conversation(item, webhook="created")
            return events + self._created_assignee(item)
        if event in ("conversation_status_changed", "conversation_resolved", "conversation_opened"):
            return self._conversation(item, webhook="status") + self._status_change(item)
        if event == "conversation_updated":
            return self._conversation(item, webhook="updated") + self._updates(item)
        return []  # contact_*, conversation_typing_*, webwidget_triggered...: nothing to count

    def _changes(self, item: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
        """`changed_attributes` ([{attr: {previous_value, current_value}}]) as a dict."""
        raw = item.get("changed_attributes")
        if raw is None:
            return {}
        listed = [raw] if isinstance(raw, dict) else raw
        if not isinstance(listed, list):
            raise ItemError("changed_attributes", "expected a list of changes")
        out: dict[str, tuple[Any, Any]] = {}
        for n, change in enumerate(listed):
            if not isinstance(change, dict):
                raise ItemError(f"changed_attributes[{n}]", "expected an object")
            for key, values in change.items():
                if isinstance(values, dict):
                    out[key] = (values.get("previous_value"), values.get("current_value"))
        return out

    def _change_time(self, item: dict[str, Any], changes: dict[str, tuple[Any, Any]]) -> str:
        """When the change happened: the new `updated_at`, else the last activity."""
        if changes.get("updated_at", (None, None))[1]:
            return moment(changes["updated_at"][1], "changed_attributes.updated_at")[0]
        if item.get("updated_at"):
            return moment(item["updated_at"], "updated_at")[0]
        return moment(item.get("timestamp") or item.get("last_activity_at"), "timestamp")[0]

    def _status_change(self, item: dict[str, Any]) -> list[dict[str, Any]]:
        display = item["id"]
        conv = self.conversation_id(display)
        changes = self._changes(item)
        before, now = changes.get("status", (self.statuses.get(conv), item.get("status")))
        if item.get("event") == "conversation_resolved":
            now = "resolved"
        if now is None:
            raise ItemError("status", "missing")
        self.statuses[conv] = str(now)
        known = self.conversations.get(conv)
        if known is not None and any(e.kind == "activity" for e in known.timeline.values()):
            # its activity messages ("marked resolved by Aino") are the record of its status
            # changes, replayed with their meaning: the change says nothing more (as an
            # export of the conversation, which has no status changes, says)
            return []
        ts = self._change_time(item, changes)
        base = {"event_id": self.eid("conv", display, "status", now, ts[:19]), "ts": ts}
        team = _dict(_dict(item, "meta"), "meta.team").get("name") or None
        if now == "resolved" and before != "resolved":
            event = {**base, "type": "conversation_closed", "resolution": "resolved"}
        elif before == "resolved" and now in ("open", "pending", "snoozed"):
            event = {**base, "type": "conversation_reopened"}
        elif before == "pending" and now == "open":
            event = {**base, "type": "handoff_requested"}
        else:
            return []
        return [self._envelope(conv, _compact({**event, "team": team}))]

    def _updates(self, item: dict[str, Any]) -> list[dict[str, Any]]:
        display = item["id"]
        conv = self.conversation_id(display)
        changes = self._changes(item)
        events: list[dict[str, Any]] = []
        if not changes:
            return events
        ts = self._change_time(item, changes)
        stamp = ts[:19]  # to the second: payloads give updated_at in varying precision
        meta = _dict(item, "meta")
        team_name = _dict(meta, "meta.team").get("name") or None
        if "assignee_id" in changes:
            before, now = (_id(v) for v in changes["assignee_id"])
            if now is not None and now != before:
                base = {
                    "event_id": self.eid("conv", display, "assignee", now, stamp),
                    "ts": ts,
                    "agent_id": now,
                    "team": team_name,
                }
                if before is None:
                    events.append({**base, "type": "agent_joined"})
                else:
                    events.append({**base, "type": "transferred", "from_agent_id": before})
        if "team_id" in changes and "assignee_id" not in changes:
            before, now = (_id(v) for v in changes["team_id"])
            if before is not None and now is not None and now != before and team_name:
                events.append(
                    {
                        "event_id": self.eid("conv", display, "team", now, stamp),
                        "type": "transferred",
                        "ts": ts,
                        "team": team_name,
                        "from_agent_id": _id(_dict(meta, "meta.assignee").get("id")),
                    }
                )
        for key in ("label_list", "cached_label_list"):
            if key in changes:
                before_labels, now_labels = (_labels(v) for v in changes[key])
                for label in sorted(now_labels - before_labels):
                    key_id = self.eid("conv", display, "label", label, "added", stamp)
                    events.append({"event_id": key_id, "type": "tag_added", "ts": ts, "tag": label})
                for label in sorted(before_labels - now_labels):
                    key_id = self.eid("conv", display, "label", label, "removed", stamp)
                    events.append(
                        {"event_id": key_id, "type": "tag_removed", "ts": ts, "tag": label}
                    )
                break
        out = [self._envelope(conv, _compact(e)) for e in events]
        if "status" in changes:  # same ids as the conversation_status_changed payload's
            out.extend(self._status_change(item))
        return out

    def _created_assignee(self, item: dict[str, Any]) -> list[dict[str, Any]]:
        """An assignee already on a new conversation (auto-assignment) picked it up then."""
        meta = _dict(item, "meta")
        assignee = _dict(meta, "meta.assignee")
        if assignee.get("type") not in (None, "user") or assignee.get("id") is None:
            return []
        if item.get("created_at") in (None, "", 0):
            return []
        ts, _ = moment(item["created_at"], "created_at")
        agent = str(assignee["id"])
        event = {
            "event_id": self.eid("conv", item["id"], "assignee", agent, "created"),
            "type": "agent_joined",
            "ts": ts,
            "agent_id": agent,
            "team": _dict(meta, "meta.team").get("name") or None,
        }
        return [self._envelope(self.conversation_id(item["id"]), _compact(event))]


# -- field helpers ----------------------------------------------------------------------------


def _kind(item: dict[str, Any]) -> str:
    """webhook, message, csat, conversation or unknown."""
    if "event" in item:
        return "webhook"
    if "message_type" in item:
        return "message"
    if "rating" in item and ("feedback_message" in item or "message_id" in item):
        return "csat"
    if "messages" in item or isinstance(item.get("meta"), dict) or "status" in item:
        return "conversation"
    return "unknown"


def moment(value: Any, field_name: str) -> tuple[str, float]:
    """A Chatwoot time as (RFC 3339 UTC, Unix seconds). The API gives Unix seconds, webhooks
    ISO 8601 ("2021-07-23T18:02:48.000Z") or Rails' "2020-03-03 13:05:57 UTC"."""
    if value is None or value == "" or isinstance(value, bool):
        raise ItemError(field_name, "missing" if not isinstance(value, bool) else "not a time")
    if isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str):
        text = value.strip()
        try:
            seconds = float(text)
        except ValueError:
            seconds = _iso_seconds(text, field_name)
    else:
        raise ItemError(field_name, f"not a time: {value!r}")
    try:
        when = dt.datetime.fromtimestamp(seconds, tz=dt.UTC)
    except (OverflowError, OSError, ValueError):
        raise ItemError(field_name, f"out of range: {value!r}") from None
    return when.isoformat().replace("+00:00", "Z"), seconds


def _iso_seconds(text: str, field_name: str) -> float:
    cleaned = text[:-4] + "+00:00" if text.endswith(" UTC") else text
    cleaned = cleaned.replace("Z", "+00:00").replace(" ", "T", 1)
    try:
        when = dt.datetime.fromisoformat(cleaned)
    except ValueError:
        raise ItemError(field_name, f"not a Unix time or ISO 8601 timestamp: {text!r}") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return when.timestamp()


def _message_type(value: Any, field_name: str) -> str:
    """message_type as a name: the API gives 0-3, webhooks the enum's name."""
    if isinstance(value, int) and not isinstance(value, bool) and value in MESSAGE_TYPES:
        return MESSAGE_TYPES[value]
    if isinstance(value, str):
        if value in MESSAGE_TYPE_NAMES:
            return value
        if value.isdigit() and int(value) in MESSAGE_TYPES:
            return MESSAGE_TYPES[int(value)]
    if value is None:
        raise ItemError(field_name, "missing")
    raise ItemError(
        field_name, f"unknown message type {value!r}; expected 0-3 or incoming, outgoing, ..."
    )


def _sender(message: dict[str, Any], field_name: str = "sender") -> dict[str, Any] | None:
    """The message's sender with its `type` (from `sender_type` when the object lacks it)."""
    sender = message.get("sender")
    if sender is not None and not isinstance(sender, dict):
        raise ItemError(field_name, "expected an object {id, name, type}")
    kind = sender.get("type") if sender else None
    if kind is None:
        kind = SENDER_CLASSES.get(str(message.get("sender_type")))
    if kind is None and not sender and message.get("sender_id") is None:
        return None
    if kind is not None and kind not in SENDER_TYPES:
        raise ItemError(
            f"{field_name}.type",
            f"unknown sender type {kind!r}; expected one of {', '.join(sorted(SENDER_TYPES))}",
        )
    out = dict(sender or {})
    out["type"] = kind
    if out.get("id") is None and message.get("sender_id") is not None:
        out["id"] = message["sender_id"]
    return out


def _conversation_customer(item: dict[str, Any]) -> str | None:
    meta = item.get("meta")
    sender = meta.get("sender") if isinstance(meta, dict) else None
    if isinstance(sender, dict) and sender.get("type") in (None, "contact"):
        found = _id(sender.get("id"))
        if found:
            return found
    contact_inbox = item.get("contact_inbox")
    if isinstance(contact_inbox, dict):
        return _id(contact_inbox.get("contact_id"))
    return None


def _channel(item: dict[str, Any]) -> str | None:
    """The channel of a conversation object, from its inbox's channel_type."""
    meta = item.get("meta")
    kind = item.get("channel") or (meta.get("channel") if isinstance(meta, dict) else None)
    if not isinstance(kind, str) or not kind:
        return None
    attributes = item.get("additional_attributes")
    if isinstance(attributes, dict) and attributes.get("type") == "instagram_direct_message":
        return "instagram"  # Instagram through a Facebook page inbox
    contact_inbox = item.get("contact_inbox")
    source = contact_inbox.get("source_id") if isinstance(contact_inbox, dict) else None
    if kind == "Channel::TwilioSms" and str(source or "").startswith("whatsapp:"):
        return "whatsapp"  # Twilio's WhatsApp medium
    if kind in CHANNELS:
        return CHANNELS[kind]
    name = kind.removeprefix("Channel::")
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()[:64] or None


def _bot_id(kind: Any, value: Any) -> str:
    return f"captain-{value}" if kind == "captain_assistant" else str(value)


def _csat_score(value: Any, field_name: str) -> int:
    try:
        score = int(value)
    except (TypeError, ValueError):
        score = 0
    if isinstance(value, bool) or score not in CSAT_SCORES or float(value) != score:
        raise ItemError(field_name, f"not a CSAT rating from 1 to 5: {value!r}")
    return score


def _labels(value: Any) -> set[str]:
    if isinstance(value, list):
        return {str(v) for v in value if v}
    if isinstance(value, str):
        return {part.strip() for part in value.split(",") if part.strip()}
    return set()


def _text(value: Any) -> str | None:
    """Message text, cut to chatlens' 64 KiB limit (long emails) on a character boundary."""
    if not isinstance(value, str) or not value:
        return None
    data = value.encode("utf-8", "surrogatepass")
    if len(data) <= MAX_TEXT_BYTES:
        return value
    return data[:MAX_TEXT_BYTES].decode("utf-8", "ignore")


def _dict(item: dict[str, Any], field_name: str) -> dict[str, Any]:
    key = field_name.rsplit(".", 1)[-1]
    value = item.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ItemError(field_name, "expected an object")
    return value


def _id(value: Any) -> str | None:
    return None if value is None or value == "" else str(value)


def _number(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def _compact(event: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in event.items() if v is not None}
