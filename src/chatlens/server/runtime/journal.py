"""The ingest journal: acknowledged events that are not yet in the store.

An ingest request is answered once its events are in this journal and the journal is synced
to disk (a few hundred microseconds), not after a DuckDB commit (5-7 ms of fixed cost per
insert into the wide events table, measured here, and sometimes a checkpoint). A mover thread
takes the journal into the store in bulk a few times a second: it rotates the current file to
a numbered segment, inserts the segment's rows, commits, and deletes the segment. On open,
every segment left by a crash is replayed into the store; the store's dedupe by `event_id`
makes replaying already-moved rows harmless.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Any

import orjson

from chatlens.events import COLUMNS
from chatlens.store.journal_files import sync_folder

__all__ = ["Journal", "read_rows", "sync_folder"]

_TIMES = [name for name, kind in COLUMNS.items() if kind == "ts"]


class Journal:
    def __init__(self, path: Path):
        self.path = path
        self._number = max((n for n, _ in self.segments()), default=0)
        self._file = path.open("ab")
        sync_folder(path.parent)

    def segments(self) -> list[tuple[int, Path]]:
        """Rotated segments waiting to be moved, oldest first."""
        found = []
        for item in self.path.parent.glob(self.path.name + ".*"):
            suffix = item.name.rsplit(".", 1)[1]
            if suffix.isdigit():
                found.append((int(suffix), item))
        return sorted(found)

    def append(self, rows: list[dict[str, Any]]) -> None:
        """Write rows as one line and sync it to disk (the durability point of an ingest).
        One line per call makes the group atomic: a crash mid-write leaves a torn line that
        replay drops whole, so an unanswered batch is never kept in part (a retry then finds
        all of it new, or, when the line was complete, all of it a duplicate)."""
        if not rows:
            return
        self._file.write(orjson.dumps(rows) + b"\n")
        self._file.flush()
        os.fsync(self._file.fileno())

    def rotate(self) -> Path:
        """Close the current file as the next segment and start a new one; returns the
        segment (delete it once its rows are in the store)."""
        self._file.close()
        self._number += 1
        segment = self.path.with_name(f"{self.path.name}.{self._number}")
        self.path.rename(segment)
        self._file = self.path.open("ab")
        sync_folder(self.path.parent)
        return segment

    def replay(self) -> list[dict[str, Any]]:
        """The rows left by a previous run: every segment, then the current file. A torn
        last line (the crash hit mid-write) was never synced, so never acknowledged: it is
        dropped whole."""
        rows = []
        for path in [p for _, p in self.segments()] + [self.path]:
            rows.extend(read_rows(path))
        return rows

    def forget(self) -> None:
        """Everything replayed is in the store: drop the segments and empty the file."""
        for _, path in self.segments():
            path.unlink()
        self._file.truncate(0)
        self._file.flush()
        os.fsync(self._file.fileno())

    def close(self) -> None:
        self._file.close()


def read_rows(path: Path) -> list[dict[str, Any]]:
    """The rows of a journal file: a line is one appended group (a JSON array); a line
    holding one object is a row written by an earlier version, one row per line."""
    rows = []
    for line in path.read_bytes().split(b"\n"):
        try:
            group = orjson.loads(line)
        except orjson.JSONDecodeError:
            continue
        for row in group if isinstance(group, list) else [group]:
            for name in _TIMES:
                if row.get(name) is not None:
                    row[name] = dt.datetime.fromisoformat(row[name])
            rows.append(row)
    return rows
