"""The FAQ page in the browser: topics found in simulated questions, their trend, what the
bot should learn next, and drill-down to a topic's conversations."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from chatlens.simulate import SimConfig, write_events
from tests.serverkit import LiveServer, provision
from tests.waiting import wait_until
from tests.web.test_dashboard import browser, sign_in  # noqa: F401 - fixture

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def faq_server(tmp_path_factory):
    root = tmp_path_factory.mktemp("faq")
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
    events = root / "events.jsonl"
    config = SimConfig(conversations=300, days=10, seed=3)
    write_events(config, events)
    lines = [line for line in events.read_bytes().split(b"\n") if line]
    server = LiveServer(store).start()
    sender = server.client(seats.keys["in"])
    for i in range(0, len(lines), 2000):
        answer = sender.post("/api/v1/events", content=b"\n".join(lines[i : i + 2000]))
        assert answer.status_code == 200, answer.text
    reader = server.client(seats.keys["read"])
    everything = {"metrics": ["conversations"], "from": "2020-01-01", "to": "2030-12-31"}
    wait_until(
        lambda: (
            reader.get("/api/v1/topics").json()["topics"]
            and reader.post("/api/v1/query", json=everything).json()["rows"][0]["conversations"]
            == 300
        ),
        timeout=60,
        interval=0.2,
        what="topics and facts caught up",
    )
    last = config.last_day
    period = f"from={last - dt.timedelta(days=30)}&to={last + dt.timedelta(days=1)}"
    yield server, seats, reader, period
    server.stop()


def test_the_faq_lists_topics_and_opens_their_conversations(faq_server, browser):  # noqa: F811
    server, seats, reader, period = faq_server
    topics = reader.get("/api/v1/topics").json()["topics"]
    path = f"/faq?{period}&every=day"
    page = sign_in(browser, server, seats.emails["boss"], path=path)
    rows = page.locator("tr[data-topic]")
    assert rows.count() == len(topics)
    top = topics[0]
    row = page.locator(f'tr[data-topic="{top["id"]}"]')
    cells = row.locator("td").all_inner_texts()
    assert cells[0] == top["name"]
    assert [cells[2], cells[4]] == [str(top["questions"]), str(top["failed_questions"])]
    assert re.fullmatch(r"[0-9., ]+", row.locator("polyline").get_attribute("points"))
    assert page.locator(".learn > li").count() >= 1
    row.get_by_role("link", name=top["name"]).click()
    page.wait_for_url("**/conversations?*")
    count = int(cells[3])
    assert count >= 1
    assert page.get_by_text(f"{count} conversation{'' if count == 1 else 's'}").count() == 1


def test_topic_is_a_filter_on_the_report_pages(faq_server, browser):  # noqa: F811
    server, seats, reader, period = faq_server
    top = reader.get("/api/v1/topics").json()["topics"][0]["name"]
    page = sign_in(browser, server, seats.emails["boss"], path=f"/overview?{period}")
    everything = int(page.locator('.tile[data-metric="conversations"] .value').inner_text())
    page.get_by_label("Topic", exact=True).select_option(top)
    page.get_by_role("button", name="Apply").click()
    page.wait_for_url("**topic=*")
    narrowed = int(page.locator('.tile[data-metric="conversations"] .value').inner_text())
    body = {
        "metrics": ["conversations"],
        "from": period.split("&")[0][5:],
        "to": period.split("&")[1][3:],
        "filters": {"topic": top},
    }
    assert narrowed == reader.post("/api/v1/query", json=body).json()["rows"][0]["conversations"]
    assert 0 < narrowed < everything


def test_the_chatbot_page_lists_the_messages_that_led_to_fallbacks(faq_server, browser):  # noqa: F811
    server, seats, _, period = faq_server
    page = sign_in(browser, server, seats.emails["boss"], path=f"/reports/chatbot?{period}")
    items = page.locator("#h-failed + .comments > li")
    assert items.count() >= 1
    first = items.first
    text = first.locator(".text").inner_text()
    assert "fallback" in first.locator(".meta").inner_text() or "handoff" in first.inner_text()
    first.locator("a").click()
    page.wait_for_url("**/conversations/*")
    assert text in page.locator(".msg.customer .text").all_inner_texts()
