from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest

from chatlens.ingest import import_file
from chatlens.store import Store, open_store
from chatlens.store.facts import refresh_facts


@pytest.fixture
def store(tmp_path: Path):
    with open_store(tmp_path / "test.duckdb") as s:
        yield s


def write_jsonl(path: Path, events: list[dict[str, Any]]) -> Path:
    path.write_bytes(b"".join(orjson.dumps(e) + b"\n" for e in events))
    return path


def load(store: Store, events: list[dict[str, Any]], tmp: Path, name: str = "in.jsonl"):
    """Import events through the normal file path and refresh the facts."""
    summary = import_file(store, write_jsonl(tmp / name, events))
    refresh_facts(store)
    return summary


def facts(store: Store) -> dict[str, dict[str, Any]]:
    """The facts table as {conversation_id: {column: value}}."""
    cur = store.con.execute("SELECT * FROM conversation_facts ORDER BY conversation_id")
    names = [d[0] for d in cur.description]
    return {row[0]: dict(zip(names, row, strict=True)) for row in cur.fetchall()}
