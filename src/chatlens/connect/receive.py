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
import logging
import queue
import re
import threading
from collections.abc import Mapping
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

import orjson
from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from chatlens.app.connections import ConnectionFinder
from chatlens.app.models import (
    Connection,
    ConnectionConversation,
    ConnectionDelivery,
    ConnectionProblem,
    now,
)
from chatlens.connect.converted import CONVERTED
from chatlens.connect.platforms import PLATFORMS, Platform, Refusal, platform
from chatlens.errors import EventError, ItemError
from chatlens.events import parse_event, to_row

MAX_DELIVERY_BYTES = 1024 * 1024
"""A webhook delivery is one conversation's change: 1 MiB is far beyond any (Intercom caps
a conversation part's body, LiveChat an event, at a few tens of KB)."""
log = logging.getLogger("chatlens.server")
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


@dataclass
class _Job:
    """A checked delivery for the folder thread: to fold into its conversation (`kind`
    set), or only to record (an ignored delivery counted, a refused one kept as a problem)."""

    received: Received
    kind: Platform | None = None
    payload: dict[str, Any] | None = None
    body: bytes = b""
    problem: ConnectionProblem | None = None
    refusal: Refusal | None = None
    """Answered (raised) once its problem is kept."""
    future: Future[Received] = field(default_factory=Future)


Made = tuple[int, list[dict[str, Any]] | None, list[dict[str, Any]] | None]
"""A conversation's revision once folded, and its events and store rows (None: not ready)."""
GROUP = 500
"""Most deliveries one app-state commit takes (all those waiting when the folder wakes)."""


