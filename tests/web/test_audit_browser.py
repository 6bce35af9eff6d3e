"""The Audit trail page in Chromium at a desktop and a phone width: an admin reaches it from
the menu, sees the transcript views and the export recorded (a long conversation id and a
hostile one shown as text), narrows it with the filter form, and the page is never wider
than the window (the table scrolls inside its box)."""

from __future__ import annotations

import pytest

from tests.builders import DAY, chat
from tests.serverkit import LiveServer, provision
from tests.waiting import wait_until
from tests.web.test_dashboard import browser, sign_in  # noqa: F401 - fixture

pytestmark = pytest.mark.browser

LONG = "whatsapp-" + "0123456789" * 11  # 119 characters, no space (ids: at most 128)
HOSTILE = "<b>bold</b>&copy;"


@pytest.fixture(scope="module")
def trail(tmp_path_factory):
    store = tmp_path_factory.mktemp("auditpage") / "chatlens.duckdb"
    seats = provision(
        store,
        {
            "default": {
                "users": {"root": ("admin", None, None), "ann": ("agent", "ann", "sales")},
                "keys": {"in": "ingest"},
            }
        },
    )
    server = LiveServer(store).start(timeout=120)
    events = [
        *chat("c-1", DAY, agent="ann", close_after=60, team="sales"),
        *chat(LONG, DAY, agent="ann", close_after=60, team="sales"),
        *chat(HOSTILE, DAY, agent="ann", close_after=60, team="sales"),
    ]
    assert server.client(seats.keys["in"]).post("/api/v1/events", json=events).status_code == 200
    ann = server.login(seats.emails["ann"])
    wait_until(lambda: ann.get("/api/v1/conversations/c-1").status_code == 200, 60)
    for cid in (LONG, HOSTILE):
        assert ann.get(f"/api/v1/conversations/{cid}").status_code == 200
    period = {"from": "2026-11-01", "to": "2026-11-30", "format": "csv", "filter": "team=sales"}
    assert ann.get("/api/v1/export/conversations", params=period).status_code == 200
    yield server, seats
    server.stop()


@pytest.mark.parametrize("width", [1280, 375])
def test_the_audit_page_fits_the_window_and_filters(trail, browser, width, tmp_path):  # noqa: F811
    server, seats = trail
    page = sign_in(browser, server, seats.emails["root"], width=width)
    page.get_by_role("link", name="Audit trail").click()
    page.wait_for_url("**/audit*")
    rows = page.locator("table.audit tbody tr")
    # ann's four reads (c-1, the long id, the hostile id, the export), newest first
    assert rows.count() == 4
    assert page.locator(".audit-total").inner_text() == "4 records"
    assert rows.nth(0).locator("td").nth(2).inner_text() == "conversation_export"
    assert (
        "team = sales" in rows.nth(0).inner_text() and "agent_id = ann" in rows.nth(0).inner_text()
    )
    assert rows.nth(0).locator("td").nth(4).inner_text() == "3"
    assert rows.nth(1).locator("td.what").inner_text() == HOSTILE  # text, not markup
    assert page.locator("table.audit b").count() == 0
    assert rows.nth(2).locator("td.what").inner_text().replace("\n", "") == LONG
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    assert page.evaluate("document.body.scrollWidth") <= width
    page.screenshot(path=str(tmp_path / f"audit-{width}.png"), full_page=True)

    page.get_by_label("Conversation").fill("c-1")
    page.get_by_label("Action").select_option("transcript_view")
    page.get_by_role("button", name="Filter").click()
    page.wait_for_url("**conversation=c-1*")
    assert rows.count() == 1
    assert rows.nth(0).locator("td.what").inner_text() == "c-1"
    assert seats.emails["ann"] in rows.nth(0).inner_text()
    assert page.evaluate("document.documentElement.scrollWidth") <= width
