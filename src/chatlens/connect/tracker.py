"""The website tracker's rules (`/t.js` sends, `POST /api/v1/track/{key}` receives): which
site a public key names and which origins may use it, the events a beacon may carry, their
stable ids, and the per-visitor rate limit. No IP address is read or kept anywhere here.

A beacon is `{"sent": <client epoch ms>, "events": [...]}`; each event is in the spec's
vocabulary (`visit_started`, `page_view`, or `conversation_started` for a chat widget
opened) with a client-made `id`. The server makes the stored event from it: `event_id`
namespaced by the connection (`t<connection>-<id>`, so a resent beacon counts once and one
site cannot take another's ids), `channel: web`, and the time moved by the client clock's
offset (`sent` against the server's clock), so a visitor's wrong clock does not move
their visit to another day.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy.orm import sessionmaker

from chatlens.app import service
from chatlens.app.connections import find_site
from chatlens.app.models import ConnectionBatch, ConnectionProblem
from chatlens.connect.receive import latest, plain
from chatlens.errors import EventError
from chatlens.events import parse_event, to_row

TYPES = ("visit_started", "page_view", "conversation_started")
"""What a tracker key may send: a visit, a page view, a chat widget opened."""
FIELDS = {
    "visit_started": frozenset({"id", "type", "ts", "customer_id", "session_id", "page_url"}),
    "page_view": frozenset({"id", "type", "ts", "customer_id", "session_id", "page_url"}),
    "conversation_started": frozenset(
        {"id", "type", "ts", "customer_id", "session_id", "page_url", "conversation_id"}
    ),
}
MAX_BEACON_BYTES = 64 * 1024
MAX_BEACON_EVENTS = 100
RATE_EVENTS = 120
"""Events one visitor may send per `RATE_WINDOW` seconds (a person reading pages sends a
few a minute; a script looping sends thousands)."""
RATE_WINDOW = 60.0
_ID = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
log = logging.getLogger("chatlens.server")


class TrackError(Exception):
    """A beacon refused: HTTP status, stable code, message; `details` name record and field."""

    def __init__(
        self, status: int, message: str, code: str, details: list[dict[str, Any]] | None = None
    ):
        super().__init__(message)
        self.status, self.message, self.code, self.details = status, message, code, details


@dataclass(frozen=True)
class Site:
    """What a request needs to know of a tracker connection."""

    connection_id: int
    workspace: str
    store: Path
    origins: frozenset[str]
    active: bool

    def allows(self, origin: str | None) -> bool:
        return origin is not None and origin.lower() in self.origins


def lookup(sessions: sessionmaker[Any], folder: Path, key: str) -> Site | None:
    """The site a public key names, read fresh (a revoked key is refused at once)."""
    if not _ID.match(key):  # site keys are 22 URL-safe characters
        return None
    with sessions() as db:
        found = find_site(db, key)
        if found is None:
            return None
        conn = found.connection
        return Site(
            connection_id=conn.id,
            workspace=conn.workspace.name,
            store=service.workspace_store(folder, conn.workspace),
            origins=frozenset(found.origins.split("\n")),
            active=conn.status == "active",
        )


def _bad(index: int | None, field: str, message: str) -> dict[str, Any]:
    return {"index": index, "field": field, "message": message}


def _event(site: Site, index: int, record: Any, offset_ms: int, now_ms: int) -> dict[str, Any]:
    """The spec event of one beacon record, or TrackError naming the record and field."""
    if not isinstance(record, dict):
        raise TrackError(400, "", "", [_bad(index, "(event)", "expected a JSON object")])
    kind = record.get("type")
    if kind not in TYPES:
        message = f"a tracker key accepts only {', '.join(TYPES)} (a chat widget opened)"
        raise TrackError(400, "", "", [_bad(index, "type", message)])
    unknown = sorted(str(k)[:40] for k in record if k not in FIELDS[kind])
    if unknown:
        message = f"not accepted from the tracker (accepted: {', '.join(sorted(FIELDS[kind]))})"
        raise TrackError(400, "", "", [_bad(index, unknown[0], message)])
    client_id = record.get("id")
    if not isinstance(client_id, str) or not _ID.match(client_id):
        message = "required: 8 to 64 letters, digits, '-' or '_' (the same on a resent beacon)"
        raise TrackError(400, "", "", [_bad(index, "id", message)])
    ts = record.get("ts")
    if isinstance(ts, bool) or not isinstance(ts, int):
        raise TrackError(400, "", "", [_bad(index, "ts", "required: epoch milliseconds")])
    event = {k: v for k, v in record.items() if k != "id"}
    event["event_id"] = f"t{site.connection_id}-{client_id}"
    event["ts"] = min(ts + offset_ms, now_ms)
    event["channel"] = "web"
    if kind == "conversation_started":
        opened = record.get("conversation_id")
        if opened is not None and (not isinstance(opened, str) or not _ID.match(opened)):
            message = "8 to 64 letters, digits, '-' or '_'"
            raise TrackError(400, "", "", [_bad(index, "conversation_id", message)])
        # the widget's own conversation, in the tracker's namespace: a public key cannot
        # write into a conversation another connection brought
        event["conversation_id"] = f"t{site.connection_id}-{opened or client_id}"
    try:
        return to_row(parse_event(event))
    except EventError as exc:
        details = [_bad(index, str(e["field"]), plain(str(e["message"]))) for e in exc.as_dicts()]
        raise TrackError(400, "", "", details) from None


def rows(
    site: Site, body: bytes, now_ms: int | None = None
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The store rows of a beacon's valid events, and an error (index, field, message;
    never the value sent) for each refused one: a bad record does not lose its neighbours,
    which a script cannot send again fixed. TrackError when the body is not a beacon."""
    now_ms = int(time.time() * 1000) if now_ms is None else now_ms
    try:
        beacon = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise TrackError(400, "the body is not JSON (cut short?)", "bad_request") from None
    if not isinstance(beacon, dict) or not isinstance(beacon.get("events"), list):
        details = [_bad(None, "events", 'expected {"sent": ms, "events": [...]}')]
        raise TrackError(400, "the body is not a beacon", "bad_request", details)
    records = beacon["events"]
    if not records or len(records) > MAX_BEACON_EVENTS:
        details = [_bad(None, "events", f"1 to {MAX_BEACON_EVENTS} events per beacon")]
        raise TrackError(400, "the beacon holds no or too many events", "bad_request", details)
    sent = beacon.get("sent")
    offset = now_ms - sent if isinstance(sent, int) and not isinstance(sent, bool) else 0
    out, errors = [], []
    for index, record in enumerate(records):
        try:
            out.append(_event(site, index, record, offset, now_ms))
        except TrackError as exc:
            errors.extend(exc.details or [])
    return out, errors


