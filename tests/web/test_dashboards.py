"""Dashboards users build, in the browser: add, reorder, resize, remove widgets, save, reload;
sharing; and the page's number formatting agreeing with the server's."""

from __future__ import annotations

import pytest

from chatlens.metrics import METRICS
from chatlens.reports.format import human
from tests.web.test_dashboard import NOVEMBER, browser, live, sign_in  # noqa: F401 - fixtures

pytestmark = pytest.mark.browser


def widgets(page) -> list[tuple[str, str]]:
    page.wait_for_function(
        "[...document.querySelectorAll('[data-widget]')].every(w => w.dataset.ready === '1')"
    )
    found = page.locator("[data-widget]")
    return [
        (found.nth(i).get_attribute("data-metric"), found.nth(i).get_attribute("class"))
        for i in range(found.count())
    ]


def test_a_user_builds_saves_and_reloads_a_dashboard(live, browser):  # noqa: F811
    server, seats = live
    page = sign_in(browser, server, seats.emails["boss"], path="/dashboards")
    assert "You have no dashboard yet" in page.content()
    page.get_by_label("Name").fill("Morning check")
    page.get_by_role("button", name="Create dashboard").click()
    page.wait_for_url("**/dashboards/*")
    board_url = page.url
    page.goto(board_url.split("?")[0] + f"?{NOVEMBER}")
    assert widgets(page) == [("conversations", "widget size-1"), ("conversations", "widget size-2")]
    assert page.locator('[data-widget="0"] .value').inner_text() == "3"
    # a tile of a metric with a band shows it: 3 of 3 closed chats resolved at first contact
    page.get_by_label("Metric").select_option("fcr_rate")
    page.get_by_label("Chart").select_option("tile")
    page.get_by_role("button", name="Add widget").click()
    fcr = page.locator('[data-widget="2"]')
    fcr.locator(".band").wait_for()
    assert (fcr.locator(".value").inner_text(), fcr.locator(".band").inner_text()) == (
        "100.0 %",
        "exceptional",
    )
    fcr.get_by_role("button", name=f"Remove {METRICS['fcr_rate'].label}").click()
    # add FRT split by agent as a table, move it first, widen it, drop the line chart
    page.get_by_label("Metric").select_option("first_response_time")
    page.get_by_label("Chart").select_option("table")
    page.get_by_label("Split by").select_option("agent_id")
    page.get_by_role("button", name="Add widget").click()
    frt = METRICS["first_response_time"].label
    page.get_by_role("button", name=f"Move {frt} earlier").click()
    page.get_by_role("button", name=f"Move {frt} earlier").click()
    page.get_by_label(f"Width of {frt}").select_option("3")
    page.locator('[data-widget="2"]').get_by_role("button", name="Remove Conversations").click()
    table = page.locator('[data-widget="0"] table').inner_text()
    assert "ann\t30s" in table and "bob\t1m 30s" in table
    page.get_by_role("button", name="Save dashboard").click()
    page.get_by_role("status").filter(has_text="Saved.").wait_for()
    page.reload()
    assert widgets(page) == [
        ("first_response_time", "widget size-3"),
        ("conversations", "widget size-1"),
    ]
    # not shared: another manager does not see it; an agent cannot share
    other = sign_in(browser, server, seats.emails["root"], path="/dashboards")
    assert "Morning check" not in other.content()
    answer = other.goto(board_url)
    assert answer.status == 404
    ann = server.login(seats.emails["ann"])
    shared = ann.post("/api/v1/dashboards", json={"name": "mine", "shared": True})
    assert shared.status_code == 403


def test_the_page_formats_numbers_as_the_server_does(live, browser):  # noqa: F811
    server, seats = live
    page = sign_in(browser, server, seats.emails["boss"], path="/dashboards")
    cases = [
        (0.875, "rate"),
        (65, "seconds"),
        (4.2, "seconds"),
        (7325, "seconds"),
        (200000, "seconds"),
        (1234, "count"),
        (56789, "count"),
        (3, "count"),
        (4.333, "score"),
        (42.4, "nps"),
        (1234.5, "money"),
        (14, "hour"),
        (2, "weekday"),
        (None, "rate"),
        (-25.0, "percent_points"),
        (3.27, "percent_points"),
    ]
    shown = page.evaluate(
        "async (cases) => { const f = await import('/static/js/format.js');"
        " return cases.map(([v, u]) => f.human(v, u)); }",
        cases,
    )
    assert shown == [human(v, u) for v, u in cases]


def test_dashboards_fit_a_phone(live, browser):  # noqa: F811
    server, seats = live
    for path in ("/dashboards", f"/dashboards/1?{NOVEMBER}"):
        page = sign_in(browser, server, seats.emails["boss"], width=375, path=path)
        if "/dashboards/1" in path:
            widgets(page)
        overflow = page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow == 0, path
