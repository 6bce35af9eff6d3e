"""The ingest journal: acknowledged events that are not yet in the store.

An ingest request is answered once its events are in this file and the file is synced to disk
(a few hundred microseconds), not after a DuckDB commit (5-7 ms of fixed cost per insert into
the wide events table, measured here). The writer moves the journal into the store in bulk a
few times a second and then empties it; after a crash the journal is replayed into the store on
open, and the store's dedupe by `event_id` makes a replay of already-moved events harmless.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Any

import orjson

from chatlens.events import COLUMNS

_TIMES = [name for name, kind in COLUMNS.items() if kind == "ts"]


class Journal:
    def __init__(self, path: Path):
        self.path = path
        self._file = path.open("ab")

    def append(self, rows: list[dict[str, Any]]) -> None:
        """Write rows and sync them to disk (the durability point of an ingest)."""
        if not rows:
            return
        self._file.write(b"".join(orjson.dumps(row) + b"\n" for row in rows))
        self._file.flush()
        os.fsync(self._file.fileno())

    def clear(self) -> None:
        """Everything written so far is in the store."""
        self._file.truncate(0)
        self._file.flush()
        os.fsync(self._file.fileno())

    def replay(self) -> list[dict[str, Any]]:
        """The rows left by a previous run. A torn last line (the crash hit mid-write) was
        never synced, so never acknowledged: it is dropped."""
        rows = []
        for line in self.path.read_bytes().split(b"\n"):
            try:
                row = orjson.loads(line)
            except orjson.JSONDecodeError:
                continue
            for name in _TIMES:
                if row.get(name) is not None:
                    row[name] = dt.datetime.fromisoformat(row[name])
            rows.append(row)
        return rows

    def close(self) -> None:
        self._file.close()