class VisitorLimiter:
    """At most `events` events per visitor (site and `customer_id`) in each `window`
    seconds. The visitor id is what the beacon says: it stops a page (or a script)
    flooding as one visitor; the body limit bounds each request."""

    def __init__(self, events: int = RATE_EVENTS, window: float = RATE_WINDOW):
        self.events, self.window = events, window
        self._counts: dict[tuple[int, str], tuple[float, int]] = {}
        self._lock = threading.Lock()
        self._swept = time.monotonic()

    def take(self, site: int, visitors: dict[str, int]) -> int:
        """Counts the beacon's events per visitor and returns 0, or the seconds to wait
        (nothing counted) when one of its visitors is over the limit."""
        with self._lock:
            now = time.monotonic()
            if now - self._swept > self.window:  # forget visitors whose window ended
                self._counts = {k: v for k, v in self._counts.items() if v[0] + self.window > now}
                self._swept = now
            waits, updated = [], {}
            for visitor, count in visitors.items():
                start, used = self._counts.get((site, visitor), (now, 0))
                if start + self.window <= now:
                    start, used = now, 0
                if used + count > self.events:
                    waits.append(int(start + self.window - now) + 1)
                updated[(site, visitor)] = (start, used + count)
            if waits:
                return max(waits)
            self._counts.update(updated)
            return 0


def visitors(batch: list[dict[str, Any]]) -> dict[str, int]:
    """Events per visitor id in a beacon."""
    counts: dict[str, int] = {}
    for row in batch:
        counts[row["customer_id"]] = counts.get(row["customer_id"], 0) + 1
    return counts


class Tally:
    """The tracker's lines on the Connections page (events stored, refusals), written to the
    app state by one thread about once a second: a beacon's answer waits for the journal,
    not for an app-state commit, and a flood of refusals costs one commit a second (at most
    `MAX_PROBLEMS` of them kept per connection and second)."""

    MAX_PROBLEMS = 20

    def __init__(self, sessions: sessionmaker[Any], every: float = 1.0):
        self.sessions, self.every = sessions, every
        self._lock = threading.Lock()
        self._events: dict[int, tuple[int, Any]] = {}
        self._problems: dict[int, list[tuple[int, str]]] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="chatlens-tracker", daemon=True)
        self._thread.start()

    def stored(self, site: Site, accepted: int, batch: list[dict[str, Any]]) -> None:
        """`accepted` events of `batch` stored: counted with the latest time they carry."""
        if not accepted:
            return
        last = latest(batch)
        with self._lock:
            count, before = self._events.get(site.connection_id, (0, None))
            newest = max((t for t in (before, last) if t is not None), default=None)
            self._events[site.connection_id] = (count + accepted, newest)

    def problem(self, site: Site, status: int, reason: str) -> None:
        """A refused beacon: the reason names the field, never a value the beacon sent (and
        no address: the tracker keeps none)."""
        with self._lock:
            held = self._problems.setdefault(site.connection_id, [])
            if len(held) < self.MAX_PROBLEMS:
                held.append((status, reason[:500]))

    def flush(self) -> None:
        with self._lock:
            events, self._events = self._events, {}
            problems, self._problems = self._problems, {}
        if not events and not problems:
            return
        try:
            with self.sessions() as db:
                for conn, (count, last) in events.items():
                    db.add(ConnectionBatch(connection_id=conn, events=count, event_at=last))
                for conn, held in problems.items():
                    for status, reason in held:
                        db.add(ConnectionProblem(connection_id=conn, status=status, reason=reason))
                db.commit()
        except Exception:  # kept for the next turn
            with self._lock:
                for conn, (count, last) in events.items():
                    more, newer = self._events.get(conn, (0, None))
                    times = [t for t in (last, newer) if t is not None]
                    self._events[conn] = (count + more, max(times, default=None))
                for conn, held in problems.items():
                    self._problems[conn] = (held + self._problems.get(conn, []))[
                        : self.MAX_PROBLEMS
                    ]
            raise

    def _loop(self) -> None:
        while not self._stop.wait(self.every):
            try:
                self.flush()
            except Exception:  # the app state busy or gone: the counts wait for the next turn
                log.exception("tracker counts not written yet")

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self.flush()
