"""`chatlens lake facts --lake URL`: what it derived and how long it took."""

from __future__ import annotations

import re

from typer.testing import CliRunner

from chatlens.cli import app
from chatlens.lake.facts import read_state
from chatlens.lake.layout import Lake
from chatlens.store import open_store
from chatlens.store.facts import refresh_facts

from .lakekit import store_events, write_day_files
from .test_facts_lake import differences, lake_rows

EVENTS = [
    '{"type":"conversation_started","ts":"2026-03-02T09:00:00Z","conversation_id":"c1",'
    '"customer_id":"u1","channel":"web"}',
    '{"type":"message","ts":"2026-03-02T09:00:05Z","conversation_id":"c1","sender":"customer",'
    '"text":"hello"}',
    '{"type":"agent_joined","ts":"2026-03-02T09:01:00Z","conversation_id":"c1","agent_id":"a1"}',
    '{"type":"message","ts":"2026-03-02T09:01:30Z","conversation_id":"c1","sender":"agent",'
    '"agent_id":"a1","text":"hi"}',
    '{"type":"conversation_started","ts":"2026-03-03T10:00:00Z","conversation_id":"c2",'
    '"customer_id":"u2","channel":"web"}',
    '{"type":"message","ts":"2026-03-03T10:00:05Z","conversation_id":"c2","sender":"customer",'
    '"text":"are you there?"}',
    '{"type":"conversation_closed","ts":"2026-03-03T10:30:00Z","conversation_id":"c2"}',
]


def test_lake_facts_command_derives_then_finds_nothing_new(tmp_path):
    source = tmp_path / "events.jsonl"
    source.write_text("\n".join(EVENTS) + "\n")
    runner = CliRunner()
    imported = runner.invoke(app, ["import", str(source), "--db", str(tmp_path / "s.duckdb")])
    assert imported.exit_code == 0, imported.output
    with open_store(tmp_path / "s.duckdb") as store:
        refresh_facts(store)
        lake = Lake.open(str(tmp_path / "lake"))
        write_day_files(lake, store_events(store))
        want = store.con.sql("SELECT * FROM conversation_facts ORDER BY 1").to_arrow_table()

    first = runner.invoke(app, ["lake", "facts", "--lake", str(tmp_path / "lake")])
    assert first.exit_code == 0, first.output
    assert "full rebuild" in first.output and "2 conversations" in first.output
    assert "2026-03-02, 2026-03-03" in first.output
    assert re.search(r"in \d+\.\d s", first.output)
    assert not differences(want.to_pylist(), lake_rows(lake, "facts"))

    again = runner.invoke(app, ["lake", "facts", "--lake", str(tmp_path / "lake")])
    assert again.exit_code == 0 and "facts up to date" in again.output

    changed = runner.invoke(
        app,
        ["lake", "facts", "--lake", str(tmp_path / "lake"), "--set", "fcr_followup_days=2"],
    )
    assert changed.exit_code == 0 and "full rebuild" in changed.output
    state = read_state(lake)
    assert state is not None and state.settings["fcr_followup_days"] == 2
    # the next run keeps the settings the lake's facts were derived under
    kept = runner.invoke(app, ["lake", "facts", "--lake", str(tmp_path / "lake")])
    assert "facts up to date" in kept.output


def test_lake_facts_command_names_a_bad_setting(tmp_path):
    result = CliRunner().invoke(
        app, ["lake", "facts", "--lake", str(tmp_path / "lake"), "--set", "fcr_followup_days=x"]
    )
    assert result.exit_code == 2
    assert "fcr_followup_days" in result.output


def test_spark_facts_refuses_master_and_remote_together(tmp_path):
    result = CliRunner().invoke(
        app,
        [
            "spark",
            "facts",
            "--lake",
            str(tmp_path / "lake"),
            "--master",
            "local[1]",
            "--remote",
            "sc://127.0.0.1:1",
        ],
    )
    assert result.exit_code == 2 and "not both" in result.output


def _lake_of_events(tmp_path):
    """The EVENTS in a store (for the expected facts) and in a lake; the store's facts."""
    source = tmp_path / "events.jsonl"
    source.write_text("\n".join(EVENTS) + "\n")
    imported = CliRunner().invoke(app, ["import", str(source), "--db", str(tmp_path / "s.duckdb")])
    assert imported.exit_code == 0, imported.output
    with open_store(tmp_path / "s.duckdb") as store:
        refresh_facts(store)
        lake = Lake.open(str(tmp_path / "lake"))
        write_day_files(lake, store_events(store))
        return lake, store.con.sql("SELECT * FROM conversation_facts ORDER BY 1").to_arrow_table()


def test_lake_facts_memory_options_reach_duckdb(tmp_path):
    """--memory-limit, --temp-dir and --max-temp-size: a bad size is named and nothing is
    derived; sizes DuckDB can work in give the store's facts; caps too small for the work
    fail with a clear error and leave the facts as they were."""
    lake, want = _lake_of_events(tmp_path)
    runner = CliRunner()
    where = ["lake", "facts", "--lake", str(tmp_path / "lake")]
    spill = tmp_path / "spill"

    bad = runner.invoke(app, [*where, "--memory-limit", "8 gigs"])
    assert bad.exit_code == 2
    assert "memory limit '8 gigs' is not a size" in bad.output and "8GB" in bad.output
    bad = runner.invoke(app, [*where, "--max-temp-size", "0GB"])
    assert bad.exit_code == 2 and "max temp directory size '0GB' is not a size" in bad.output
    assert read_state(lake) is None  # nothing derived

    capped = [*where, "--memory-limit", "256MB", "--temp-dir", str(spill)]
    ok = runner.invoke(app, [*capped, "--max-temp-size", "1GB"])
    assert ok.exit_code == 0, ok.output
    assert "full rebuild" in ok.output and "2 conversations" in ok.output
    assert spill.is_dir()  # made for DuckDB to spill into
    assert not differences(want.to_pylist(), lake_rows(lake, "facts"))
    before = read_state(lake)

    starved = runner.invoke(
        app, [*where, "--full", "--memory-limit", "1MB", "--temp-dir", str(spill)]
    )
    assert starved.exit_code == 2
    assert "DuckDB ran out of memory (memory limit 976.5 KiB" in starved.output
    assert "the facts are as they were" in starved.output
    assert read_state(lake) == before
    assert not differences(want.to_pylist(), lake_rows(lake, "facts"))
