"""The audit trail: who viewed which transcript and who exported which conversation rows
(docs/privacy.md "Audit trail"), kept in the app state (`audit_records`).

`AuditTrail.record` writes one record and commits before it returns (on the server through
`AuditWriter`, which commits the records of concurrent reads together): the Reader calls it
before it hands a transcript or an export over, so a failure to record fails the read and
nothing is lost on any shutdown. A record holds ids, a period, filters and a
count, never any text of the conversations.
"""

from __future__ import annotations

import datetime as dt
import getpass
import queue
import threading
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session as DbSession
from sqlalchemy.orm import sessionmaker

from chatlens.app.models import AUDIT_ACTIONS, ApiKey, AuditRecord, User, Workspace, now
from chatlens.errors import InputError, NotFound, did_you_mean

MAX_PER_PAGE = 200


def cli_seat() -> str:
    """The seat of a command run on the machine: `cli:` and the login running it."""
    try:
        login = getpass.getuser()
    except (KeyError, OSError):  # no name for the uid (containers)
        login = "unknown"
    return f"cli:{login}"


class AuditWriter:
    """Group commit for the server: the records of reads made at the same moment go into
    one transaction and one disk sync (SQLite's commit waits for the disk; concurrent reads
    then share the wait). Each caller still waits for its record's commit, so a record is
    kept before its read answers, a failed commit fails the reads it carried, and a
    shutdown leaves nothing unwritten."""

    MOST = 500
    """Most records one transaction takes."""

    def __init__(self, sessions: sessionmaker[Any]):
        self.engine = sessions.kw["bind"]
        self._queue: queue.Queue[tuple[str, dict[str, Any], Future[None]] | None] = queue.Queue()
        self._thread = threading.Thread(target=self._loop, name="chatlens-audit", daemon=True)
        self._thread.start()

    def write(self, workspace: str, values: dict[str, Any]) -> None:
        """Keep one record of `workspace`; returns once committed (or raises why not)."""
        done: Future[None] = Future()
        self._queue.put((workspace, values, done))
        done.result()

    def _loop(self) -> None:
        while True:
            item = self._queue.get()
            group = [item]
            while item is not None and len(group) < self.MOST:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                group.append(item)
            self._commit([g for g in group if g is not None])
            if group[-1] is None:
                return

    def _commit(self, group: list[tuple[str, dict[str, Any], Future[None]]]) -> None:
        if not group:
            return
        try:
            with self.engine.begin() as connection:
                names = {name for name, _, _ in group}
                found = select(Workspace.name, Workspace.id).where(Workspace.name.in_(names))
                ids = {name: ws_id for name, ws_id in connection.execute(found)}
                rows = [{"workspace_id": ids[n], **v} for n, v, _ in group if n in ids]
                if rows:
                    connection.execute(insert(AuditRecord), rows)
        except Exception as exc:
            for _, _, done in group:
                done.set_exception(exc)
            return
        for name, _, done in group:
            if name in ids:
                done.set_result(None)
            else:
                done.set_exception(NotFound(f"no workspace {name!r}"))

    def close(self) -> None:
        """Write what is queued, then stop."""
        self._queue.put(None)
        self._thread.join()


class AuditTrail:
    """Records the reads of one seat in one workspace, made through one route (the Reader's
    `audit`). `seat`: `user:ID`, `key:ID` or `cli:LOGIN`; `route`: `GET /path/{param}` or
    the command (`chatlens export conversations`). With a `writer` (the server's), records
    are group-committed; without, each is committed on its own."""

    def __init__(
        self,
        sessions: sessionmaker[Any],
        workspace: str,
        seat: str,
        route: str,
        writer: AuditWriter | None = None,
    ):
        self.sessions = sessions
        self.workspace = workspace
        self.seat = seat
        self.route = route
        self.writer = writer

    def record(
        self,
        action: str,
        *,
        conversation_id: str | None = None,
        filters: dict[str, Any] | None = None,
        rows: int | None = None,
    ) -> None:
        """Write one record now (committed when this returns; raises if it cannot be)."""
        if action not in AUDIT_ACTIONS:
            raise ValueError(f"unknown audit action {action!r}")
        values = {
            "at": now(),
            "seat": self.seat,
            "action": action,
            "route": self.route[:300],
            "conversation_id": conversation_id,
            "filters": None
            if filters is None
            else orjson.dumps(filters, option=orjson.OPT_SORT_KEYS).decode(),
            "rows": rows,
        }
        if self.writer is not None:
            self.writer.write(self.workspace, values)
            return
        with self.sessions.kw["bind"].begin() as connection:
            found = connection.scalar(select(Workspace.id).where(Workspace.name == self.workspace))
            if found is None:
                raise NotFound(f"no workspace {self.workspace!r}")
            connection.execute(insert(AuditRecord), [{"workspace_id": found, **values}])


def _workspace_id(db: DbSession, name: str) -> int:
    found = db.scalar(select(Workspace.id).where(Workspace.name == name))
    if found is None:
        raise NotFound(f"no workspace {name!r}")
    return int(found)


@dataclass(frozen=True)
class Search:
    """What an admin asks of the trail: every field optional. `seat`: `user:ID`, `key:ID`,
    `cli:LOGIN` (or `cli` for every login) or a user's email; `since`/`until`: UTC instants,
    `until` excluded."""

    seat: str | None = None
    conversation: str | None = None
    action: str | None = None
    since: dt.datetime | None = None
    until: dt.datetime | None = None

    @classmethod
    def of(
        cls,
        seat: str | None = None,
        conversation: str | None = None,
        action: str | None = None,
        since: str | None = None,
        until: str | None = None,
    ) -> Search:
        """The filters as the API, the page and the CLI take them (text; a bad day: 400)."""
        return cls(
            seat=seat or None,
            conversation=conversation or None,
            action=action or None,
            since=parse_instant(since, "since"),
            until=parse_instant(until, "until", end=True),
        )


