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
from sqlalchemy import Table, bindparam, select, update
from sqlalchemy.orm import sessionmaker

from chatlens.app import service
from chatlens.app.models import (
    Connection,
    ConnectionBatch,
    ConnectionConversation,
    ConnectionProblem,
    now,
)
from chatlens.connect.converted import CONVERTED
from chatlens.connect.platforms import platform
from chatlens.connect.receive import latest, reason, rows

log = logging.getLogger("chatlens.server")

QUIET_SECONDS = float(os.environ.get("CHATLENS_CONNECT_QUIET_SECONDS", "1.0"))
"""How long a conversation's deliveries must pause before its events are journaled:
reorderings within the pause are exact ($CHATLENS_CONNECT_QUIET_SECONDS)."""
TICK_SECONDS = 0.2
BATCH = 500

_TABLE: Table = ConnectionConversation.__table__  # type: ignore[assignment]
_SETTLED = (
    update(_TABLE)
    .where(
        _TABLE.c.connection_id == bindparam("c"),
        _TABLE.c.conversation == bindparam("v"),
        _TABLE.c.revision == bindparam("r"),
    )
    .values(settled=True)
)

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
                .order_by(ConnectionConversation.connection_id)
                .limit(BATCH)
            ).all()
        by_connection: dict[int, list[tuple[str, int]]] = {}
        for connection_id, conversation, revision in due:
            by_connection.setdefault(connection_id, []).append((conversation, revision))
        for connection_id, conversations in by_connection.items():
            if self._stop.is_set():
                break
            self.settle(connection_id, conversations)
        return len(due)

    def settle(self, connection_id: int, conversations: list[tuple[str, int]]) -> None:
        """Convert each (conversation, revision) of one connection still at that revision,
        hand all their events to the writer at once, then mark them settled in one commit.

        One journal write and one app-state commit for a batch, instead of one each per
        conversation: the settler kept pace with about 100 conversations/s before (profiled
        under load: two commits and a journal wait per conversation)."""
        with self.sessions() as db:
            conn = db.get(Connection, connection_id)
            if conn is None:
                return
            kind = platform(conn.platform)
            workspace = conn.workspace.name
            store = service.workspace_store(self.folder, conn.workspace)
            wanted = dict(conversations)
            found = db.execute(
                select(
                    ConnectionConversation.conversation,
                    ConnectionConversation.revision,
                    ConnectionConversation.document,
                ).where(
                    ConnectionConversation.connection_id == connection_id,
                    ConnectionConversation.conversation.in_(sorted(wanted)),
                    ConnectionConversation.settled.is_(False),
                )
            ).all()
            documents = [
                (conversation, revision, document)
                for conversation, revision, document in found
                if wanted.get(conversation) == revision
            ]
        events: list[dict[str, Any]] = []
        converted: list[dict[str, Any]] = []
        problems = []
        app = str(self.sessions.kw["bind"].url)
        for conversation, revision, document in documents:
            made = CONVERTED.take((app, connection_id, conversation, revision))
            if made is not None:  # the folder converted this very revision
                events.extend(made[0])
                converted.extend(made[1])
                continue
            folded = orjson.loads(document)
            if not kind.ready(folded):  # nothing to count until the rest arrives
                continue
            try:
                these = kind.convert(folded)
                converted.extend(rows(these))
                events.extend(these)
            except Exception as exc:  # checked at delivery: kept as a problem if it fails now
                problems.append("settling failed: " + reason(exc))
        # a failure here (the store) leaves the conversations unsettled: tried again
        stored = self.submit(workspace, store, converted) if converted else 0
        with self.sessions() as db:
            if documents:  # one statement for the batch (a changed revision stays unsettled)
                db.connection().execute(
                    _SETTLED, [{"c": connection_id, "v": v, "r": r} for v, r, _ in documents]
                )
            for why in problems:
                db.add(ConnectionProblem(connection_id=connection_id, status=500, reason=why))
            if events:
                db.add(
                    ConnectionBatch(
                        connection_id=connection_id, events=stored, event_at=latest(events)
                    )
                )
            db.commit()
