"""API sync against a platform that rate-limits, fails for a while or refuses the token:
429 waits what `Retry-After` (seconds or an HTTP date) or Intercom's `X-RateLimit-Reset`
says, 5xx is retried with backoff, and a bad token ends the sync with a message naming the
connection and the platform's answer, not a traceback."""

from __future__ import annotations

import email.utils
import time
from pathlib import Path

import httpx
import pytest

from chatlens.app.models import Connection
from chatlens.cli.sync import StoreWriter
from chatlens.connect.sync import Syncer, retry_after
from chatlens.connect.sync.http import MAX_WAIT, backoff
from tests.connect import synckit
from tests.fakes.apis import ChatwootFake, Fault, IntercomFake, LiveChatFake, Served


def test_retry_after_in_seconds_as_a_date_and_as_a_reset_time():
    now = 1_800_000_000.0
    seconds = httpx.Response(429, headers={"Retry-After": "7"})
    assert retry_after(seconds, now) == 7.0
    date = email.utils.formatdate(now + 30, usegmt=True)
    assert retry_after(httpx.Response(429, headers={"Retry-After": date}), now) == 30.0
    reset = httpx.Response(429, headers={"X-RateLimit-Reset": str(int(now) + 12)})
    assert retry_after(reset, now) == 12.0
    assert retry_after(httpx.Response(503), now) is None
    past = email.utils.formatdate(now - 5, usegmt=True)
    assert retry_after(httpx.Response(429, headers={"Retry-After": past}), now) == 0.0


def test_backoff_grows_with_full_jitter_and_is_bounded():
    import random

    rng = random.Random(16)
    for attempt in range(12):
        waits = [backoff(attempt, rng) for _ in range(200)]
        assert min(waits) >= 0 and max(waits) <= min(MAX_WAIT, 0.5 * 2**attempt)
    assert max(backoff(3, rng) for _ in range(200)) > 2.0  # it does grow (cap 4 s)


def reset_in(seconds: int) -> str:
    """Intercom's X-RateLimit-Reset: the Unix time the window resets."""
    return str(int(time.time()) + seconds)


def run_sync(store: Path) -> tuple[object, list[float]]:
    pauses: list[float] = []
    factory = synckit.sessions(store)
    with factory() as db:
        conn_id = db.query(Connection).one().id
    writer = StoreWriter()
    try:
        done = Syncer(factory, store.parent, writer.submit, sleep=pauses.append).run(conn_id)
    finally:
        writer.close()
    return done, pauses


def test_intercom_rate_limits_and_a_500_midway(tmp_path):
    store = tmp_path / "chatlens.duckdb"
    fake = IntercomFake()
    fake.faults += [
        Fault("list", nth=1, status=429, headers={"Retry-After": "3"}),
        Fault("get", nth=2, status=500, times=2),
        Fault("get", nth=6, status=429, later={"X-RateLimit-Reset": lambda: reset_in(20)}),
    ]
    with Served(fake) as served:
        synckit.connect(store, "intercom", served.url)
        done, pauses = run_sync(store)
    assert done.conversations == 6 and done.retries == 4
    assert fake.statuses("list") == [429, 200]
    assert fake.statuses("get") == [200, 500, 500, 200, 200, 429, 200, 200, 200]
    assert pauses[0] >= 3.0  # Retry-After: 3
    assert 15.0 <= pauses[3] <= 20.0  # until X-RateLimit-Reset
    assert synckit.stored(store)[0] == synckit.exported(tmp_path, "intercom")


def test_chatwoot_retry_after_as_an_http_date(tmp_path):
    store = tmp_path / "chatlens.duckdb"
    fake = ChatwootFake(per_page=1, messages_per_page=5)
    in_9_s = {"Retry-After": lambda: email.utils.formatdate(time.time() + 9, usegmt=True)}
    fake.faults += [
        Fault("list", nth=2, status=429, later=in_9_s),
        Fault("get", nth=3, status=502),
    ]
    with Served(fake) as served:
        synckit.connect(store, "chatwoot", served.url)
        done, pauses = run_sync(store)
    assert done.conversations == 2 and done.retries == 2
    assert 5.0 <= max(pauses) <= 9.0
    assert synckit.stored(store)[0] == synckit.exported(tmp_path, "chatwoot")


@pytest.mark.parametrize("platform", ["chatwoot", "intercom", "livechat"])
def test_a_bad_token_names_the_connection_and_the_answer(tmp_path, platform):
    store = tmp_path / "chatlens.duckdb"
    wrong = "not-the-token-9999"
    with Served(synckit.FAKES[platform]()) as served:
        synckit.connect(store, platform, served.url, token=wrong)
        result = synckit.sync(store)
        assert result.exit_code == 2
        text = " ".join(result.output.split())
        assert f"connection 'desk' of workspace 'default' ({platform})" in text
        assert "answered 401 Unauthorized: the API token is wrong or expired" in text
        assert "Traceback" not in result.output and wrong not in result.output
        assert [r.status for r in served.fake.requests] == [401]  # not retried
        show = synckit.runner.invoke(
            synckit.app, ["connections", "show", "-w", "default", "desk", "--db", str(store)]
        )
        assert "401" in show.output and wrong not in show.output


def test_a_conversation_that_cannot_be_converted_is_quarantined(tmp_path):
    """Conversation 103's second part has no valid time: it is quarantined (kept with the
    reason, by field, never its text), the five others are stored, the sync exits 1."""
    store = tmp_path / "chatlens.duckdb"
    fake = IntercomFake()
    bad = next(c for c in fake.conversations if c["id"] == "103")
    bad["conversation_parts"]["conversation_parts"][1]["created_at"] = "soon 4242"
    everything = synckit.export_ids(tmp_path, "intercom")
    with Served(fake) as served:
        synckit.connect(store, "intercom", served.url)
        result = synckit.sync(store)
    assert result.exit_code == 1, result.output
    assert "5 conversations" in result.output and "1 quarantined" in result.output
    assert synckit.stored(store)[1] == [i for i in everything if not i.startswith("intercom:103:")]
    show = synckit.runner.invoke(
        synckit.app, ["connections", "show", "-w", "default", "desk", "--db", str(store)]
    )
    text = " ".join(show.output.split())
    assert "quarantined deliveries: 1" in text
    # the place in the folded conversation, whose parts are in time order (a part without
    # a time first)
    assert (
        "delivery sync:103: pulled conversation: field "
        "'conversation_parts.conversation_parts[0].created_at': not a Unix time" in text
    )
    assert "4242" not in show.output


def test_an_answer_of_an_unexpected_shape_is_named_not_a_traceback(tmp_path):
    store = tmp_path / "chatlens.duckdb"
    fake = LiveChatFake()
    del fake.chats[0]["id"]  # list_archives lists a chat without its id
    with Served(fake) as served:
        synckit.connect(store, "livechat", served.url)
        result = synckit.sync(store)
    assert result.exit_code == 2
    text = " ".join(result.output.split())
    assert (
        "connection 'desk' of workspace 'default' (livechat): an answer of the platform has "
        "an unexpected shape (KeyError)" in text
    )
    assert "Traceback" not in result.output
