"""The settler: journals the events of conversations whose deliveries have stopped for a
moment (`quiet` seconds), converting each whole folded conversation at once.

Platforms deliver out of order and more than once, and their importers derive events from
what came before (an assignment is a pickup or a transfer depending on the one before it).
Converting a conversation only once its deliveries paused makes the events the same as
from the platform's export of that conversation, whatever the order of arrival within the
pause. Events go through the workspace's writer (same journal, durability and dedupe as
`POST /api/v1/events`); a conversation that changes again is converted again and only its
new events are stored. Unsettled conversations survive a crash in the app state and are
settled after the next start."""

from __future__ import annotations

import datetime as dt
import logging
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import select, update
from sqlalchemy.orm import sessionmaker

from chatlens.app import service
from chatlens.app.models import (
    BROKER_PLATFORMS,
    Connection,
    ConnectionBatch,
    ConnectionConversation,
    ConnectionProblem,
    now,
)
from chatlens.connect.platforms import platform
from chatlens.connect.receive import latest, reason, rows

log = logging.getLogger("chatlens.server")

QUIET_SECONDS = float(os.environ.get("CHATLENS_CONNECT_QUIET_SECONDS", "1.0"))
"""How long a conversation's deliveries must pause before its events are journaled:
reorderings within the pause are exact ($CHATLENS_CONNECT_QUIET_SECONDS)."""
TICK_SECONDS = 0.2
BATCH = 500

Submit = Callable[[str, Path, list[dict[str, Any]]], int]
"""Hands rows to a workspace's writer (name, store) and returns how many it stored, once
they are journaled."""


class Settler:
    def __init__(
        self,
        sessions: sessionmaker[Any],
        folder: Path,
        submit: Submit,
        quiet: float = QUIET_SECONDS,
    ):
        self.sessions, self.folder, self.submit, self.quiet = sessions, folder, submit, quiet
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="chatlens-connect", daemon=True)

    def start(self) -> Settler:
        self._thread.start()
        return self

    def close(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()

    def _loop(self) -> None:
        while not self._stop.wait(TICK_SECONDS):
            try:
                self.settle_due()
            except Exception:
                log.exception("settling connection conversations failed")

    def settle_due(self) -> int:
        """Settle the conversations quiet for long enough; how many were settled."""
        cutoff = now() - dt.timedelta(seconds=self.quiet)
        unsettled = ConnectionConversation.settled.is_(False)
        with self.sessions() as db:
            due = db.execute(
                select(
                    ConnectionConversation.connection_id,
                    ConnectionConversation.conversation,
                    ConnectionConversation.revision,
                )
                .where(unsettled, ConnectionConversation.updated_at <= cutoff)
                .limit(BATCH)
            ).all()
            brokers = set(
                db.scalars(
                    select(Connection.id).where(
                        Connection.id.in_({c for c, _, _ in due}),
                        Connection.platform.in_(BROKER_PLATFORMS),
                    )
                )
            )
        senders: dict[int, list[tuple[str, int]]] = {}
        for connection_id, conversation, revision in due:
            if self._stop.is_set():
                break
            if connection_id in brokers:
                senders.setdefault(connection_id, []).append((conversation, revision))
            else:
                self.settle(connection_id, conversation, revision)
        for connection_id, trackers in senders.items():
            if not self._stop.is_set():
                self.settle_senders(connection_id, trackers)
        return len(due)

    def settle_senders(self, connection_id: int, trackers: list[tuple[str, int]]) -> None:
        """Settle Rasa senders of one broker connection together: one journal write for
        all (their event ids name the sender, so no two senders' events share one)."""
        with self.sessions() as db:
            conn = db.get(Connection, connection_id)
            if conn is None:
                return
            kind = platform(conn.platform)
            workspace = conn.workspace.name
            store = service.workspace_store(self.folder, conn.workspace)
            documents = []
            for conversation, revision in trackers:
                row = db.get(ConnectionConversation, (connection_id, conversation))
                if row is not None and row.revision == revision and not row.settled:
                    documents.append((conversation, revision, orjson.loads(row.document)))
        events: list[dict[str, Any]] = []
        converted: list[dict[str, Any]] = []
        for _, _, document in documents:
            try:
                mine = kind.convert(document)
                converted += rows(mine)
                events += mine
            except Exception as exc:  # checked when folded: kept as a problem if it fails now
                with self.sessions() as db:
                    why = "settling failed: " + reason(exc)
                    db.add(ConnectionProblem(connection_id=connection_id, status=500, reason=why))
                    db.commit()
        # a failure here (the store) leaves the senders unsettled: tried again
        stored = self.submit(workspace, store, converted) if converted else 0
        with self.sessions() as db:
            for conversation, revision, _ in documents:
                db.execute(
                    update(ConnectionConversation)
                    .where(
                        ConnectionConversation.connection_id == connection_id,
                        ConnectionConversation.conversation == conversation,
                        ConnectionConversation.revision == revision,
                    )
                    .values(settled=True)
                )
            if events:
                db.add(
                    ConnectionBatch(
                        connection_id=connection_id, events=stored, event_at=latest(events)
                    )
                )
            db.commit()

    def settle(self, connection_id: int, conversation: str, revision: int) -> None:
        with self.sessions() as db:
            row = db.get(ConnectionConversation, (connection_id, conversation))
            conn = db.get(Connection, connection_id)
            if row is None or conn is None or row.revision != revision or row.settled:
                return
            kind = platform(conn.platform)
            document = orjson.loads(row.document)
            workspace = conn.workspace.name
            store = service.workspace_store(self.folder, conn.workspace)
        events: list[dict[str, Any]] = []
        stored = 0
        if kind.ready(document):  # else: nothing to count until the rest arrives
            try:
                events = kind.convert(document)
                converted = rows(events)
            except Exception as exc:  # checked at delivery: kept as a problem if it fails now
                with self.sessions() as db:
                    why = "settling failed: " + reason(exc)
                    db.add(ConnectionProblem(connection_id=connection_id, status=500, reason=why))
                    db.commit()
                events, converted = [], []
            if converted:
                # a failure here (the store) leaves the conversation unsettled: tried again
                stored = self.submit(workspace, store, converted)
        with self.sessions() as db:
            db.execute(
                update(ConnectionConversation)
                .where(
                    ConnectionConversation.connection_id == connection_id,
                    ConnectionConversation.conversation == conversation,
                    ConnectionConversation.revision == revision,
                )
                .values(settled=True)
            )
            if events:
                db.add(
                    ConnectionBatch(
                        connection_id=connection_id, events=stored, event_at=latest(events)
                    )
                )
            db.commit()