class Receiver:
    """Deliveries of every connection of the server. `check` authenticates a delivery and
    finds its conversation (quick: a query by the token's hash, the signature, the JSON; run
    on the event loop, where a worker thread's hop cost more than the work). `fold` hands
    the job to the folder thread, which folds every delivery waiting into its conversation
    and records the refused and ignored ones, all in one commit (one disk sync for the
    group, as the ingest writer does)."""

    def __init__(self, sessions: sessionmaker[Any]):
        self.sessions = sessions
        self._connections = ConnectionFinder(sessions.kw["bind"])
        self._queue: queue.Queue[_Job | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()

    def check(self, token: str, headers: Mapping[str, str], body: bytes) -> _Job:
        """The job for `fold` of an authenticated, parsed delivery, or of a refusal to keep
        (raised once kept); raises Refusal at once when no active webhook connection has
        this token (nothing to keep it under)."""
        conn = self._connections.find(token)
        if conn is None or conn.platform == "tracker":  # a tracker has no webhooks
            raise Refusal(
                404,
                "no connection has this URL: copy it again from the Connections page",
                "unknown_connection",
            )
        if conn.platform not in PLATFORMS:  # a Rasa broker: the server consumes it
            raise Refusal(
                404, "this connection takes no webhooks (it is a Rasa broker)", "not_webhook"
            )
        if conn.status != "active":
            raise Refusal(403, "this connection was revoked", "revoked")
        try:
            return self._check(conn, headers, body)
        except Refusal as exc:
            return _Job(
                Received(conn.id, ""),
                problem=_problem(conn.id, None, exc.status, exc.message, None),
                refusal=exc,
            )

    def _check(self, conn: Connection, headers: Mapping[str, str], body: bytes) -> _Job:
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
            quarantined = Refusal(
                exc.status, exc.message + " (the delivery is quarantined)", "quarantined"
            )
            problem = _problem(conn.id, received.delivery_id, exc.status, exc.message, body)
            return _Job(received, problem=problem, refusal=quarantined)
        if received.conversation is None:
            return _Job(received)  # ignored: only counted
        return _Job(received, kind, payload, body)

    def fold(self, job: _Job) -> Future[Received]:
        """Queue a checked delivery for the folder; the future is done once committed."""
        if self._thread is None:
            with self._start_lock:
                if self._thread is None:
                    self._thread = threading.Thread(
                        target=self._loop, name="chatlens-connect-fold", daemon=True
                    )
                    self._thread.start()
        self._queue.put(job)
        return job.future

    def close(self) -> None:
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join()
        self._connections.close()

    def _loop(self) -> None:
        while True:
            job = self._queue.get()
            if job is None:
                return
            group = [job]
            while len(group) < GROUP:
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    self._queue.put(None)  # stop after this group
                    break
                group.append(more)
            try:
                self._fold_group(group)
            except BaseException as exc:
                log.exception("folding webhook deliveries failed")
                for failed in group:
                    if not failed.future.done():
                        failed.future.set_exception(exc)
                continue
            for done in group:
                done.future.set_result(done.received)

    def _fold_group(self, group: list[_Job]) -> None:
        """Fold each delivery into its conversation, unless the result cannot be converted
        (then the delivery is quarantined and the conversation stays as it was); record the
        refused and the ignored ones; one commit for the group."""
        with self.sessions() as db:
            keys = {(j.received.connection_id, j.received.delivery_id) for j in group}
            seen = {
                (c, d)
                for c, d in db.execute(
                    select(ConnectionDelivery.connection_id, ConnectionDelivery.delivery_id).where(
                        ConnectionDelivery.delivery_id.in_([d for _, d in keys])
                    )
                ).all()
            }
            rows_by_key = self._conversations(db, group)
            made: dict[tuple[int, str], Made] = {}
            for job in group:
                conn_id = job.received.connection_id
                if job.problem is not None:
                    db.add(job.problem)
                    continue
                if job.kind is not None:
                    key = (conn_id, str(job.received.conversation)[:300])
                    if not self._fold(db, job, rows_by_key, key, made):
                        continue
                delivery = (conn_id, job.received.delivery_id)
                if delivery not in seen:  # a replay's row exists already
                    seen.add(delivery)
                    db.add(ConnectionDelivery(connection_id=conn_id, delivery_id=delivery[1]))
            db.commit()
        app = str(self.sessions.kw["bind"].url)
        for (conn_id, conversation), (revision, events, stored) in made.items():
            if events is not None and stored is not None:
                CONVERTED.put((app, conn_id, conversation, revision), events, stored)

    @staticmethod
    def _fold(
        db: Any,
        job: _Job,
        rows_by_key: dict[tuple[int, str], ConnectionConversation],
        key: tuple[int, str],
        made: dict[tuple[int, str], Made],
    ) -> bool:
        """Fold one delivery into its conversation's row; False when it is quarantined.
        The conversion that checked it goes to `made` (for the settler, once committed)."""
        assert job.kind is not None and job.payload is not None
        row = rows_by_key.get(key)
        before = orjson.loads(row.document) if row is not None else None
        events = stored = None
        try:
            document = job.kind.fold(before, job.payload)
            if job.kind.ready(document):
                events = job.kind.convert(document)
                stored = rows(events)
        except Exception as exc:  # every failure is named and kept
            job.received.quarantined = reason(exc)
            db.add(
                ConnectionProblem(
                    connection_id=key[0],
                    delivery_id=job.received.delivery_id,
                    status=200,
                    reason=job.received.quarantined,
                    body=job.body.decode("utf-8", "replace"),
                )
            )
            return False
        text = orjson.dumps(document).decode()
        if row is None:
            row = ConnectionConversation(
                connection_id=key[0], conversation=key[1], document=text, revision=0
            )
            db.add(row)
        row.document, row.revision = text, row.revision + 1
        row.settled, row.updated_at = False, now()
        rows_by_key[key] = row
        made[key] = (row.revision, events, stored)
        return True

    @staticmethod
    def _conversations(db: Any, group: list[_Job]) -> dict[tuple[int, str], ConnectionConversation]:
        """The stored conversations the group's deliveries belong to, one query per
        connection (a lookup per delivery was a third of the folder's time)."""
        wanted: dict[int, set[str]] = {}
        for job in group:
            if job.kind is not None:
                conversation = str(job.received.conversation)[:300]
                wanted.setdefault(job.received.connection_id, set()).add(conversation)
        found: dict[tuple[int, str], ConnectionConversation] = {}
        for conn_id, conversations in wanted.items():
            for row in db.scalars(
                select(ConnectionConversation).where(
                    ConnectionConversation.connection_id == conn_id,
                    ConnectionConversation.conversation.in_(sorted(conversations)),
                )
            ):
                found[(row.connection_id, row.conversation)] = row
        return found


def _problem(
    connection_id: int, delivery: str | None, status: int, why: str, body: bytes | None
) -> ConnectionProblem:
    return ConnectionProblem(
        connection_id=connection_id,
        delivery_id=delivery,
        status=status,
        reason=plain(why),
        body=body.decode("utf-8", "replace") if body else None,
    )


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
