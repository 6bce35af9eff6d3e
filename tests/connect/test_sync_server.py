"""API sync beside the webhooks, with the real server: conversations whose webhooks came
(some of them, a gap for the rest) are synced afterwards: the gaps are filled, nothing
counts twice, and the facts are those of the export; and the server syncs a connection on
its schedule by itself and stops cleanly."""

from __future__ import annotations

import os
from pathlib import Path

import httpx
import pytest

from chatlens.app.models import ConnectionConversation, ConnectionSync
from tests.connect import synckit, webhooks
from tests.fakes.apis import Served
from tests.serverkit import LiveServer
from tests.waiting import wait_until

pytestmark = pytest.mark.server

DELIVERIES = {
    "intercom": lambda item: webhooks.intercom_deliveries(
        item, synckit.WEBHOOK_SECRETS["intercom"]
    ),
    "livechat": lambda item: webhooks.livechat_deliveries(
        item, synckit.WEBHOOK_SECRETS["livechat"]
    ),
    "chatwoot": lambda item: webhooks.chatwoot_deliveries(
        item, synckit.WEBHOOK_SECRETS["chatwoot"]
    ),
}
ITEMS = {
    "intercom": lambda fake: fake.conversations,
    "livechat": lambda fake: fake.chats,
    "chatwoot": lambda fake: fake.conversations,
}


def serve(store: Path, *args: str) -> LiveServer:
    os.environ["CHATLENS_CONNECT_QUIET_SECONDS"] = "0.3"
    try:
        return LiveServer(store, args=args).start(timeout=120)
    finally:
        del os.environ["CHATLENS_CONNECT_QUIET_SECONDS"]


def settled(store: Path) -> bool:
    factory = synckit.sessions(store)
    try:
        with factory() as db:
            rows = db.query(ConnectionConversation).all()
            return bool(rows) and all(r.settled for r in rows)
    finally:
        factory.kw["bind"].dispose()


@pytest.mark.parametrize("platform", ["intercom", "chatwoot", "livechat"])
def test_a_sync_after_webhooks_fills_the_gaps_and_counts_nothing_twice(tmp_path, platform):
    expected = synckit.exported(tmp_path, platform)
    everything = synckit.export_ids(tmp_path, platform)
    store = tmp_path / "chatlens.duckdb"
    fake = synckit.FAKES[platform]()
    items = ITEMS[platform](fake)
    delivered = items[::2]  # the webhooks of every other conversation came; the rest missed
    with Served(fake) as served:
        path = synckit.connect(store, platform, served.url)
        server = serve(store)
        try:
            for item in delivered:
                for headers, body in DELIVERIES[platform](item):
                    answer = httpx.post(server.url + path, content=body, headers=headers)
                    assert answer.status_code == 202, answer.text
            wait_until(lambda: settled(store), timeout=60, what="the webhooks settled")
        finally:
            server.stop()
        by_webhook = synckit.stored(store)[1]
        assert 0 < len(by_webhook) < len(everything)
        result = synckit.sync(store)
    assert result.exit_code == 0, result.output
    new = len(everything) - len(by_webhook)
    assert f"{len(items)} conversations in" in result.output
    assert f" {new} new events" in " ".join(result.output.split())
    got, ids = synckit.stored(store)
    assert ids == everything
    assert got == expected


def test_the_server_syncs_on_its_schedule(tmp_path):
    expected = synckit.exported(tmp_path, "intercom")
    store = tmp_path / "chatlens.duckdb"
    with Served(synckit.FAKES["intercom"]()) as served:
        synckit.connect(store, "intercom", served.url)
        server = serve(store, "--sync-every", "15m")
        factory = synckit.sessions(store)
        try:

            def finished() -> bool:
                with factory() as db:
                    state = db.query(ConnectionSync).one_or_none()
                    return state is not None and state.finished_at is not None

            wait_until(finished, timeout=90, what="the first scheduled sync")
            with factory() as db:
                state = db.query(ConnectionSync).one()
                # (the events are counted below, in the store: under a heavy load the
                # settler may store some of them first, when the sync's write takes longer
                # than the settle pause; the writer keeps each once either way)
                assert state.conversations == 6
                assert state.high_water == 1793628300.0  # conversation 106's updated_at
        finally:
            server.stop()
            factory.kw["bind"].dispose()
        log = server.log.read_text()
        assert "Application shutdown complete" in log  # the schedule stopped cleanly
        assert "sync of connection 1: 6 conversations" in log
        assert served.fake.token not in log
    got, ids = synckit.stored(store)
    assert got == expected
    assert ids == synckit.export_ids(tmp_path, "intercom")  # 47 events, each once
