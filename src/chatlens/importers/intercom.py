"""Intercom conversations (REST API 2.11+) as chatlens events.

An item is one conversation object as the API returns it: from `GET /conversations/{id}`
(with its `conversation_parts`), or inside a `conversation.list` page of `GET /conversations`
or `POST /conversations/search` (those carry no parts). See docs/importers/intercom.md.

The parts are replayed in order, keeping track of the assignee and of whether the
conversation is closed, because Intercom records actions ("assigned to Ben", "closed", a
reply on a closed conversation) and chatlens wants their meaning (pickup, transfer, reopen).
Event ids come from Intercom's ids (`intercom:<conversation>:part:<part id>`), and every
event of a part depends only on the parts before it, so a later export of a grown
conversation adds only its new parts.

Message bodies are HTML. They are turned into text with the standard library's
`html.parser`: it tolerates broken markup and unescapes entities, and Intercom bodies are
simple (paragraphs, line breaks, links, lists, emphasis), so a third-party HTML library
would add a dependency for nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from html.parser import HTMLParser
from typing import Any, ClassVar

from chatlens.errors import ItemError
from chatlens.importers.base import Importer, epoch_seconds, event_id, require

CUSTOMER_AUTHORS = frozenset({"user", "lead", "contact"})
AUTHOR_TYPES = CUSTOMER_AUTHORS | {"admin", "bot", "team"}

# delivered_as -> initiated_by; everything but the customer's own message is proactive.
INITIATED_BY = {
    "customer_initiated": "customer",
    "admin_initiated": "business",
    "automated": "business",
    "campaigns_initiated": "business",
    "operator_initiated": "business",
}
# Outbound messages nobody wrote live (Series, legacy campaigns): not an agent's answer.
AUTOMATED_OUTBOUND = frozenset({"automated", "campaigns_initiated"})

# source.type -> channel. "conversation" is a chat in the Intercom Messenger.
CHANNELS = {
    "conversation": "web",
    "facebook": "messenger",
    "phone_call": "phone",
    "phone_switch": "phone",
}

ASSIGNMENT_PARTS = frozenset(
    {
        "assignment",
        "default_assignment",
        "away_mode_assignment",
        "assign_and_reopen",
        "assign_and_unsnooze",
    }
)
REOPEN_PARTS = frozenset({"open", "assign_and_reopen"})
MESSAGE_PARTS = frozenset({"comment", "note"})


class IntercomImporter(Importer):
    """Intercom conversations with their parts, ratings and tags."""

    name = "intercom"
    summary = (
        "Intercom conversations: GET /conversations/{id} responses, or conversation.list "
        "pages of GET /conversations and POST /conversations/search"
    )
    envelope_keys: ClassVar[tuple[str, ...]] = ("conversations",)

    def ref(self, item: dict[str, Any]) -> str | None:
        value = item.get("id")
        return f"conversation {value}" if value not in (None, "") else None

    def convert(self, item: dict[str, Any]) -> Iterator[dict[str, Any]]:
        return iter(_Conversation(item).events())


class _Conversation:
    """One conversation being converted: the replay state of its parts."""

    def __init__(self, item: dict[str, Any]):
        self.item = item
        self.id = str(require(item, "id"))
        self.started = epoch_seconds(item.get("created_at"), "created_at")
        self.customer = _customer(item)
        self.agent: str | None = None  # the admin the conversation is assigned to now
        self.closed = False
        self.bot_spoke = False
        self.out: list[dict[str, Any]] = []

    def emit(self, key: tuple[object, ...], type_: str, ts: str, **fields: Any) -> None:
        event = {
            "event_id": event_id("intercom", self.id, *key),
            "type": type_,
            "ts": ts,
            "conversation_id": self.id,
        }
        event.update({k: v for k, v in fields.items() if v is not None})
        self.out.append(event)

    def events(self) -> list[dict[str, Any]]:
        self.start()
        for where, part in _parts(self.item):
            self.part(where, part)
        self.tags()
        self.rating()
        return self.out

    # -- the first message ------------------------------------------------------------------

    def start(self) -> None:
        source = _object(self.item, "source")
        delivered_as = source.get("delivered_as")
        self.emit(
            ("start",),
            "conversation_started",
            self.started,
            customer_id=self.customer,
            channel=_channel(source.get("type")),
            initiated_by=INITIATED_BY.get(delivered_as or ""),
            page_url=source.get("url") or None,
            team=_id(self.item.get("team_assignee_id")),
        )
        if not source:
            return
        author = _author(source, "source.author")
        fields = self.sender(author, "source.author")
        if delivered_as in AUTOMATED_OUTBOUND and fields["sender"] == "agent":
            fields = {"sender": "system"}
        if author["type"] == "team":
            fields = {"sender": "system"}
        self.bot_spoke = fields["sender"] == "bot"
        key = ("source", source["id"]) if source.get("id") else ("source",)
        self.emit(key, "message", self.started, text=html_to_text(source.get("body")), **fields)

    # -- the parts --------------------------------------------------------------------------

    def part(self, where: str, part: dict[str, Any]) -> None:
        part_id = str(require(part, "id", f"{where}.id"))
        kind = part.get("part_type")
        ts = epoch_seconds(part.get("created_at"), f"{where}.created_at")
        key: tuple[object, ...] = ("part", part_id)
        raw_author = part.get("author")
        actor: dict[str, Any] = raw_author if isinstance(raw_author, dict) else {}
        author_type = actor.get("type")  # checked only where a part needs its author
        if (
            self.closed
            and kind != "close"
            and (kind in REOPEN_PARTS or part.get("state") in ("open", "snoozed"))
        ):
            self.closed = False
            self.emit((*key, "reopen"), "conversation_reopened", ts)
        if kind in MESSAGE_PARTS:
            author = _author(part, f"{where}.author")
            fields = self.sender(author, f"{where}.author")
            private = True if kind == "note" else None
            if fields["sender"] == "bot" and not private:
                self.bot_spoke = True
            text = html_to_text(part.get("body"))
            self.emit(key, "message", ts, text=text, private=private, **fields)
        elif kind in ASSIGNMENT_PARTS:
            self.assignment(key, ts, part, author_type, where)
        elif kind == "close":
            self.closed = True
            by = _resolved_by(actor)
            closer = _id(actor.get("id")) if by == "agent" and author_type == "admin" else None
            self.emit(
                key,
                "conversation_closed",
                ts,
                resolution="resolved",
                resolved_by=by,
                agent_id=closer,
            )
        # snoozed, unsnoozed, attribute updates, participants...: nothing to count

    def assignment(
        self,
        key: tuple[object, ...],
        ts: str,
        part: dict[str, Any],
        author_type: str | None,
        where: str,
    ) -> None:
        target = part.get("assigned_to")
        if target is not None and not isinstance(target, dict):
            raise ItemError(f"{where}.assigned_to", "expected an object {type, id}")
        target_type = (target or {}).get("type")
        target_id = _id((target or {}).get("id"))
        if target_type not in ("admin", "team") or target_id in (None, "0"):
            self.agent = None  # assigned to nobody
            return
        team = target_id if target_type == "team" else None
        if author_type == "bot" and self.bot_spoke:
            self.emit((*key, "handoff"), "handoff_requested", ts, team=team)
        if target_type == "team":
            if self.agent is not None:
                self.emit(key, "transferred", ts, team=team, from_agent_id=self.agent)
                self.agent = None
            return
        if self.agent is None:
            self.emit(key, "agent_joined", ts, agent_id=target_id)
        elif self.agent != target_id:
            self.emit(key, "transferred", ts, agent_id=target_id, from_agent_id=self.agent)
        self.agent = target_id

    # -- tags and rating --------------------------------------------------------------------

    def tags(self) -> None:
        tags = self.item.get("tags")
        listed = tags.get("tags") if isinstance(tags, dict) else tags
        if listed is None:
            return
        if not isinstance(listed, list):
            raise ItemError("tags.tags", "expected a list of tags")
        for n, tag in enumerate(listed):
            where = f"tags.tags[{n}]"
            if not isinstance(tag, dict):
                raise ItemError(where, "expected a tag object")
            tag_id = require(tag, "id", f"{where}.id")
            name = require(tag, "name", f"{where}.name")
            applied = tag.get("applied_at")
            ts = epoch_seconds(applied, f"{where}.applied_at") if applied else self.started
            by = tag.get("applied_by")
            agent = (
                _id(by.get("id")) if isinstance(by, dict) and by.get("type") == "admin" else None
            )
            self.emit(("tag", tag_id), "tag_added", ts, tag=str(name), agent_id=agent)

    def rating(self) -> None:
        rating = self.item.get("conversation_rating")
        if not isinstance(rating, dict) or rating.get("rating") is None:
            return
        when = rating.get("updated_at") or rating.get("created_at")
        ts = epoch_seconds(when, "conversation_rating.created_at")
        contact = rating.get("contact")
        teammate = rating.get("teammate")
        self.emit(
            ("rating",),
            "rating",
            ts,
            kind="csat",
            score=rating["rating"],
            comment=rating.get("remark") or None,
            customer_id=(_id(contact.get("id")) if isinstance(contact, dict) else None)
            or self.customer,
            agent_id=_id(teammate.get("id")) if isinstance(teammate, dict) else None,
        )

    # -- who wrote it -----------------------------------------------------------------------

    def sender(self, author: dict[str, Any], where: str) -> dict[str, Any]:
        """The sender fields of a message by `author` (type already checked)."""
        kind = author["type"]
        if author.get("from_ai_agent") is True or kind == "bot":
            return {"sender": "bot", "bot_id": _id(author.get("id"))}
        if kind in CUSTOMER_AUTHORS:
            return {"sender": "customer", "customer_id": _id(author.get("id")) or self.customer}
        if kind == "admin":
            return {"sender": "agent", "agent_id": _id(require(author, "id", f"{where}.id"))}
        return {"sender": "agent"}  # a team


def _parts(item: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """The conversation parts with their field paths, oldest first (stable on ties)."""
    holder = item.get("conversation_parts")
    if holder is None:
        return []
    parts = holder.get("conversation_parts") if isinstance(holder, dict) else holder
    if parts is None:
        return []
    if not isinstance(parts, list):
        raise ItemError("conversation_parts.conversation_parts", "expected a list of parts")
    numbered = []
    for n, part in enumerate(parts):
        where = f"conversation_parts.conversation_parts[{n}]"
        if not isinstance(part, dict):
            raise ItemError(where, "expected a conversation part object")
        numbered.append((where, part))
    return sorted(numbered, key=lambda p: _sort_time(p[1]))


def _sort_time(part: dict[str, Any]) -> float:
    try:
        return float(part.get("created_at"))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return float("-inf")  # converted first, where its bad time is reported


def _object(item: dict[str, Any], key: str) -> dict[str, Any]:
    value = item.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ItemError(key, "expected an object")
    return value


def _author(holder: dict[str, Any], where: str) -> dict[str, Any]:
    author = holder.get("author")
    if not isinstance(author, dict):
        raise ItemError(where, "missing" if author is None else "expected an object {type, id}")
    kind = author.get("type")
    if kind is None or kind == "":
        raise ItemError(f"{where}.type", "missing")
    if kind not in AUTHOR_TYPES:
        known = ", ".join(sorted(AUTHOR_TYPES))
        raise ItemError(f"{where}.type", f"unknown author type {kind!r}; expected one of {known}")
    return author


def _customer(item: dict[str, Any]) -> str | None:
    """The conversation's contact: the first of `contacts`, else the source's author."""
    contacts = item.get("contacts")
    listed = contacts.get("contacts") if isinstance(contacts, dict) else contacts
    if isinstance(listed, list):
        for contact in listed:
            if isinstance(contact, dict) and _id(contact.get("id")):
                return _id(contact.get("id"))
    source = item.get("source")
    author = source.get("author") if isinstance(source, dict) else None
    if isinstance(author, dict) and author.get("type") in CUSTOMER_AUTHORS:
        return _id(author.get("id"))
    return None


def _resolved_by(author: dict[str, Any]) -> str | None:
    kind = author.get("type")
    if kind == "bot" or author.get("from_ai_agent") is True:
        return "bot"
    if kind in ("admin", "team"):
        return "agent"
    if kind in CUSTOMER_AUTHORS:
        return "customer"
    return None


def _channel(source_type: Any) -> str | None:
    if not isinstance(source_type, str) or not source_type:
        return None
    return CHANNELS.get(source_type, source_type)


def _id(value: Any) -> str | None:
    return None if value is None or value == "" else str(value)


# -- HTML bodies --------------------------------------------------------------------------------

BLOCK_TAGS = frozenset(
    {"p", "div", "br", "li", "ul", "ol", "tr", "table", "blockquote", "pre", "hr"}
    | {f"h{n}" for n in range(1, 7)}
)
HIDDEN_TAGS = frozenset({"script", "style", "head", "title", "template"})


class _TextParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.chunks: list[str] = []
        self.hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in HIDDEN_TAGS:
            self.hidden += 1
        elif tag in BLOCK_TAGS:
            self.chunks.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in HIDDEN_TAGS:
            self.hidden = max(0, self.hidden - 1)
        elif tag in BLOCK_TAGS:
            self.chunks.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.hidden:
            self.chunks.append(data)


def html_to_text(body: Any) -> str | None:
    """Plain text of an HTML message body: tags dropped, entities unescaped, one line per
    paragraph / line break, spaces collapsed. None when nothing readable is left."""
    if not isinstance(body, str) or not body.strip():
        return None
    parser = _TextParser()
    parser.feed(body)
    parser.close()
    lines = (" ".join(line.split()) for line in "".join(parser.chunks).split("\n"))
    text = "\n".join(line for line in lines if line)
    return text or None
