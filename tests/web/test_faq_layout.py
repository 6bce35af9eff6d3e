"""Issue 13 (11): a long unbroken customer question made the FAQ page hundreds of thousands
of pixels wide. In Chromium, at a desktop and a phone width, the page is no wider than the
window while the question is shown in full."""

from __future__ import annotations

import datetime as dt

import pytest

from chatlens.simulate import SimConfig, write_events
from tests.builders import iso
from tests.serverkit import LiveServer, provision
from tests.waiting import wait_until
from tests.web.test_dashboard import browser, sign_in  # noqa: F401 - fixture

pytestmark = pytest.mark.browser

LONG = "WhereIsMyOrderNumber" + "0123456789" * 600  # 6,020 characters, not one space


def _long_questions(first: dt.datetime, count: int) -> list[dict]:
    """`count` conversations asking LONG, each answered by a bot fallback."""
    events = []
    for n in range(count):
        start = first + dt.timedelta(hours=n)
        base = {"conversation_id": f"long-{n}", "channel": "web"}
        events += [
            {"type": "conversation_started", "ts": iso(start), **base},
            {
                "type": "message",
                "ts": iso(start + dt.timedelta(seconds=5)),
                "sender": "customer",
                "text": f"{LONG}{n}",
                **base,
            },
            {
                "type": "message",
                "ts": iso(start + dt.timedelta(seconds=6)),
                "sender": "bot",
                "bot_id": "shopbot",
                "text": "Sorry?",
                "fallback": True,
                **base,
            },
        ]
    return events


@pytest.fixture(scope="module")
def long_faq(tmp_path_factory):
    root = tmp_path_factory.mktemp("faqlayout")
    store = root / "chatlens.duckdb"
    seats = provision(
        store,
        {
            "default": {
                "users": {"boss": ("manager", None, None)},
                "keys": {"in": "ingest", "read": "read"},
            }
        },
    )
    config = SimConfig(conversations=200, days=10, seed=5)
    write_events(config, root / "events.jsonl")
    lines = [line for line in (root / "events.jsonl").read_bytes().split(b"\n") if line]
    server = LiveServer(store).start()
    sender = server.client(seats.keys["in"])
    for i in range(0, len(lines), 2000):
        answer = sender.post("/api/v1/events", content=b"\n".join(lines[i : i + 2000]))
        assert answer.status_code == 200, answer.text
    last = dt.datetime.combine(config.last_day, dt.time(8), dt.UTC)
    answer = sender.post("/api/v1/events", json=_long_questions(last, 12))
    assert answer.status_code == 200, answer.text
    reader = server.client(seats.keys["read"])
    wait_until(
        lambda: LONG in reader.get("/api/v1/topics/learn-next").text,
        timeout=90,
        interval=0.3,
        what="the long questions reached the topics",
    )
    period = f"from={config.last_day - dt.timedelta(days=30)}&to={config.last_day}"
    yield server, seats, period
    server.stop()


@pytest.mark.parametrize("width", [1280, 375])
def test_a_long_unbroken_question_does_not_widen_the_faq_page(
    long_faq,
    browser,  # noqa: F811
    width,
    tmp_path,
):
    server, seats, period = long_faq
    page = sign_in(browser, server, seats.emails["boss"], width=width, path=f"/faq?{period}")
    shown = page.locator(".text", has_text=LONG)
    assert shown.count() >= 1  # the question is on the page, in full
    assert shown.first.inner_text().startswith(LONG)
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    assert page.evaluate("document.body.scrollWidth") <= width
    # no text is wider than the window, not even inside the table's scroll box (on a phone
    # the table itself scrolls sideways in that box: seven columns do not fit 375 px)
    too_wide = page.evaluate(
        """w => [...document.querySelectorAll('main *:not(table, thead, tbody, tr)')]
            .filter(e => e.getBoundingClientRect().width > w)
            .map(e => e.tagName + '.' + e.className)""",
        width,
    )
    assert too_wide == []
    page.screenshot(path=str(tmp_path / f"faq-{width}.png"))
    page.locator(".learn > li").first.screenshot(path=str(tmp_path / f"learn-{width}.png"))
