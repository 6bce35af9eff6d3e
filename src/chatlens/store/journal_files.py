"""The ingest journal's files beside a store, as files: which they are, and rewriting one
atomically (retention and erasure change journalled rows in place)."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson


def sync_folder(folder: Path) -> None:
    """Make a file's creation or rename durable (its directory entry)."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def journal_files(store: Path) -> list[Path]:
    """The journal of a store and its rotated segments (`<store>.journal`, `.journal.N`)."""
    journal = store.with_suffix(".journal")
    found = [p for p in journal.parent.glob(journal.name + ".*") if p.suffix[1:].isdigit()]
    return [*sorted(found), journal] if journal.exists() else sorted(found)


def replace_file(path: Path, data: bytes) -> None:
    """Write `data` to `path` atomically and durably (a crash leaves the old or the new)."""
    tmp = path.with_name(path.name + ".rewriting")
    with tmp.open("wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    tmp.replace(path)
    sync_folder(path.parent)


def rewrite_rows(store: Path, change: Callable[[dict[str, Any]], bool]) -> int:
    """Apply `change` to every journalled row of a store (it edits the row in place and says
    whether it changed it); each file with a change is rewritten atomically. A line that does
    not decode (torn by a crash, never acknowledged) is dropped, as replay drops it. Returns
    how many rows changed."""
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
            for row in group if isinstance(group, list) else [group]:
                if change(row):
                    changed += 1
                    touched = True
            lines.append(orjson.dumps(group))
        if touched:
            replace_file(path, b"".join(line + b"\n" for line in lines))
    return changed
