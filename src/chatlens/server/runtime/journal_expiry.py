"""Retention applied to the ingest journal files left beside a store (by a crash, or while
the server is stopped): what is due is blanked in place, each file rewritten atomically."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import orjson

from chatlens.store.journal_files import journal_files, replace_file
from chatlens.store.retention import expire_row
from chatlens.store.settings import Settings

__all__ = ["expire_journal", "journal_files"]


def expire_journal(store: Path, settings: Settings, due: dict[str, dt.datetime]) -> int:
    """Blank the due fields of every journalled row; returns the rows changed. A line that
    does not decode (torn by a crash, never acknowledged, dropped by replay) is dropped."""
    changed = 0
    for path in journal_files(store):
        lines, touched = [], False
        for line in path.read_bytes().split(b"\n"):
            if not line.strip():
                continue
            try:
                group = orjson.loads(line)
            except orjson.JSONDecodeError:
                touched = True
                continue
            rows = group if isinstance(group, list) else [group]
            for row in rows:
                ts = dt.datetime.fromisoformat(row["ts"])
                if expire_row(row, ts, settings, due):
                    changed += 1
                    touched = True
            lines.append(orjson.dumps(group))
        if touched:
            replace_file(path, b"".join(line + b"\n" for line in lines))
    return changed
