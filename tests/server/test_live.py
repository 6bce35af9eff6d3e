"""What the live view counts as open now, on chats of known idle times."""

from __future__ import annotations

import datetime as dt

from chatlens.reading.live import live_status
from tests.builders import chat
from tests.conftest import load

NOW = dt.datetime(2026, 11, 20, 12, 0, tzinfo=dt.UTC)
MINUTE = dt.timedelta(minutes=1)


def test_open_means_recently_active_web_chats_and_a_day_on_other_channels(store, tmp_path):
    events = (
        # web chats never closed: last activity 10 min ago (open) and 2 h ago (over)
        chat("web-now", NOW - 12 * MINUTE, bot=True)
        + chat("web-gone", NOW - 122 * MINUTE, bot=True)
        # WhatsApp chats never closed: 2 h quiet (open: asynchronous), 25 h quiet (over)
        + chat("wa-quiet", NOW - 122 * MINUTE, bot=True, channel="whatsapp")
        + chat("wa-gone", NOW - 25 * 60 * MINUTE, bot=True, channel="whatsapp")
        # a web chat queued 5 min ago, nobody has picked it up: waiting
        + chat("web-queue", NOW - 7 * MINUTE, bot=True, handoff_after=120)
        # a web chat queued 3 h ago and abandoned without a close: not waiting any more
        + chat("web-left", NOW - 182 * MINUTE, bot=True, handoff_after=120)
        # closed a minute ago: not open
        + chat("web-closed", NOW - 11 * MINUTE, agent="ann", close_after=600)
    )
    load(store, events, tmp_path)
    status = live_status(store.con, "conversation_facts", NOW)
    assert status["open_conversations"] == 3  # web-now, wa-quiet, web-queue
    assert status["with_bot"] == 2  # web-now, wa-quiet
    assert status["waiting"] == 1 and status["unassigned"] == 1  # web-queue
    assert status["longest_wait_seconds"] == 5 * 60  # queued at NOW - 7 min + 120 s
