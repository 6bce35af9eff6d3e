"""Taking one webhook delivery in: the connection its URL token names, the platform's own
authentication, then the delivery folded into its conversation and the result checked by
converting it. The folded conversation is committed to the app state before the answer (so
nothing acknowledged is lost); its events are journaled by the settler (settle.py) once the
conversation had no delivery for a moment.

A delivery whose conversation cannot be converted is quarantined: kept with its delivery id
and the reason (a field path, never the payload's text), its conversation left as it was, so
one bad delivery never blocks the next ones."""

from __future__ import annotations

import datetime as dt
import re
import threading
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import sessionmaker

from chatlens.app.connections import find_connection
from chatlens.app.models import (
    Connection,
    ConnectionConversation,
    ConnectionDelivery,
    ConnectionProblem,
    now,
)
from chatlens.connect.platforms import Platform, Refusal, platform
from chatlens.events import EventError, parse_event, to_row
from chatlens.importers.base import ItemError

MAX_DELIVERY_BYTES = 1024 * 1024
"""A webhook delivery is one conversation's change: 1 MiB is far beyond any (Intercom caps
a conversation part's body, LiveChat an event, at a few tens of KB)."""
_QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"")


def plain(message: str) -> str:
    """A reason without the values it quoted (they may be the payload's text)."""
    return _QUOTED.sub("'…'", message)[:400]


@dataclass
class Received:
    """What became of a delivery."""

    connection_id: int
    delivery_id: str
    conversation: str | None = None
    """None: the delivery is about nothing chatlens counts (a ping, a contact update)."""
    quarantined: str | None = None
    """The reason, when the delivery was quarantined."""


