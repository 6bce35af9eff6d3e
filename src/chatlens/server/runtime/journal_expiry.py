"""Retention applied to the ingest journal files left beside a store (by a crash, or while
the server is stopped): what is due is blanked in place, each file rewritten atomically."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import orjson

from chatlens.server.runtime.journal import sync_folder
from chatlens.store.retention import expire_row
from chatlens.store.settings import Settings


def journal_files(store: Path) -> list[Path]:
    """The journal of a store and its rotated segments (`<store>.journal`, `.journal.N`)."""
    journal = store.with_suffix(".journal")
    found = [p for p in journal.parent.glob(journal.name + ".*") if p.suffix[1:].isdigit()]
    return [*sorted(found), journal] if journal.exists() else sorted(found)


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
            _replace(path, b"".join(line + b"\n" for line in lines))
    return changed


def _replace(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".expiring")
    with tmp.open("wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    tmp.replace(path)
    sync_folder(path.parent)
