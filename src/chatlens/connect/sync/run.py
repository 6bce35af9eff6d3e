"""One sync of a connection: pull the conversations its platform updated since the stored
cursor, page by page, fold each into the conversation its webhooks folded, convert and
store it the way the settler does (connect/settle.py), and advance the cursor only once the
page's events are stored (journaled by the server's writer, or committed by `chatlens
sync`; one write per page). An interrupted sync continues at the page it stopped on; a page
pulled twice stores nothing twice (event ids come from the platform's ids)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import update
from sqlalchemy.orm import sessionmaker

from chatlens.app import service
from chatlens.app.models import (
    Connection,
    ConnectionBatch,
    ConnectionConversation,
    ConnectionProblem,
    ConnectionSync,
    now,
)
from chatlens.connect.platforms import platform
from chatlens.connect.receive import latest, reason, rows
from chatlens.connect.settle import Submit
from chatlens.connect.sync.clients import Client, Pulled, client_for
from chatlens.connect.sync.http import PlatformError
from chatlens.errors import InputError

log = logging.getLogger("chatlens.sync")

OVERLAP = 1.0
"""Seconds pulled again below the high-water mark: a conversation updated in the same
second as the last one pulled is not missed (pulling one twice stores nothing twice)."""


@dataclass
class Outcome:
    """What one sync did."""

    conversations: int = 0
    events: int = 0
    """Events stored (those stored before, by webhooks or an earlier sync, not counted)."""
    pages: int = 0
    quarantined: int = 0
    retries: int = 0
    resumed: bool = False


def who(conn: Connection) -> str:
    """How a connection is named in errors: its workspace, name and platform."""
    return f"connection {conn.name!r} of workspace {conn.workspace.name!r} ({conn.platform})"


class Syncer:
    """Runs syncs; `submit` stores rows durably (the settler's kind: the workspace's writer
    in the server, a store commit in the CLI)."""

    def __init__(
        self,
        sessions: sessionmaker[Any],
        folder: Path,
        submit: Submit,
        sleep: Callable[[float], None] = time.sleep,
        stop: threading.Event | None = None,
    ):
        """`stop`: once set, a sync ends after the page it is on (its cursor stored)."""
        self.sessions, self.folder, self.submit, self.sleep = sessions, folder, submit, sleep
        self.stop = stop or threading.Event()

    def run(self, connection_id: int, since: float | None = None) -> Outcome:
        """Sync one connection; `since` (Unix seconds) starts over from that time instead
        of the stored cursor. Raises InputError (no API credentials, revoked) or
        PlatformError (the platform refused, or kept failing: the cursor stays where the
        last stored page left it)."""
        with self.sessions() as db:
            conn = db.get(Connection, connection_id)
            if conn is None:
                raise InputError(f"no connection {connection_id}")
            name = who(conn)
            if conn.status != "active":
                raise InputError(f"{name} was revoked: it is not synced")
            if not conn.api_url or not conn.api_token:
                raise InputError(
                    f"{name} has no API credentials: create a connection with --api-url and "
                    "--api-token to sync it (docs/connections.md)"
                )
            state = db.get(ConnectionSync, connection_id) or ConnectionSync(
                connection_id=connection_id, conversations=0, events=0
            )
            if since is not None:  # start over from that time
                state.high_water, state.run_high, state.page = since + OVERLAP, None, None
            outcome = Outcome(resumed=state.page is not None)
            state.started_at, state.last_error = now(), None
            db.add(state)
            db.commit()
            client = client_for(
                conn.platform, conn.api_url, conn.api_token, conn.api_account, name, self.sleep
            )
        try:
            self._pages(connection_id, client, outcome)
        except PlatformError as exc:
            self._failed(connection_id, str(exc))
            raise
        finally:
            outcome.retries = client.api.retries
            client.close()
        return outcome

    def _pages(self, connection_id: int, client: Client, outcome: Outcome) -> None:
        while True:
            with self.sessions() as db:
                state = db.get(ConnectionSync, connection_id)
                assert state is not None
                since = state.high_water - OVERLAP if state.high_water is not None else None
                token = state.page
            try:
                page = client.page(since, token)
            except (KeyError, TypeError, ValueError, AttributeError) as exc:
                raise PlatformError(
                    f"{client.api.who}: an answer of the platform has an unexpected shape "
                    f"({type(exc).__name__}): is --api-url the API's address?"
                ) from None
            taken, stored = self._take(connection_id, client, page.conversations)
            outcome.conversations += taken
            outcome.quarantined += len(page.conversations) - taken
            outcome.events += stored
            outcome.pages += 1
            # the page's events are stored: only now does the cursor move past it
            with self.sessions() as db:
                state = db.get(ConnectionSync, connection_id)
                assert state is not None
                newest = max((p.updated for p in page.conversations), default=None)
                if newest is not None:
                    state.run_high = max(state.run_high or newest, newest)
                state.conversations += taken
                state.events += stored
                state.page = page.next
                if page.next is None:
                    marks = [m for m in (state.high_water, state.run_high) if m is not None]
                    state.high_water = max(marks) if marks else None
                    state.run_high, state.finished_at = None, now()
                db.commit()
            if page.next is None or self.stop.is_set():
                return

    def _take(self, connection_id: int, client: Client, page: list[Pulled]) -> tuple[int, int]:
        """Fold a page's conversations into the folded ones and store their events with one
        write (as the settler would, in one go); how many were taken and the events stored.
        A conversation that cannot be converted is quarantined and stays as it was."""
        kind = platform(client.platform)
        taken: list[tuple[str, int]] = []
        events: list[dict[str, Any]] = []
        converted: list[dict[str, Any]] = []
        with self.sessions() as db:
            conn = db.get(Connection, connection_id)
            assert conn is not None
            workspace = conn.workspace.name
            store = service.workspace_store(self.folder, conn.workspace)
            for pulled in page:
                key = (connection_id, pulled.key[:300])
                row = db.get(ConnectionConversation, key)
                before = orjson.loads(row.document) if row is not None else None
                try:
                    document = client.fold(before, pulled.document)
                    mine = kind.convert(document) if kind.ready(document) else []
                    mine_rows = rows(mine)
                except Exception as exc:  # named by field, kept for a look, never the text
                    db.add(
                        ConnectionProblem(
                            connection_id=connection_id,
                            delivery_id=f"sync:{pulled.key}"[:128],
                            status=200,
                            reason="pulled conversation: " + reason(exc),
                            body=orjson.dumps(pulled.document).decode(),
                        )
                    )
                    continue
                if row is None:
                    row = ConnectionConversation(
                        connection_id=key[0], conversation=key[1], document="", revision=0
                    )
                    db.add(row)
                row.document, row.revision = orjson.dumps(document).decode(), row.revision + 1
                row.settled, row.updated_at = False, now()
                taken.append((key[1], row.revision))
                events += mine
                converted += mine_rows
            db.commit()  # folded (unsettled: the server's settler stores them if we stop here)
        stored = self.submit(workspace, store, converted) if converted else 0
        with self.sessions() as db:
            for conversation, revision in taken:  # settled unless a webhook came meanwhile
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
        return len(taken), stored

    def _failed(self, connection_id: int, message: str) -> None:
        with self.sessions() as db:
            state = db.get(ConnectionSync, connection_id)
            if state is not None:
                state.last_error = message[:500]
            db.add(ConnectionProblem(connection_id=connection_id, status=502, reason=message[:500]))
            db.commit()