class Receiver:
    """Deliveries of every connection of the server."""

    def __init__(self, sessions: sessionmaker[Any]):
        self.sessions = sessions
        # deliveries of one conversation fold one at a time (striped: bounded memory)
        self._locks = [threading.Lock() for _ in range(64)]

    def take(self, token: str, headers: Mapping[str, str], body: bytes) -> Received:
        """Authenticate, fold and check one delivery (a worker thread's job); raises
        Refusal for a 4xx."""
        with self.sessions() as db:
            conn = find_connection(db, token)
            if conn is None:
                raise Refusal(
                    404,
                    "no connection has this URL: copy it again from the Connections page",
                    "unknown_connection",
                )
            if conn.status != "active":
                raise Refusal(403, "this connection was revoked", "revoked")
            db.expunge(conn)
        try:
            return self._take(conn, headers, body)
        except Refusal as exc:
            self._problem(conn.id, None, exc.status, exc.message, None)
            raise

    def _take(self, conn: Connection, headers: Mapping[str, str], body: bytes) -> Received:
        kind = platform(conn.platform)
        if len(body) > MAX_DELIVERY_BYTES:
            raise Refusal(
                413, f"the delivery is larger than {MAX_DELIVERY_BYTES // 1024} KiB", "too_large"
            )
        kind.check_request(conn, headers, body)
        try:
            payload = orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            raise Refusal(400, f"the body is not valid JSON (cut short?): {exc}") from None
        if not isinstance(payload, dict):
            raise Refusal(400, "the body is not a JSON object")
        kind.check_payload(conn, payload)
        received = Received(conn.id, kind.delivery_id(headers, body, payload))
        try:
            received.conversation = kind.conversation(payload)
        except Refusal as exc:  # authenticated but unusable: kept for a look
            self._problem(conn.id, received.delivery_id, exc.status, exc.message, body)
            raise Refusal(
                exc.status, exc.message + " (the delivery is quarantined)", "quarantined"
            ) from None
        if received.conversation is not None:
            self._fold(conn, kind, payload, body, received)
        else:
            self._count(conn.id, received.delivery_id)
        return received

    def _count(self, connection_id: int, delivery_id: str) -> None:
        with self.sessions() as db:
            db.add(ConnectionDelivery(connection_id=connection_id, delivery_id=delivery_id))
            try:
                db.commit()
            except IntegrityError:  # a replay: its first row stays
                db.rollback()

    def _fold(
        self,
        conn: Connection,
        kind: Platform,
        payload: dict[str, Any],
        body: bytes,
        received: Received,
    ) -> None:
        """Fold the delivery into its conversation, unless the result cannot be converted
        (then the delivery is quarantined and the conversation stays as it was)."""
        conversation = str(received.conversation)[:300]
        lock = self._locks[zlib.crc32(conversation.encode()) % len(self._locks)]
        with lock, self.sessions() as db:
            row = db.get(ConnectionConversation, (conn.id, conversation))
            before = orjson.loads(row.document) if row is not None else None
            try:
                document = kind.fold(before, payload)
                if kind.ready(document):
                    rows(kind.convert(document))
            except Exception as exc:
                received.quarantined = reason(exc)
                db.add(
                    ConnectionProblem(
                        connection_id=conn.id,
                        delivery_id=received.delivery_id,
                        status=200,
                        reason=received.quarantined,
                        body=body.decode("utf-8", "replace"),
                    )
                )
                db.commit()
                return
            text = orjson.dumps(document).decode()
            if row is None:
                row = ConnectionConversation(
                    connection_id=conn.id, conversation=conversation, document=text, revision=1
                )
                db.add(row)
            else:
                row.document, row.revision = text, row.revision + 1
            row.settled, row.updated_at = False, now()
            # counted in the same commit (one disk sync a delivery); a replay's row exists
            seen = db.scalar(
                select(ConnectionDelivery.id).where(
                    ConnectionDelivery.connection_id == conn.id,
                    ConnectionDelivery.delivery_id == received.delivery_id,
                )
            )
            if seen is None:
                db.add(ConnectionDelivery(connection_id=conn.id, delivery_id=received.delivery_id))
            try:
                db.commit()
            except IntegrityError:  # the same delivery twice at once: fold it without its row
                db.rollback()
                retry = db.get(ConnectionConversation, (conn.id, conversation))
                if retry is None:
                    retry = ConnectionConversation(
                        connection_id=conn.id, conversation=conversation, document=text
                    )
                    db.add(retry)
                retry.document, retry.revision = text, (retry.revision or 0) + 1
                retry.settled, retry.updated_at = False, now()
                db.commit()

    def _problem(
        self, connection_id: int, delivery: str | None, status: int, why: str, body: bytes | None
    ) -> None:
        with self.sessions() as db:
            db.add(
                ConnectionProblem(
                    connection_id=connection_id,
                    delivery_id=delivery,
                    status=status,
                    reason=plain(why),
                    body=body.decode("utf-8", "replace") if body else None,
                )
            )
            db.commit()


def rows(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The store rows of converted events (raises EventError like POST /api/v1/events)."""
    return [to_row(parse_event(event)) for event in events]


def reason(exc: Exception) -> str:
    """Why a conversation cannot be converted, by field, without the payload's values."""
    if isinstance(exc, Refusal):
        return plain(exc.message)
    if isinstance(exc, ItemError):
        return f"field '{exc.field[:200]}': {plain(exc.message)}"
    if isinstance(exc, EventError):
        first = exc.as_dicts()[0]
        return f"event field '{str(first['field'])[:200]}': {plain(first['message'])}"
    return f"the payload has an unexpected shape ({type(exc).__name__})"


def latest(events: list[dict[str, Any]]) -> dt.datetime | None:
    """The latest time among events (naive UTC, as the app state keeps times)."""
    times = []
    for event in events:
        try:
            moment = dt.datetime.fromisoformat(str(event["ts"]).replace("Z", "+00:00"))
        except (KeyError, ValueError):
            continue
        if moment.tzinfo is not None:
            moment = moment.astimezone(dt.UTC).replace(tzinfo=None)
        times.append(moment)
    return max(times) if times else None
