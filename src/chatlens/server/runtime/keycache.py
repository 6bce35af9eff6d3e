"""Resolved API keys kept in memory, so an ingest request does not query the app state.

The cache is dropped whenever the app state changes, whoever changed it (this server, or
`chatlens keys revoke` in another process), so a revoked key is refused at once: SQLite's
`PRAGMA data_version` on a connection of its own changes when any other connection commits,
and reading it costs microseconds. On other databases (Postgres) nothing is cached.
"""

from __future__ import annotations

import threading
from typing import Any

from sqlalchemy import Engine


class KeyCache:
    def __init__(self, engine: Engine):
        self._lock = threading.Lock()
        self._entries: dict[str, Any] = {}
        self._version: int | None = None
        self._connection = engine.raw_connection() if engine.dialect.name == "sqlite" else None

    def _drop_if_changed(self) -> None:
        assert self._connection is not None
        cursor = self._connection.cursor()
        try:
            version = cursor.execute("PRAGMA data_version").fetchone()[0]
        finally:
            cursor.close()
        if version != self._version:
            self._entries.clear()
            self._version = version

    def get(self, key_hash: str) -> Any:
        if self._connection is None:
            return None
        with self._lock:
            self._drop_if_changed()
            return self._entries.get(key_hash)

    def put(self, key_hash: str, value: Any) -> None:
        if self._connection is None:
            return
        with self._lock:
            if len(self._entries) > 10_000:
                self._entries.clear()
            self._entries[key_hash] = value

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
