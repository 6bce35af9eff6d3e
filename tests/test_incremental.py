"""Facts refreshed after random batches equal a full rebuild over the same events."""

from __future__ import annotations

import datetime as dt
import random

from chatlens.ingest import import_file
from chatlens.simulate import SimConfig, write_events
from chatlens.store import open_store
from chatlens.store.facts import refresh_facts

from .conftest import facts


def stints(store):
    return store.con.execute(
        "SELECT * FROM agent_stints ORDER BY conversation_id, started_at, agent_id"
    ).fetchall()


def test_incremental_equals_full_rebuild(tmp_path):
    source = tmp_path / "sim.jsonl"
    write_events(SimConfig(conversations=400, days=20, seed=3, end=dt.date(2026, 11, 1)), source)
    lines = source.read_bytes().splitlines(keepends=True)
    random.Random(5).shuffle(lines)  # out of order, late events, goals before their chats
    cuts = sorted(random.Random(6).sample(range(1, len(lines)), 5))
    batches = [lines[a:b] for a, b in zip([0, *cuts], [*cuts, len(lines)], strict=True)]

    with open_store(tmp_path / "incremental.duckdb") as store:
        for number, batch in enumerate(batches):
            part = tmp_path / f"batch{number}.jsonl"
            part.write_bytes(b"".join(batch))
            import_file(store, part)
            result = refresh_facts(store)
            assert result.full == (number == 0)
        incremental = facts(store)
        incremental_stints = stints(store)

    with open_store(tmp_path / "full.duckdb") as store:
        summary = import_file(store, source)
        assert summary.rejected == 0
        refresh_facts(store, full=True)
        full = facts(store)
        assert stints(store) == incremental_stints
        assert len(incremental_stints) > 100

    assert len(full) == 400
    assert incremental.keys() == full.keys()
    for conversation_id, row in full.items():
        assert incremental[conversation_id] == row, conversation_id
    # the simulated operation exercises the cross-conversation facts
    assert sum(r["followup_contact"] for r in full.values()) > 0
    assert sum(r["conversions"] for r in full.values()) > 0
    assert sum(r["missed"] for r in full.values()) > 0
    # agent statuses from later batches changed the reasons of earlier missed chats
    assert sum(r["missed_reason"] == "no_agent_online" for r in full.values()) > 0
    assert sum(r["bounced"] for r in full.values()) > 0
