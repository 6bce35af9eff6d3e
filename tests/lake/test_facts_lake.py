"""Facts derived into the lake (chatlens.lake.facts) on DuckDB: equal to the store's facts
row for row, and incremental runs equal to a full rebuild after late and out-of-order
events, duplicates and a settings change."""

from __future__ import annotations

import datetime as dt
import logging
import math
import re
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from chatlens.ingest import import_file
from chatlens.lake.facts import STATE_FILE, derive, read_state
from chatlens.lake.layout import EVENTS, FACTS, STINTS, Lake
from chatlens.simulate import SimConfig, write_events
from chatlens.store import open_store
from chatlens.store.facts import build_facts_table, facts_version, refresh_facts
from chatlens.store.settings import load_settings, make_settings

from ..test_metrics_reference import load_fixture
from .lakekit import run_rows, store_events, store_facts, write_day_files

STINTS_ORDER = ("conversation_id", "started_at", "agent_id")


def lake_rows(lake: Lake, kind: str) -> list[dict[str, Any]]:
    """The lake's current facts (or stints), by the manifest, in the store's order."""
    state = read_state(lake)
    assert state is not None
    tables = [pq.read_table(p, filesystem=lake.fs) for p in state.files(lake, kind)]
    table = pa.concat_tables(tables)
    keys = ("conversation_id",) if kind == FACTS else STINTS_ORDER
    return table.sort_by([(k, "ascending") for k in keys]).to_pylist()


def differences(want: list[dict], got: list[dict]) -> list[tuple]:
    """(conversation, column, lake, store) of every value that differs (doubles to 12
    digits: sums may add in another order)."""
    assert len(got) == len(want)
    wrong = []
    for w, g in zip(want, got, strict=True):
        assert list(g) == list(w)  # same columns in the same order
        for key, value in w.items():
            other = g[key]
            if isinstance(value, float) and isinstance(other, float):
                if math.isclose(value, other, rel_tol=1e-12, abs_tol=1e-12):
                    continue
            elif other == value:
                continue
            wrong.append((w["conversation_id"], key, other, value))
    return wrong


@pytest.fixture(scope="module")
def simulated(tmp_path_factory):
    """300 simulated conversations over 14 days, imported into a store with its facts."""
    tmp = tmp_path_factory.mktemp("lake-facts-sim")
    cfg = SimConfig(conversations=300, days=14, seed=5, end=dt.date(2026, 11, 1))
    write_events(cfg, tmp / "events.jsonl")
    store = open_store(tmp / "sim.duckdb")
    import_file(store, tmp / "events.jsonl")
    refresh_facts(store)
    yield store
    store.close()


def test_reference_fixture_facts_in_the_lake_equal_the_store(tmp_path):
    with open_store(tmp_path / "reference.duckdb") as store:
        load_fixture(store, tmp_path)
        refresh_facts(store)
        lake = Lake.open(str(tmp_path / "lake"))
        write_day_files(lake, store_events(store))
        result = derive(lake, load_settings(store.con))
        assert result.full
        want_facts = store_facts(store, "conversation_facts")
        want_stints = store_facts(store, "agent_stints")
    assert result.conversations == len(want_facts) > 20
    assert not differences(want_facts, lake_rows(lake, FACTS))
    assert lake_rows(lake, STINTS) == want_stints
    # a run keeps the text of unflagged bot messages only (TEXT_READ), and that is enough:
    # d02's "Sorry, I didn't understand." (no flag) and its flagged "Hmm?" are fallbacks;
    # m09's phrase-like text flagged fallback=False is not, its flagged "What?" is
    got = {r["conversation_id"]: r for r in lake_rows(lake, FACTS)}
    assert (got["d02"]["fallback_messages"], got["d02"]["last_bot_turn_fallback"]) == (2, True)
    assert (got["m09"]["fallback_messages"], got["m09"]["last_bot_turn_fallback"]) == (1, False)


def test_simulation_facts_in_the_lake_equal_the_store(simulated, tmp_path):
    lake = Lake.open(str(tmp_path / "lake"))
    write_day_files(lake, store_events(simulated))
    settings = load_settings(simulated.con)
    result = derive(lake, settings)
    want = store_facts(simulated, "conversation_facts")
    assert result.full and result.conversations == len(want) == 300
    assert not differences(want, lake_rows(lake, FACTS))
    assert lake_rows(lake, STINTS) == store_facts(simulated, "agent_stints")
    state = read_state(lake)
    assert state is not None and state.version == facts_version(settings)
    # facts are partitioned by the conversation's start day, stints by the stint's start
    for kind, rows in ((FACTS, want), (STINTS, store_facts(simulated, "agent_stints"))):
        days = {r["started_at"].astimezone(dt.UTC).date().isoformat() for r in rows}
        assert set(getattr(state, kind)) == days
    assert (
        state.latest_event_at
        == max(r["ts"] for r in store_events(simulated).select(["ts"]).to_pylist()).isoformat()
    )
    # nothing changed: a second run derives nothing
    again = derive(lake, settings)
    assert (again.full, again.partitions, again.conversations) == (False, [], 0)


