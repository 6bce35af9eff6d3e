"""Rasa: conversation trackers in, chatlens events out.

Two exports are read:

- trackers as returned by the Rasa HTTP API (`GET /conversations/{conversation_id}/tracker
  ?include_events=ALL`): one per file, a JSON array of them, or one per line;
- the SQL tracker store's `events` table (columns `id`, `sender_id`, `type_name`,
  `timestamp`, `intent_name`, `action_name`, `data`), dumped as CSV, JSONL or a JSON array,
  one row per Rasa event in `id` order.

Each Rasa *session* becomes one chatlens conversation. A session begins at the
`action_session_start` action (or the `session_started` event it logs, or the first event
after a `restart`); its conversation id is the sender id and the Unix time of the session's
first event, so the tracker dump and the SQL dump of the same events give the same ids.

Rows of the SQL table are grouped by sender without holding the whole file: a first pass
notes each sender's last row, and a sender's events are kept only for its current session.

Fallbacks: a bot message is marked `fallback` when a fallback action sent it
(`action_default_fallback`, the two-stage fallback actions; option `fallback_actions`) or
when it is the bot's first answer to a user message classified `nlu_fallback` (option
`fallback_intent`). Other bot messages carry no flag, so the workspace's fallback phrases
still apply to them. Handoff: the `handoff_action` action, the customer's `handoff_intent`
(off unless set) or a `pause` event; one `handoff_requested` per user turn.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from itertools import chain
from pathlib import Path
from typing import Any, ClassVar

import orjson

from chatlens.errors import ItemError
from chatlens.importers.base import UNNAMED_AGENT, Importer, Item, Option, epoch_seconds, event_id
from chatlens.ingest.files import Progress, Record

SESSION_START_ACTION = "action_session_start"
EXTERNAL_PREFIX = "EXTERNAL: "  # text of intents triggered from outside (reminders, API)


@dataclass(frozen=True)
class Place:
    """Where one Rasa event was read: for errors and the quarantine."""

    where: str  # "item 0", "line 12"
    prefix: str  # field path of the event inside `source`: "events[3]" or "data"
    source: dict[str, Any]  # the platform object to quarantine: the tracker, or the row


@dataclass(frozen=True)
class Broken:
    """A row whose Rasa event cannot be read: it rejects the session it falls in."""

    kind: str | None  # the row's type_name, so that sessions are still cut right
    field: str
    message: str


@dataclass
class Session:
    """The events of one Rasa session of one sender, in order."""

    sender: str
    events: list[Any] = field(default_factory=list)
    places: list[Place] = field(default_factory=list)
    awaiting_start: bool = False  # opened by action_session_start, session_started to come

    @property
    def ref(self) -> str:
        first = self.places[0]
        at = first.prefix if first.prefix.startswith("events") else first.where
        return f"sender {self.sender}, session at {at}"


class SessionSplitter:
    """Cuts one sender's stream of events into sessions as they come."""

    def __init__(self, sender: str):
        self.sender = sender
        self.current: Session | None = None
        self.restarted = False

    def feed(self, event: Any, place: Place) -> list[Session]:
        """Add one event; returns the sessions it completed."""
        if isinstance(event, Broken):
            kind: Any = event.kind
        else:
            kind = event.get("event") if isinstance(event, dict) else None
        done: list[Session] = []
        if (
            kind == "action"
            and isinstance(event, dict)
            and event.get("name") == SESSION_START_ACTION
        ):
            done = self._open()
            self._session().awaiting_start = True
        elif kind == "session_started":
            if self.current is None or not self.current.awaiting_start:
                done = self._open()
            self._session().awaiting_start = False
        elif self.current is None or self.restarted:
            done = self._open()
        session = self._session()
        session.events.append(event)
        session.places.append(place)
        if kind == "restart":
            self.restarted = True  # the next event begins a new conversation
        return done

    def close(self) -> list[Session]:
        done = [self.current] if self.current is not None else []
        self.current = None
        return done

    def _open(self) -> list[Session]:
        done = self.close()
        self.current = Session(self.sender)
        self.restarted = False
        return done

    def _session(self) -> Session:
        assert self.current is not None
        return self.current


