"""The workspace's threads each keep to their own DuckDB cursor; its memory limit."""

from __future__ import annotations

import os
import threading

from typer.testing import CliRunner

from chatlens.cli import app
from chatlens.server.runtime.memory import DEFAULT_MEMORY_LIMIT
from chatlens.server.runtime.workspace import BACKGROUND_NICE, TOPICS_NICE, Workspace
from chatlens.store import open_store
from chatlens.store.settings import load_settings
from tests.waiting import wait_until

runner = CliRunner()


def test_settings_changes_while_the_refresher_polls_do_not_share_its_cursor(tmp_path):
    # The facts refresher polls every millisecond here. A settings change refreshes the
    # facts from the request's thread; on the refresher's own cursor that failed with
    # "connection is busy with another call" (and once hung a goals page in CI).
    path = tmp_path / "w.duckdb"
    open_store(path).close()
    workspace = Workspace("w", path, refresh_seconds=0.001, duckdb_threads=1)
    try:
        for seconds in range(30, 130):
            workspace.change_settings({"sla_first_response_seconds": seconds})
        assert load_settings(workspace.store.con.cursor()).sla_first_response_seconds == 129
    finally:
        workspace.close()


def test_the_workspace_store_keeps_to_the_memory_limit(tmp_path):
    path = tmp_path / "w.duckdb"
    open_store(path).close()
    for given, shown in (("300MB", "286.1 MiB"), (DEFAULT_MEMORY_LIMIT, "1.0 GiB")):
        workspace = Workspace("w", path, 0.5, duckdb_threads=1, memory=given)
        try:
            setting = workspace.store.con.execute("SELECT current_setting('memory_limit')")
            assert setting.fetchall() == [(shown,)]
        finally:
            workspace.close()


def test_a_memory_limit_that_is_no_size_is_refused_before_serving(tmp_path):
    store = tmp_path / "chatlens.duckdb"
    answer = runner.invoke(app, ["serve", "--db", str(store), "--memory-limit", "lots"])
    assert answer.exit_code == 2
    assert "memory limit 'lots': give a size such as 512MB, 2GB or 1.5GiB" in answer.output
    env = {"CHATLENS_MEMORY_LIMIT": "80%"}
    answer = runner.invoke(app, ["serve", "--db", str(store)], env=env)
    assert answer.exit_code == 2 and "memory limit '80%'" in answer.output
    assert not store.exists(), "refused before any store was opened"


def test_the_mover_and_refresher_yield_the_cpu_to_reads(tmp_path):
    path = tmp_path / "w.duckdb"
    open_store(path).close()
    workspace = Workspace("w", path, 0.5, duckdb_threads=1)
    base = os.getpriority(os.PRIO_PROCESS, 0)
    expected = max(base, BACKGROUND_NICE)  # lowered, never raised

    def settled() -> dict[str, int] | None:
        """Each thread's priority, once the background threads have lowered their own (each
        does so as it starts)."""
        nice = {
            thread.name: os.getpriority(os.PRIO_PROCESS, thread.native_id or 0)
            for thread in threading.enumerate()
            if thread.name.startswith("chatlens-")
        }
        lowered = {
            "chatlens-mover": expected,
            "chatlens-facts": expected,
            "chatlens-topics": max(base, TOPICS_NICE),
        }
        return nice if all(nice.get(name) == want for name, want in lowered.items()) else None

    try:
        nice = wait_until(settled, what="the background threads lowered their priority")
    finally:
        workspace.close()
    assert [nice["chatlens-mover"], nice["chatlens-facts"]] == [expected, expected]
    assert nice["chatlens-writer"] == base, "the writer holds the GIL: never descheduled"
    assert nice["chatlens-topics"] == max(base, TOPICS_NICE)
    assert os.getpriority(os.PRIO_PROCESS, 0) == base, "the calling thread keeps its priority"
