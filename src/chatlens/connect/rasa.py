"""Rasa's event brokers: the tracker events Rasa streams, one at a time, folded per sender.

Rasa's tracker store publishes every new tracker event to its event broker as the event's
JSON with the tracker's `sender_id` added (`{"sender_id": ..., "event": "user",
"timestamp": ..., ...}`): the SQL broker as a row of its `events(id, sender_id, data)`
table, the Pika broker as a message on a RabbitMQ queue (consumers: rasa_sql.py,
rasa_pika.py). Each event is folded into its sender's tracker, kept in the app state as a
connection conversation (the webhooks' table); the settler (settle.py) converts the whole
tracker with the Rasa importer, as `chatlens import --from rasa` converts a tracker file,
once the sender paused, so the events and facts are those of the import of the same
tracker. An event already folded (a redelivery, a row read twice) is recognised by its row
id, or by a hash of its JSON, and changes nothing; one that cannot be read or converted is
quarantined with its position and the reason, and its neighbours are kept.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any, ClassVar

import orjson
from sqlalchemy import select
from sqlalchemy.orm import Session as DbSession
from sqlalchemy.orm import sessionmaker

from chatlens.app.models import (
    ConnectionConsumer,
    ConnectionConversation,
    ConnectionProblem,
    now,
)
from chatlens.connect.converted import CONVERTED
from chatlens.connect.platforms import Platform
from chatlens.connect.receive import reason, rows
from chatlens.errors import ItemError
from chatlens.importers.rasa import RasaImporter


@dataclass(frozen=True)
class Arrival:
    """One Rasa event as a broker holds it."""

    position: str
    """Where it was read, for the quarantine: `events.id 17`, `message <id>`; "" for a
    message without an id, named `message sha256:<hash of its body>` if quarantined."""
    body: str | bytes
    """The event's JSON (the SQL table's `data`, the message's body)."""
    sender: str | None = None
    """The SQL table's `sender_id` column (the JSON carries it too)."""
    key: str | None = None
    """The broker's own id of the event when it has one (the SQL table's `id`): an event
    with a key already folded is a replay. Without one (a RabbitMQ message), the hash of
    the event's JSON stands in for it, and only for a message the broker says it delivered
    before (`redelivered`): Rasa itself logs some events twice, identically (the two-stage
    fallback's repeated user message), and both are kept as in the tracker."""
    redelivered: bool = False


@dataclass
class Folded:
    """What became of a batch of arrivals."""

    taken: int = 0
    replayed: int = 0
    quarantined: int = 0
    made: list[tuple[str, int, list[dict[str, Any]], list[dict[str, Any]]]] = field(
        default_factory=list
    )
    """(sender, revision, events, rows) of each tracker folded: its conversion, for the
    settler once the batch is committed (converted.py)."""


def _sender(value: Any) -> str | None:
    if isinstance(value, bool) or value in (None, ""):
        return None
    return str(value) if isinstance(value, str | int) else None


def parse(arrival: Arrival) -> tuple[str, dict[str, Any], str]:
    """The sender, the Rasa event and its key (a hash of its JSON); ItemError naming the
    field when the event cannot be folded."""
    try:
        event = orjson.loads(arrival.body)
    except orjson.JSONDecodeError:
        raise ItemError("data", "not valid JSON (cut short?)") from None
    if not isinstance(event, dict):
        raise ItemError("data", "expected a JSON object (a Rasa event)")
    sender = _sender(event.get("sender_id")) or _sender(arrival.sender)
    if sender is None:
        raise ItemError("sender_id", "missing")
    if not isinstance(event.get("event"), str) or not event["event"]:
        raise ItemError("event", "missing")
    stamp = event.get("timestamp")
    if isinstance(stamp, bool) or not isinstance(stamp, int | float):
        raise ItemError("timestamp", "missing or not a number (Unix seconds)")
    event.pop("sender_id", None)  # the tracker has it once
    digest = hashlib.sha256(orjson.dumps([sender, event], option=orjson.OPT_SORT_KEYS))
    return sender, event, digest.hexdigest()[:24]


def tracker(document: dict[str, Any]) -> dict[str, Any]:
    """The Rasa tracker (HTTP API shape) a folded document holds."""
    return {"sender_id": document["sender_id"], "events": document["events"]}


class RasaBroker(Platform):
    """A Rasa event broker: a folded document is the sender's tracker so far, with the
    keys of the events it holds (`fold` takes `{"sender_id", "key", "event"}`; replays are
    told apart before, in `fold_batch`)."""

    def conversation(self, payload: dict[str, Any]) -> str | None:
        return str(payload["sender_id"])

    def fold(self, document: dict[str, Any] | None, payload: dict[str, Any]) -> dict[str, Any]:
        doc = document or {"sender_id": payload["sender_id"], "events": [], "keys": []}
        return {
            "sender_id": doc["sender_id"],
            "events": [*doc["events"], payload["event"]],
            "keys": [*doc["keys"], payload["key"]],
        }

    def convert(self, document: dict[str, Any]) -> list[dict[str, Any]]:
        return list(RasaImporter().convert(tracker(document)))


class RasaSql(RasaBroker):
    name: ClassVar[str] = "rasa-sql"


class RasaPika(RasaBroker):
    name: ClassVar[str] = "rasa-pika"


BROKERS: dict[str, RasaBroker] = {p.name: p for p in (RasaSql(), RasaPika())}


