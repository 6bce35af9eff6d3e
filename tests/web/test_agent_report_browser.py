"""The agent, team and teams report pages in a real browser (Playwright driving Debian's
Chromium) at 1280 and 375 px: one rendered chart per metric, the ranking, no overflow on a
phone. Screenshots go to chatlens-agent-report/ in the temporary folder for a person to look at."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest

from chatlens.reports.agent_report import REPORT
from tests.agent_report_events import PERIOD, serve
from tests.serverkit import CHROMIUM, CHROMIUM_FLAGS, PASSWORD

pytestmark = pytest.mark.browser
SHOTS = Path(tempfile.gettempdir()) / "chatlens-agent-report"


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    server, seats = serve(tmp_path_factory.mktemp("agentpages") / "chatlens.duckdb")
    yield server, seats
    server.stop()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS, headless=True)
        yield chromium
        chromium.close()


def open_page(browser, live, path: str, width: int, email: str = "boss"):
    server, seats = live
    page = browser.new_page(viewport={"width": width, "height": 900})
    page.goto(server.url + path)
    page.get_by_label("Email").fill(seats.emails[email])
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"**{path.split('?')[0]}?*")
    return page


def charts_drawn(page) -> list[str]:
    """The metrics whose chart ECharts drew (a canvas inside a chart marked ready)."""
    page.wait_for_selector(".report-charts .chart[data-ready='1'] canvas")
    nodes = page.locator(".report-charts .chart[data-ready='1']:has(canvas)")
    return [nodes.nth(i).get_attribute("data-metric") for i in range(nodes.count())]


PAGES = {
    "agent": f"/agents/ann?{PERIOD}&every=week",
    "team": f"/teams/sales?{PERIOD}&every=week",
    "teams": f"/teams?{PERIOD}&every=week",
}


@pytest.mark.parametrize("width", [1280, 375])
@pytest.mark.parametrize("name", list(PAGES))
def test_every_metric_has_its_chart(live, browser, name, width):
    page = open_page(browser, live, PAGES[name], width)
    assert charts_drawn(page) == list(REPORT)
    overflow = page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow == 0
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}-{width}.png"), full_page=True)
    page.close()


def test_team_page_ranks_its_agents_and_opens_their_reports(live, browser):
    page = open_page(browser, live, PAGES["team"], 1280)
    ranking = page.locator("table.ranking tbody tr td:nth-child(2)").all_inner_texts()
    assert ranking == ["ann", "cara"]  # FCR 2 of 3 outranks 1 of 1 (Wilson lower bound)
    assert page.locator("table.ranking tbody td.ranked-by").all_inner_texts() == [
        "66.7 % (lower bound 20.8 %)",
        "100.0 % (lower bound 20.7 %)",
    ]
    page.get_by_label("Rank by").select_option("first_response_time")
    page.get_by_role("button", name="Rank").click()
    page.wait_for_url("**rank=first_response_time*")
    ranking = page.locator("table.ranking tbody tr td:nth-child(2)").all_inner_texts()
    assert ranking == ["cara", "ann"]  # 30 s before 36.7 s
    assert "from=2026-11-02" in page.url  # the period is kept
    page.get_by_role("link", name="cara").click()
    page.wait_for_url("**/agents/cara?*")
    assert page.locator('.tile[data-metric="first_response_time"] .value').inner_text() == "30s"
    page.close()


def test_teams_page_links_each_team(live, browser):
    page = open_page(browser, live, PAGES["teams"], 1280)
    teams = page.locator("table.ranking tbody tr td:nth-child(2)").all_inner_texts()
    assert sorted(teams) == ["sales", "support"]
    page.get_by_role("link", name="support").click()
    page.wait_for_url("**/teams/support?*")
    assert page.locator('.tile[data-metric="missed_chats"] .value').inner_text() == "1"
    page.close()
