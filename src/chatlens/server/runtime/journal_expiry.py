"""Retention applied to the ingest journal files left beside a store (by a crash, or while
the server is stopped): what is due is blanked in place, each file rewritten atomically."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from chatlens.store.journal_files import journal_files, rewrite_rows
from chatlens.store.retention import expire_row
from chatlens.store.settings import Settings

__all__ = ["expire_journal", "journal_files"]


def expire_journal(store: Path, settings: Settings, due: dict[str, dt.datetime]) -> int:
    """Blank the due fields of every journalled row; returns the rows changed. A line that
    does not decode (torn by a crash, never acknowledged, dropped by replay) is dropped."""
    return rewrite_rows(
        store, lambda row: expire_row(row, dt.datetime.fromisoformat(row["ts"]), settings, due)
    )