def _check(document: dict[str, Any]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The tracker's chatlens events and their store rows; raises when it cannot be
    converted into valid events."""
    events = RasaBroker.convert(BROKERS["rasa-sql"], document)
    return events, rows(events)


def fold_batch(db: DbSession, connection_id: int, arrivals: list[Arrival]) -> Folded:
    """Fold arrivals into their senders' trackers in `db` (the caller commits, with its
    position, so both are kept or neither): replays change nothing; an arrival that cannot
    be read, or whose tracker cannot be converted with it, is quarantined alone."""
    out = Folded()
    by_sender: dict[str, list[tuple[Arrival, dict[str, Any], str]]] = {}
    for arrival in arrivals:
        try:
            sender, event, key = parse(arrival)
        except ItemError as exc:
            _quarantine(db, connection_id, arrival, f"field '{exc.field}': {exc.message}")
            out.quarantined += 1
            continue
        by_sender.setdefault(sender, []).append((arrival, event, key))
    if not by_sender:
        return out
    found = db.scalars(
        select(ConnectionConversation).where(
            ConnectionConversation.connection_id == connection_id,
            ConnectionConversation.conversation.in_([s[:300] for s in by_sender]),
        )
    )
    known = {row.conversation: row for row in found}
    for sender, items in by_sender.items():
        row = known.get(sender[:300])
        before = orjson.loads(row.document) if row is not None else None
        doc = before or {"sender_id": sender, "events": [], "keys": []}
        keys = set(doc["keys"])
        fresh = []
        for arrival, event, digest in items:
            key = f"id:{arrival.key}" if arrival.key is not None else digest
            if key in keys and (arrival.key is not None or arrival.redelivered):
                out.replayed += 1
                continue
            keys.add(key)
            fresh.append((arrival, event, key))
        if not fresh:
            continue
        candidate = {
            "sender_id": sender,
            "events": [*doc["events"], *(e for _, e, _ in fresh)],
            "keys": [*doc["keys"], *(k for _, _, k in fresh)],
        }
        taken = out.taken
        conversion = None
        try:
            conversion = _check(candidate)
            doc = candidate
            out.taken += len(fresh)
        except Exception:  # find the culprits: one event at a time
            for arrival, event, key in fresh:
                step = {
                    "sender_id": sender,
                    "events": [*doc["events"], event],
                    "keys": [*doc["keys"], key],
                }
                try:
                    conversion = _check(step)
                except Exception as exc:  # every failure is named and kept
                    _quarantine(db, connection_id, arrival, reason(exc))
                    out.quarantined += 1
                    continue
                doc = step
                out.taken += 1
        if out.taken == taken:
            continue
        text = orjson.dumps(doc).decode()
        if row is None:
            row = ConnectionConversation(
                connection_id=connection_id, conversation=sender[:300], document=text, revision=0
            )
            db.add(row)
            known[sender[:300]] = row
        row.document, row.revision = text, row.revision + 1
        row.settled, row.updated_at = False, now()
        if conversion is not None:
            out.made.append((sender[:300], row.revision, *conversion))
    return out


def _quarantine(db: DbSession, connection_id: int, arrival: Arrival, why: str) -> None:
    body = arrival.body.decode("utf-8", "replace") if isinstance(arrival.body, bytes) else None
    db.add(
        ConnectionProblem(
            connection_id=connection_id,
            delivery_id=(arrival.position or _hashed(arrival.body))[:128],
            status=422,
            reason=why[:500],
            body=body if body is not None else str(arrival.body),
        )
    )


def _hashed(body: str | bytes) -> str:
    data = body.encode() if isinstance(body, str) else body
    return f"message sha256:{hashlib.sha256(data).hexdigest()[:16]}"


def take(
    sessions: sessionmaker[Any],
    connection_id: int,
    arrivals: list[Arrival],
    position: int | None = None,
) -> Folded:
    """Fold a batch and commit it together with the consumer's new `position` (SQL broker:
    the last id read) and count: after a crash both are as before the batch, or both
    after."""
    with sessions() as db:
        folded = fold_batch(db, connection_id, arrivals)
        state = db.get(ConnectionConsumer, connection_id)
        if state is None:
            state = ConnectionConsumer(connection_id=connection_id, position=0, consumed=0)
            db.add(state)
        if position is not None:
            state.position = position
        state.consumed = (state.consumed or 0) + folded.taken + folded.quarantined
        state.state, state.checked_at = "running", now()
        db.commit()
    app = str(sessions.kw["bind"].url)
    for sender, revision, events, stored in folded.made:
        CONVERTED.put((app, connection_id, sender, revision), events, stored)
    return folded


def note(
    sessions: sessionmaker[Any],
    connection_id: int,
    state: str | None = None,
    lag: int | None = None,
) -> None:
    """Record a consumer's state or lag (what `connections show` and the page print)."""
    with sessions() as db:
        row = db.get(ConnectionConsumer, connection_id)
        if row is None:
            row = ConnectionConsumer(connection_id=connection_id, position=0, consumed=0)
            db.add(row)
        if state is not None:
            row.state = state[:100]
        if lag is not None:
            row.lag = lag
        row.checked_at = now()
        db.commit()


def position(sessions: sessionmaker[Any], connection_id: int) -> int:
    with sessions() as db:
        row = db.get(ConnectionConsumer, connection_id)
        return int(row.position) if row is not None else 0
