"""Conversions made while folding, kept for the settler.

A delivery (or a Rasa batch) is folded only once its conversation converts with it, so the
folder has converted the conversation at exactly the revision it commits; the settler would
convert the same document again. The folder leaves the result here once its commit is done,
and the settler takes it when the revision it settles is the same; otherwise (another fold
since, a restart, an entry dropped) it converts. Kept in memory only: losing it costs a
conversion, never an event."""

from __future__ import annotations

import threading
from typing import Any

Key = tuple[str, int, str, int]
"""(app state URL, connection id, conversation, revision)."""
MOST = 50_000
"""Entries kept at most (conversations folded and not settled yet); beyond, all are dropped."""


class Converted:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[Key, tuple[list[dict[str, Any]], list[dict[str, Any]]]] = {}

    def put(self, key: Key, events: list[dict[str, Any]], rows: list[dict[str, Any]]) -> None:
        """After the commit of `key`'s revision: its events and their store rows."""
        with self._lock:
            if len(self._entries) >= MOST:
                self._entries.clear()
            self._entries[key] = (events, rows)
            older = (*key[:3], key[3] - 1)
            self._entries.pop(older, None)

    def take(self, key: Key) -> tuple[list[dict[str, Any]], list[dict[str, Any]]] | None:
        with self._lock:
            return self._entries.pop(key, None)


CONVERTED = Converted()
"""The server's (one per process; keys name the app state, so two servers in one process,
as in tests, never share an entry)."""