def parse_instant(text: str | None, field: str, *, end: bool = False) -> dt.datetime | None:
    """`since`/`until` as given: a day (`2026-12-01`: from its start, or with `end` up to its
    end) or a date-time (RFC 3339; without an offset, UTC). Naive UTC, as stored."""
    if text is None or not text.strip():
        return None
    value = text.strip()
    try:
        if len(value) == 10:
            day = dt.datetime.combine(dt.date.fromisoformat(value), dt.time())
            return day + dt.timedelta(days=1) if end else day
        moment = dt.datetime.fromisoformat(value)
        if moment.tzinfo is not None:
            moment = moment.astimezone(dt.UTC).replace(tzinfo=None)
        return moment
    except (ValueError, OverflowError):  # not a time, or beyond years 1-9999 once in UTC
        raise InputError(
            f"{field} {value!r}: expected a day (2026-12-01) or a date-time (2026-12-01T09:30:00Z)"
        ) from None


def search(
    db: DbSession, workspace: str, asked: Search, *, page: int = 1, per_page: int = 50
) -> tuple[int, list[dict[str, Any]]]:
    """How many records of `workspace` match `asked`, and the `page`-th page of them (from
    1), newest first, each with `seat_name` (the user's email or the key's name and prefix)."""
    if asked.action is not None and asked.action not in AUDIT_ACTIONS:
        hint = did_you_mean(asked.action, AUDIT_ACTIONS)
        raise InputError(f"action {asked.action!r}{hint}: expected one of {AUDIT_ACTIONS}")
    per_page = max(1, min(per_page, MAX_PER_PAGE))
    where = [AuditRecord.workspace_id == _workspace_id(db, workspace)]
    if asked.seat:
        where.append(_seat_condition(db, asked.seat.strip()))
    if asked.conversation is not None and asked.conversation != "":
        where.append(AuditRecord.conversation_id == asked.conversation)
    if asked.action:
        where.append(AuditRecord.action == asked.action)
    if asked.since is not None:
        where.append(AuditRecord.at >= asked.since)
    if asked.until is not None:
        where.append(AuditRecord.at < asked.until)
    total = db.scalar(select(func.count()).select_from(AuditRecord).where(*where)) or 0
    found = db.scalars(
        select(AuditRecord)
        .where(*where)
        .order_by(AuditRecord.at.desc(), AuditRecord.id.desc())
        .limit(per_page)
        .offset((max(1, page) - 1) * per_page)
    ).all()
    names = _seat_names(db, {r.seat for r in found})
    return int(total), [_shown(r, names) for r in found]


def _seat_condition(db: DbSession, seat: str) -> Any:
    if seat == "cli":
        return AuditRecord.seat.like("cli:%")
    if "@" in seat:
        user = db.scalar(select(User.id).where(User.email == seat.lower()))
        return AuditRecord.seat == f"user:{user}" if user is not None else AuditRecord.id < 0
    return AuditRecord.seat == seat


def _seat_names(db: DbSession, seats: set[str]) -> dict[str, str]:
    """What people call each seat: the user's email, the key's name and prefix."""
    users = [int(s[5:]) for s in seats if s.startswith("user:") and s[5:].isdigit()]
    keys = [int(s[4:]) for s in seats if s.startswith("key:") and s[4:].isdigit()]
    names = {}
    for user_id, email in db.execute(select(User.id, User.email).where(User.id.in_(users))):
        names[f"user:{user_id}"] = email
    for key_id, name, prefix in db.execute(
        select(ApiKey.id, ApiKey.name, ApiKey.prefix).where(ApiKey.id.in_(keys))
    ):
        names[f"key:{key_id}"] = f"API key {name or ''} ({prefix}…)".replace("  ", " ")
    return names


def _shown(record: AuditRecord, names: dict[str, str]) -> dict[str, Any]:
    return {
        "id": record.id,
        "at": record.at.replace(tzinfo=dt.UTC).isoformat().replace("+00:00", "Z"),
        "seat": record.seat,
        "seat_name": names.get(record.seat, record.seat),
        "action": record.action,
        "route": record.route,
        "conversation_id": record.conversation_id,
        "filters": orjson.loads(record.filters) if record.filters else None,
        "rows": record.rows,
    }


def expire(db: DbSession, workspace: str, days: float | None, moment: dt.datetime | None) -> int:
    """Remove the records of `workspace` older than `days` before `moment` (default now);
    returns how many went. `days` None keeps them forever."""
    if not days:
        return 0
    at = (
        moment.astimezone(dt.UTC).replace(tzinfo=None)
        if moment is not None and moment.tzinfo
        else (moment or now())
    )
    try:
        cutoff = at - dt.timedelta(days=days)
    except OverflowError:  # a retention longer than the calendar: nothing is that old
        return 0
    done = db.execute(
        delete(AuditRecord).where(
            AuditRecord.workspace_id == _workspace_id(db, workspace), AuditRecord.at < cutoff
        )
    )
    db.commit()
    return int(getattr(done, "rowcount", 0) or 0)


def workspace_of_store(db: DbSession, store_name: str) -> str | None:
    """The workspace whose store is the file `store_name` (beside the app state), if any."""
    found = db.scalar(select(Workspace.name).where(Workspace.store == store_name))
    return str(found) if found is not None else None