def _tracker_sessions(data: dict[str, Any], where: str) -> list[Session]:
    """The sessions of one tracker; ItemError when it has no sender id or no event list."""
    sender = _sender(data.get("sender_id", data.get("conversation_id")))
    if sender is None:
        raise ItemError("sender_id", "missing")
    events = data.get("events")
    if not isinstance(events, list):
        raise ItemError("events", "expected a list of Rasa events (use ?include_events=ALL)")
    splitter = SessionSplitter(sender)
    sessions: list[Session] = []
    for index, event in enumerate(events):
        sessions += splitter.feed(event, Place(where, f"events[{index}]", data))
    return sessions + splitter.close()


def _names(value: str) -> frozenset[str]:
    return frozenset(part.strip() for part in value.split(",") if part.strip())


def _stamp(seconds: float) -> str:
    """A Unix time as written into ids: fixed precision, no trailing zeros."""
    return f"{seconds:.6f}".rstrip("0").rstrip(".")


def _is_tracker(data: dict[str, Any]) -> bool:
    return "events" in data


def _is_row(data: dict[str, Any]) -> bool:
    return "data" in data or "type_name" in data


def _sender(value: Any) -> str | None:
    if isinstance(value, bool) or value is None or value == "":
        return None
    return str(value) if isinstance(value, str | int) else None


