"""The workspace's threads each keep to their own DuckDB cursor."""

from __future__ import annotations

from chatlens.server.runtime import Workspace
from chatlens.store import open_store
from chatlens.store.settings import load_settings


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