def test_a_full_derivation_in_slices_equals_the_store(simulated, tmp_path, caplog):
    """A full DuckDB derivation of a lake with more events than `slice_events` goes in
    slices of conversations (each closed under customer): the same rows as the store's,
    each conversation once. Slices go by customer, so no slice derives another's
    conversations (the simulation gives every conversation one customer)."""
    lake = Lake.open(str(tmp_path / "lake"))
    events = store_events(simulated)
    write_day_files(lake, events)
    with caplog.at_level(logging.INFO, logger="chatlens.lake"):
        result = derive(lake, load_settings(simulated.con), slice_events=events.num_rows // 4 + 1)
    want = store_facts(simulated, "conversation_facts")
    assert (result.full, result.slices, result.conversations) == (True, 4, 300)
    derived = [
        int(m.group(1))
        for r in caplog.records
        if (m := re.search(r"\((\d+) with their customers' others\)", r.getMessage()))
    ]
    assert len(derived) == 4 and sum(derived) == 300
    assert not differences(want, lake_rows(lake, FACTS))  # same count: none twice
    assert lake_rows(lake, STINTS) == store_facts(simulated, "agent_stints")
    state = read_state(lake)
    assert state is not None
    assert state.latest_event_at == max(events["ts"].to_pylist()).isoformat()
    # each slice wrote its own files as it ended: a busy day has several
    day = max(state.facts, key=lambda d: len(state.facts[d]))
    assert 1 < len(state.facts[day]) <= 4

    # a second copy of that day's messages arrives: the incremental run rewrites the day's
    # facts as one file, and nothing changes (the first copy of an event counts)
    write_day_files(lake, store_events(simulated, f"ts::DATE = '{day}' AND type = 'message'"))
    again = derive(lake, load_settings(simulated.con), slice_events=events.num_rows // 4 + 1)
    assert not again.full and again.partitions == [day]
    state = read_state(lake)
    assert state is not None and len(state.facts[day]) == 1
    assert not differences(want, lake_rows(lake, FACTS))
    assert lake_rows(lake, STINTS) == store_facts(simulated, "agent_stints")


def test_incremental_runs_after_a_new_day_and_late_events_equal_a_full_rebuild(simulated, tmp_path):
    """The lake fills as the days go: first all but the last day (and without the closing
    messages of some early conversations), then the last day, then the withheld events of
    those early conversations arrive late, in their old partitions; a duplicate file too."""
    store = simulated
    settings = load_settings(store.con)
    late = [
        r["conversation_id"]
        for r in store.con.sql(
            "SELECT conversation_id FROM conversation_facts "
            "WHERE messages >= 4 ORDER BY started_at, conversation_id LIMIT 5"
        )
        .to_arrow_table()
        .to_pylist()
    ]
    last_day = store.con.execute("SELECT max(ts)::DATE FROM events").fetchall()[0][0]
    ids = ", ".join(f"'{c}'" for c in late)
    # the withheld events: each late conversation's last message
    withheld = (
        f"event_id IN (SELECT arg_max(event_id, (ts, seq)) FROM events "
        f"WHERE type = 'message' AND conversation_id IN ({ids}) GROUP BY conversation_id)"
    )
    lake = Lake.open(str(tmp_path / "lake"))
    write_day_files(lake, store_events(store, f"ts::DATE < '{last_day}' AND NOT ({withheld})"))
    first = derive(lake, settings)
    assert first.full

    write_day_files(lake, store_events(store, f"ts::DATE = '{last_day}' AND NOT ({withheld})"))
    new_day = derive(lake, settings)
    assert not new_day.full and new_day.partitions == [last_day.isoformat()]
    # a new day's conversations, and those of their customers: not the whole history
    assert 0 < new_day.conversations < 300

    late_files = write_day_files(lake, store_events(store, withheld))
    late_days = sorted({p.split("date=")[1][:10] for p in late_files})
    out_of_order = derive(lake, settings)
    assert out_of_order.partitions == late_days
    assert set(late) <= {r["conversation_id"] for r in lake_rows(lake, FACTS)}

    # a duplicate copy of a day's file (the lake before compaction): counted once
    dup = store_events(store, f"ts::DATE = '{last_day}'").slice(0, 40)
    write_day_files(lake, dup)
    derive(lake, settings)

    incremental_facts, incremental_stints = lake_rows(lake, FACTS), lake_rows(lake, STINTS)
    want = store_facts(store, "conversation_facts")
    assert not differences(want, incremental_facts)
    assert incremental_stints == store_facts(store, "agent_stints")
    rebuilt = derive(lake, settings, full=True)
    assert rebuilt.full and rebuilt.conversations == 300
    assert not differences(incremental_facts, lake_rows(lake, FACTS))
    assert lake_rows(lake, STINTS) == incremental_stints
    # the files the manifest no longer names are gone
    state = read_state(lake)
    assert state is not None
    for kind in (FACTS, STINTS):
        listed = {p.rsplit("/", 1)[1] for p in state.files(lake, kind)}
        on_disk = {p.name for p in (tmp_path / "lake" / kind).rglob("*") if p.is_file()}
        assert on_disk == listed


def test_a_settings_change_rebuilds_every_partition(simulated, tmp_path):
    lake = Lake.open(str(tmp_path / "lake"))
    write_day_files(lake, store_events(simulated))
    derive(lake, load_settings(simulated.con))
    changed = make_settings({**load_settings(simulated.con).model_dump(), "fcr_followup_days": 1})
    result = derive(lake, changed)
    assert result.full and result.conversations == 300
    state = read_state(lake)
    assert state is not None and state.version == facts_version(changed)
    assert state.settings["fcr_followup_days"] == 1
    build_facts_table(simulated, changed, "_facts_changed")
    want = run_rows(simulated, "SELECT * FROM _facts_changed ORDER BY conversation_id")
    assert not differences(want, lake_rows(lake, FACTS))


def test_the_manifest_is_written_whole(simulated, tmp_path):
    lake = Lake.open(str(tmp_path / "lake"))
    write_day_files(lake, store_events(simulated, "ts::DATE < '2026-10-25'"))
    derive(lake, load_settings(simulated.con))
    state_dir = tmp_path / "lake" / STATE_FILE.split("/")[0]
    assert [p.name for p in state_dir.iterdir()] == ["facts.json"]  # no temp file left
    assert (tmp_path / "lake" / EVENTS).is_dir()