class RasaImporter(Importer):
    """Rasa trackers (HTTP API) or the SQL tracker store's `events` table."""

    name = "rasa"
    summary = "Rasa trackers (HTTP API) or the SQL tracker store's events table"
    options: ClassVar[tuple[Option, ...]] = (
        Option("bot_id", "rasa", "bot_id given to every conversation"),
        Option(
            "handoff_action",
            "action_handoff",
            "action(s) whose run hands the chat to a human (comma-separated)",
        ),
        Option(
            "handoff_intent",
            "",
            "intent(s) with which the customer asks for a human (comma-separated; off)",
        ),
        Option(
            "fallback_actions",
            "action_default_fallback,action_two_stage_fallback,"
            "action_default_ask_affirmation,action_default_ask_rephrase",
            "actions whose bot messages are fallbacks (comma-separated)",
        ),
        Option(
            "fallback_intent",
            "nlu_fallback",
            "intent of a user message the bot did not understand; its first answer is a fallback",
        ),
    )

    def __init__(self, settings: dict[str, str] | None = None):
        super().__init__(settings)
        self.bot_id = self.settings["bot_id"].strip() or None
        self.handoff_actions = _names(self.settings["handoff_action"])
        self.handoff_intents = _names(self.settings["handoff_intent"])
        self.fallback_actions = _names(self.settings["fallback_actions"])
        self.fallback_intents = _names(self.settings["fallback_intent"])

    def ref(self, item: dict[str, Any]) -> str | None:
        sender = _sender(item.get("sender_id", item.get("conversation_id")))
        return f"sender {sender}" if sender is not None else None

    # -- reading ----------------------------------------------------------------------------

    def records(self, path: Path, progress: Progress | None = None) -> Iterator[Record]:
        items = self.items(path, progress)  # raises before anything is yielded
        return self._records(path, items)

    def _records(self, path: Path, items: Iterator[Item | Record]) -> Iterator[Record]:
        head: list[Item | Record] = []
        for item in items:  # up to the first readable item: trackers or table rows?
            head.append(item)
            if isinstance(item, Item):
                break
        first = head[-1] if head else None
        # Rows of the SQL table: note each sender's last row, to let go of a sender there.
        last_row: dict[str, int] | None = None
        if isinstance(first, Item) and _is_row(first.data) and not _is_tracker(first.data):
            last_row = self._last_rows(path)
        streams: dict[str, SessionSplitter] = {}
        for number, item in enumerate(chain(head, items)):
            if isinstance(item, Record):
                yield item
                continue
            data = item.data
            if _is_tracker(data):
                yield from self._tracker(item)
                continue
            if not _is_row(data):
                problem = {
                    "field": "events",
                    "message": "expected a Rasa tracker (sender_id, events) or a row of the "
                    "SQL tracker store's events table (sender_id, type_name, data)",
                }
                yield Record(item.where, None, errors=[problem], source=data)
                continue
            sender = _sender(data.get("sender_id"))
            if sender is None:
                yield self._row_error(item, "sender_id", "missing")
                continue
            stream = streams.setdefault(sender, SessionSplitter(sender))
            event = self._row_event(data)
            if isinstance(event, dict):
                data["data"] = event  # keep the event once, not also as JSON text
            for session in stream.feed(event, Place(item.where, "data", data)):
                yield from self._session_records(session)
            if last_row is not None and last_row.get(sender) == number and sender in streams:
                for session in streams.pop(sender).close():
                    yield from self._session_records(session)
        for stream in streams.values():
            for session in stream.close():
                yield from self._session_records(session)

    def _last_rows(self, path: Path) -> dict[str, int]:
        """Sender id -> number of its last row in the file (a first, lighter pass)."""
        last: dict[str, int] = {}
        for number, item in enumerate(self.scan_items(path)):
            if isinstance(item, Item) and _is_row(item.data) and not _is_tracker(item.data):
                sender = _sender(item.data.get("sender_id"))
                if sender is not None:
                    last[sender] = number
        return last

    @staticmethod
    def _row_event(row: dict[str, Any]) -> dict[str, Any] | Broken:
        """The Rasa event stored in a row's `data` column (JSON text, or already an object)."""
        kind = row.get("type_name") if isinstance(row.get("type_name"), str) else None
        raw = row.get("data")
        if raw is None or raw == "":
            return Broken(kind, "data", "missing")
        if isinstance(raw, str):
            try:
                raw = orjson.loads(raw)
            except orjson.JSONDecodeError as exc:
                return Broken(kind, "data", f"not valid JSON: {exc}")
        if not isinstance(raw, dict):
            return Broken(kind, "data", "expected a JSON object (the Rasa event)")
        if "event" not in raw and kind:
            raw = {**raw, "event": kind}
        return raw

    def _row_error(self, item: Item, field_name: str, message: str) -> Record:
        """A row that belongs to no conversation (no sender id): rejected alone."""
        return Record(
            item.where,
            None,
            ref=self.ref(item.data),
            errors=[{"field": field_name, "message": message}],
            source=item.data,
        )

    def _tracker(self, item: Item) -> Iterator[Record]:
        try:
            sessions = _tracker_sessions(item.data, item.where)
        except ItemError as exc:
            problem = {"field": exc.field, "message": exc.message}
            yield Record(
                item.where, None, ref=self.ref(item.data), errors=[problem], source=item.data
            )
            return
        for session in sessions:
            yield from self._session_records(session)

    def _session_records(self, session: Session) -> Iterator[Record]:
        ref = session.ref
        try:
            events = self.convert_session(session)
        except _EventError as exc:
            place = exc.place
            problem = {"field": exc.field, "message": exc.message}
            yield Record(place.where, None, ref=ref, errors=[problem], source=place.source)
            return
        for event, place in events:
            yield Record(place.where, event, ref=ref, source=None)

    def convert(self, item: dict[str, Any]) -> Iterable[dict[str, Any]]:
        """The chatlens events of one tracker, all its sessions (`records` is what imports
        use: it also reads the SQL table's rows and rejects one session, not the tracker)."""
        out: list[dict[str, Any]] = []
        for session in _tracker_sessions(item, "item 0"):
            try:
                out += [event for event, _ in self.convert_session(session)]
            except _EventError as exc:  # the tracker's item, not one place in it
                raise ItemError(exc.field, exc.message) from None
        return out

    # -- converting one session --------------------------------------------------------------

    def convert_session(self, session: Session) -> list[tuple[dict[str, Any], Place]]:
        """The chatlens events of one session, each with the place of the Rasa event it
        comes from; [] when nobody said anything in the session."""
        return _SessionConverter(self, session).run()


