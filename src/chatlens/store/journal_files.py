"""The ingest journal's files beside a store, as files: which they are, and rewriting one
atomically (retention and erasure change journalled rows in place)."""

from __future__ import annotations

import os
from pathlib import Path


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
