"""Taking one webhook delivery in: the connection its URL token names, the platform's own
authentication, the conversation folded and converted, the events validated. The caller
(server/connect_api.py) hands the rows to the workspace's writer, the same one as
`POST /api/v1/events`, answers once they are journaled, then calls `done`.

A delivery whose conversation cannot be converted is quarantined: kept with its delivery id
and the reason (a field path, never the payload's text), its conversation left as it was, so
one bad delivery never blocks the next ones."""

from __future__ import annotations

import datetime as dt
import re
import threading
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import sessionmaker

from chatlens.app import service
from chatlens.app.connections import find_connection
from chatlens.app.models import (
    Connection,
    ConnectionConversation,
    ConnectionDelivery,
    ConnectionProblem,
    now,
)
from chatlens.connect.platforms import Refusal, platform
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
    """What a delivery came to before the writer: rows to store, or why there are none."""

    connection_id: int
    workspace: str
    store: Path
    delivery_id: str
    rows: list[dict[str, Any]] = field(default_factory=list)
    event_at: dt.datetime | None = None
    ignored: bool = False
    quarantined: str | None = None
    """The reason, when the delivery was quarantined."""


class Receiver:
    """Deliveries of every connection of the server; `folder` holds the workspaces' stores."""

    def __init__(self, sessions: sessionmaker[Any], folder: Path):
        self.sessions = sessions
        self.folder = folder
        # deliveries of one conversation fold one at a time (striped: bounded memory)
        self._locks = [threading.Lock() for _ in range(64)]

    def take(self, token: str, headers: Mapping[str, str], body: bytes) -> Received:
        """Authenticate, fold, convert and validate one delivery (a worker thread's job);
        raises Refusal for a 4xx."""
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
        received = Received(
            conn.id,
            conn.workspace.name,
            service.workspace_store(self.folder, conn.workspace),
            kind.delivery_id(headers, body, payload),
        )
        try:
            conversation = kind.conversation(payload)
        except Refusal as exc:  # authenticated but unusable: kept for a look
            self._problem(conn.id, received.delivery_id, exc.status, exc.message, body)
            exc.code = "quarantined"
            raise Refusal(
                exc.status, exc.message + " (the delivery is quarantined)", exc.code
            ) from None
        if conversation is None:
            received.ignored = True
            return received
        lock = self._locks[zlib.crc32(conversation.encode()) % len(self._locks)]
        with lock, self.sessions() as db:
            key = (conn.id, conversation[:300])
            row = db.get(ConnectionConversation, key)
            before = orjson.loads(row.document) if row is not None else None
            try:
                document = kind.fold(before, payload)
                events = kind.convert(document)
                received.rows = _rows(events)
            except Refusal as exc:
                received.quarantined = exc.message
            except ItemError as exc:
                received.quarantined = plain(f"field '{exc.field}': {exc.message}")
            except (EventError, TypeError, KeyError, AttributeError, ValueError) as exc:
                received.quarantined = plain(_event_error(exc))
            if received.quarantined is not None:
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
                received.rows = []
                return received
            text = orjson.dumps(document).decode()
            if row is None:
                db.add(
                    ConnectionConversation(connection_id=key[0], conversation=key[1], document=text)
                )
            else:
                row.document, row.updated_at = text, now()
            db.commit()
        received.event_at = _latest(events)
        return received

    def done(self, received: Received, accepted: int) -> None:
        """Count a delivery whose events are journaled (a replay keeps its first row)."""
        with self.sessions() as db:
            db.add(
                ConnectionDelivery(
                    connection_id=received.connection_id,
                    delivery_id=received.delivery_id,
                    event_at=received.event_at,
                    events=accepted,
                )
            )
            try:
                db.commit()
            except IntegrityError:
                db.rollback()

    def _problem(
        self, connection_id: int, delivery: str | None, status: int, reason: str, body: bytes | None
    ) -> None:
        with self.sessions() as db:
            db.add(
                ConnectionProblem(
                    connection_id=connection_id,
                    delivery_id=delivery,
                    status=status,
                    reason=plain(reason)[:500],
                    body=body.decode("utf-8", "replace") if body else None,
                )
            )
            db.commit()


def _rows(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [to_row(parse_event(event)) for event in events]


def _event_error(exc: Exception) -> str:
    if isinstance(exc, EventError):
        first = exc.as_dicts()[0]
        return f"event field '{first['field']}': {first['message']}"
    return f"the payload has an unexpected shape ({type(exc).__name__})"


def _latest(events: list[dict[str, Any]]) -> dt.datetime | None:
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