class _EventError(ItemError):
    """A Rasa event of the session is unusable; `field` is the path inside `place.source`
    (the session is rejected alone, at the place of that event)."""

    def __init__(self, place: Place, path: str, message: str):
        self.place = place
        super().__init__(path, message)


def _fail(place: Place, name: str, message: str) -> _EventError:
    return _EventError(place, f"{place.prefix}.{name}", message)


class _SessionConverter:
    """One pass over a session's events, with the state of the current user turn."""

    def __init__(self, importer: RasaImporter, session: Session):
        self.importer = importer
        self.session = session
        self.sender = session.sender
        self.out: list[tuple[dict[str, Any], Place]] = []
        self.seen: dict[tuple[str, str], int] = {}  # (kind, stamp) -> events so far
        self.user_messages: set[str] = set()  # message ids (or stamps) already taken
        self.customer_spoke = False
        self.external_first = False  # an outside trigger came before the customer wrote
        self.channel: str | None = None
        self.action: str | None = None  # the action whose messages follow
        self.awaiting_answer = False  # the last user message was not understood
        self.handed_off = False  # a handoff was emitted in this user turn
        self.handlers = {
            "user": self._on_user,
            "bot": self._on_bot,
            "agent": self._on_agent,
            "action": self._on_action,
            "pause": self._on_pause,
        }

    def run(self) -> list[tuple[dict[str, Any], Place]]:
        first = self.session.places[0]
        opening = self.session.events[0]
        if isinstance(opening, Broken):
            raise _EventError(first, opening.field, opening.message)
        start = self._seconds(opening, first)
        self.conversation_id = event_id(self.sender, _stamp(start))
        for event, place in zip(self.session.events, self.session.places, strict=True):
            if isinstance(event, Broken):
                raise _EventError(place, event.field, event.message)
            if not isinstance(event, dict):
                raise _EventError(place, place.prefix, "expected a JSON object (a Rasa event)")
            kind = event.get("event")
            if not isinstance(kind, str) or not kind:
                raise _fail(place, "event", "missing")
            handler = self.handlers.get(kind)
            if handler is not None:  # other Rasa events (slot, rewind, ...) mean nothing here
                handler(event, place)
        if not any(e["type"] == "message" for e, _ in self.out):
            return []  # an empty session (e.g. after /restart): not a conversation
        started: dict[str, Any] = {
            "event_id": event_id("rasa", self.sender, _stamp(start), "started"),
            "type": "conversation_started",
            "ts": epoch_seconds(start, f"{first.prefix}.timestamp"),
            "conversation_id": self.conversation_id,
            "customer_id": self.sender,
            "initiated_by": "business" if self.external_first else "customer",
        }
        if self.importer.bot_id:
            started["bot_id"] = self.importer.bot_id
        if self.channel:
            started["channel"] = self.channel
        return [(started, first), *self.out]

    # -- Rasa event types with a chatlens meaning ---------------------------------------------

    def _on_user(self, event: dict[str, Any], place: Place) -> None:
        text = self._text(event, place)
        metadata = event.get("metadata")
        external = (isinstance(metadata, dict) and metadata.get("is_external") is True) or (
            text is not None and text.startswith(EXTERNAL_PREFIX)
        )
        if external:  # an intent triggered by a reminder or the API, not the customer
            self.external_first = self.external_first or not self.customer_spoke
            self._new_turn()
            return
        seconds = self._seconds(event, place)
        message_id = event.get("message_id")
        key = str(message_id) if message_id not in (None, "") else _stamp(seconds)
        if key in self.user_messages:
            return  # the same message logged again (the two-stage fallback re-logs it)
        self.user_messages.add(key)
        parse = event.get("parse_data")
        intent = parse.get("intent") if isinstance(parse, dict) else None
        intent = intent if isinstance(intent, dict) else {}
        name = intent.get("name") if isinstance(intent.get("name"), str) else None
        message = self._message(event, place, "customer", seconds, text)
        if message_id not in (None, ""):
            message["event_id"] = event_id("rasa", self.sender, "user", message_id)
        if name:
            message["intent"] = name
        if intent.get("confidence") is not None:
            message["confidence"] = intent["confidence"]
        channel = event.get("input_channel")
        if isinstance(channel, str) and channel.strip():
            message["channel"] = channel
            self.channel = self.channel or channel
        self.out.append((message, place))
        self.customer_spoke = True
        self._new_turn()
        self.awaiting_answer = name in self.importer.fallback_intents
        if name in self.importer.handoff_intents:
            self._handoff(event, place, "customer_request")

    def _on_bot(self, event: dict[str, Any], place: Place) -> None:
        seconds = self._seconds(event, place)
        message = self._message(event, place, "bot", seconds, self._text(event, place))
        if self.awaiting_answer or self.action in self.importer.fallback_actions:
            message["fallback"] = True
        self.awaiting_answer = False
        if not self.customer_spoke:
            message["welcome"] = True  # the bot spoke before the customer: a greeting
        if self.importer.bot_id:
            message["bot_id"] = self.importer.bot_id
        self.out.append((message, place))

    def _on_agent(self, event: dict[str, Any], place: Place) -> None:
        seconds = self._seconds(event, place)
        message = self._message(event, place, "agent", seconds, self._text(event, place))
        message["agent_id"] = UNNAMED_AGENT  # Rasa does not record who wrote it
        self.out.append((message, place))

    def _on_action(self, event: dict[str, Any], place: Place) -> None:
        name = event.get("name")
        self.action = name if isinstance(name, str) else None
        if self.action in self.importer.handoff_actions:
            self._handoff(event, place, self.action)

    def _on_pause(self, event: dict[str, Any], place: Place) -> None:
        self._handoff(event, place, "paused")  # Rasa stops answering: a human takes over

    # -- helpers -------------------------------------------------------------------------------

    def _new_turn(self) -> None:
        self.action = None
        self.handed_off = False
        self.awaiting_answer = False

    def _handoff(self, event: dict[str, Any], place: Place, reason: str | None) -> None:
        if self.handed_off:
            return
        self.handed_off = True
        seconds = self._seconds(event, place)
        handoff: dict[str, Any] = {
            "event_id": self._event_id("handoff", seconds),
            "type": "handoff_requested",
            "ts": epoch_seconds(seconds, f"{place.prefix}.timestamp"),
            "conversation_id": self.conversation_id,
            "customer_id": self.sender,
        }
        if reason:
            handoff["reason"] = reason
        self.out.append((handoff, place))

    def _message(
        self, event: dict[str, Any], place: Place, sender: str, seconds: float, text: str | None
    ) -> dict[str, Any]:
        return {
            "event_id": self._event_id(str(event["event"]), seconds),
            "type": "message",
            "ts": epoch_seconds(seconds, f"{place.prefix}.timestamp"),
            "conversation_id": self.conversation_id,
            "customer_id": self.sender,
            "sender": sender,
            "text": text,
        }

    def _event_id(self, kind: str, seconds: float) -> str:
        """rasa:<sender>:<kind>:<time>, with :<n> for a later event of the same kind and time."""
        stamp = _stamp(seconds)
        n = self.seen.get((kind, stamp), 0)
        self.seen[(kind, stamp)] = n + 1
        parts: list[object] = ["rasa", self.sender, kind, stamp]
        return event_id(*parts, n) if n else event_id(*parts)

    @staticmethod
    def _text(event: dict[str, Any], place: Place) -> str | None:
        text = event.get("text")
        if text is not None and not isinstance(text, str):
            raise _fail(place, "text", f"expected a string, got {type(text).__name__}")
        return text

    @staticmethod
    def _seconds(event: Any, place: Place) -> float:
        value = event.get("timestamp") if isinstance(event, dict) else None
        if value is None:
            raise _fail(place, "timestamp", "missing")
        try:
            epoch_seconds(value, "timestamp")
        except ItemError as exc:
            raise _fail(place, "timestamp", exc.message) from None
        return float(value)
