"""API sync against a fake of each platform's REST API served over real HTTP: the
conversations pulled page by page give the facts of the platform's export file imported the
ordinary way, and a second sync adds nothing."""

from __future__ import annotations

import pytest

from chatlens.store import open_store
from tests.conftest import value
from tests.connect import synckit
from tests.fakes.apis import Served

CONVERSATIONS = {"chatwoot": 2, "intercom": 6, "livechat": 5}
"""Counted by hand in the export fixtures: Chatwoot conversations 101 and 102, Intercom
101-106, LiveChat threads QX1A0THR01-05."""


@pytest.mark.parametrize("platform", ["chatwoot", "intercom", "livechat"])
def test_a_sync_gives_the_facts_of_the_export(tmp_path, platform):
    expected = synckit.exported(tmp_path, platform)
    store = tmp_path / "chatlens.duckdb"
    with Served(synckit.FAKES[platform]()) as served:
        synckit.connect(store, platform, served.url)
        first = synckit.sync(store)
        assert first.exit_code == 0, first.output
        assert f"{CONVERSATIONS[platform]} conversations" in first.output
        got, ids = synckit.stored(store)
        assert got == expected
        assert len(got) == CONVERSATIONS[platform]
        with open_store(store, read_only=True) as opened:  # the figure, through the KPI engine
            assert value(opened, "conversations") == CONVERSATIONS[platform]
        assert ids == synckit.export_ids(tmp_path, platform)
        again = synckit.sync(store)
        assert again.exit_code == 0, again.output
        assert " 0 new events" in again.output
    assert synckit.stored(store)[1] == ids


def test_since_pulls_only_what_changed_after_it(tmp_path):
    """Intercom conversations 104 (updated 13:25), 105 (13:11) and 106 (14:05) changed after
    13:00 on 2 November; 101-103 did not (09:05, 10:01, 12:10)."""
    store = tmp_path / "chatlens.duckdb"
    fake = synckit.FAKES["intercom"]()
    with Served(fake) as served:
        synckit.connect(store, "intercom", served.url)
        result = synckit.sync(store, "--since", "2026-11-02T13:00:00Z")
    assert result.exit_code == 0, result.output
    assert "3 conversations" in result.output
    assert fake.requests[0].body["query"]["value"] == 1793624400  # 2026-11-02 13:00 UTC
    ids = synckit.stored(store)[1]
    assert sorted({i.split(":")[1] for i in ids}) == ["104", "105", "106"]
