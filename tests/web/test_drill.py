"""Drill-down from every kind of figure, in the browser: a widget's bar, tile, table row and
time bucket, the overview's funnel stages, the feedback page's CSAT and NPS bars, the chatbot
page's downtime incidents; widgets' loading and error states; sharing a dashboard with a team
from its page; and all of it on a 375 px phone."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import pytest

from tests.builders import DAY, chat
from tests.serverkit import LiveServer, provision
from tests.waiting import wait_until
from tests.web.test_dashboard import NOVEMBER, browser, sign_in, tile  # noqa: F401 - fixture

pytestmark = pytest.mark.browser
HOUR = dt.timedelta(hours=1)


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    store = tmp_path_factory.mktemp("drill") / "chatlens.duckdb"
    seats = provision(
        store,
        {
            "default": {
                "users": {
                    "root": ("admin", None, None),
                    "boss": ("manager", None, "sales"),
                    "ann": ("agent", "ann", "sales"),
                    "bob": ("agent", "bob", "support"),
                },
                "keys": {"in": "ingest", "read": "read"},
            }
        },
    )
    server = LiveServer(store).start()
    # Monday 2 Nov: ann (web, CSAT 5, NPS 10) at 08:00, bob (web, CSAT 2, NPS 3) at 09:00, the
    # bot alone (whatsapp, CSAT 5) at 10:00; Tuesday 3 Nov: ann again (web, CSAT 4, NPS 8).
    # The bot is down from 09:00 to 09:30 on Monday.
    events = (
        chat(
            "c-ann", DAY, agent="ann", close_after=300, team="sales", ratings={"csat": 5, "nps": 10}
        )
        + chat(
            "c-bob",
            DAY + HOUR,
            agent="bob",
            close_after=600,
            team="support",
            ratings={"csat": 2, "nps": 3},
        )
        + chat(
            "c-bot",
            DAY + 2 * HOUR,
            bot=True,
            close_after=60,
            channel="whatsapp",
            ratings={"csat": 5},
        )
        + chat(
            "c-late",
            DAY + 26 * HOUR,
            agent="ann",
            close_after=200,
            team="sales",
            ratings={"csat": 4, "nps": 8},
        )
        + [
            {"type": "health_check", "ts": f"2026-11-02T{hh}:00:00Z", "component": "bot", "up": up}
            for hh, up in (("00", True), ("09", False))
        ]
        + [{"type": "health_check", "ts": "2026-11-02T09:30:00Z", "component": "bot", "up": True}]
    )
    assert server.client(seats.keys["in"]).post("/api/v1/events", json=events).status_code == 200
    reader = server.client(seats.keys["read"])
    body = {"metrics": ["conversations"], "from": "2026-11-01", "to": "2026-11-30"}
    wait_until(
        lambda: reader.post("/api/v1/query", json=body).json()["rows"][0]["conversations"] == 4,
        what="the facts caught up",
    )
    yield server, seats
    server.stop()


def listed(page) -> tuple[str, list[str]]:
    """The conversation list's count line and its conversation ids."""
    page.wait_for_url("**/conversations?*")
    ids = page.locator("table tbody tr td:first-child").all_inner_texts()
    return page.locator("main > p").first.inner_text(), sorted(ids)


def click_category(page, selector: str, index: int, value: float = 0) -> None:
    """Click category `index` of the ECharts chart in `selector`, at height `value`."""
    x, y = page.evaluate(
        """([sel, i, v]) => {
          const node = document.querySelector(sel);
          node.scrollIntoView({block: "center"});
          const chart = echarts.getInstanceByDom(node);
          const box = node.getBoundingClientRect();
          return [box.left + chart.convertToPixel({xAxisIndex: 0}, i),
                  box.top + chart.convertToPixel({yAxisIndex: 0}, v) - 4];
        }""",
        [selector, index, value],
    )
    page.mouse.click(x, y)


def chart_data(page, selector: str) -> list:
    return page.evaluate(
        "(sel) => echarts.getInstanceByDom(document.querySelector(sel)).getOption()"
        ".series[0].data.map(d => typeof d === 'object' ? d.value : d)",
        selector,
    )


def ready(page) -> None:
    page.wait_for_function(
        "[...document.querySelectorAll('[data-widget]')].every(w => w.dataset.ready === '1')"
    )


def make_board(server, email, widgets, **share) -> int:
    client = server.login(email)
    made = client.post("/api/v1/dashboards", json={"name": "Drill", "widgets": widgets, **share})
    assert made.status_code == 201, made.text
    return made.json()["id"]


def test_the_feedback_page_charts_the_csat_distribution_and_the_nps_split(world, browser):  # noqa: F811
    server, seats = world
    path = f"/reports/feedback?{NOVEMBER}"
    page = sign_in(browser, server, seats.emails["boss"], path=path)
    # CSAT answers by hand: 2 (bob), 4 (ann on Tuesday), 5 (ann, the bot)
    assert chart_data(page, "#csat") == [0, 1, 0, 1, 2]
    links = page.get_by_role("list", name="CSAT answers by score").get_by_role("link")
    assert links.all_inner_texts() == ["1: 0", "2: 1", "3: 0", "4: 1", "5: 2"]
    assert page.locator("#csat").get_attribute("aria-label") == (
        "CSAT answers by score: 1: 0; 2: 1; 3: 0; 4: 1; 5: 2"
    )
    assert tile(page, "csat") == "4.00"  # (2 + 4 + 5 + 5) / 4: the bars are the mean's answers
    nps = page.get_by_role("list", name="NPS answers").get_by_role("link").all_inner_texts()
    assert nps == ["Promoters (9-10): 1", "Passives (7-8): 1", "Detractors (0-6): 1"]
    assert chart_data(page, "#nps") == [1, 1, 1]
    click_category(page, "#csat", 4, 1)  # the bar of score 5
    assert listed(page) == ("2 conversations", ["c-ann", "c-bot"])
    assert "rated CSAT 5" in page.locator("h1").inner_text()
    page.go_back()
    page.get_by_role("link", name="Detractors (0-6): 1").click()
    assert listed(page) == ("1 conversation", ["c-bob"])
    # an agent whose workspace shows only its own figures sees only its own answers
    ann = sign_in(browser, server, seats.emails["ann"], path=path)
    assert chart_data(ann, "#csat") == [0, 0, 0, 1, 1]
    assert ann.get_by_role("list", name="NPS answers").get_by_role("link").all_inner_texts() == [
        "Promoters (9-10): 1",
        "Passives (7-8): 1",
        "Detractors (0-6): 0",
    ]
    october = "/reports/feedback?from=2026-10-01&to=2026-10-31"
    empty = sign_in(browser, server, seats.emails["boss"], path=october)
    assert "No CSAT answers in this period." in empty.content()
    assert empty.locator("#csat").count() == 0


def test_the_chatbot_page_lists_downtime_and_says_why_when_there_is_none(world, browser):  # noqa: F811
    server, seats = world
    monday = "/reports/chatbot?from=2026-11-02&to=2026-11-02"
    page = sign_in(browser, server, seats.emails["boss"], path=monday)
    rows = page.locator("#incidents tbody tr")
    assert rows.count() == 1
    cells = rows.first.locator("td").all_inner_texts()
    assert cells[:4] == ["bot", "2026-11-02 09:00", "2026-11-02 09:30", "30m 00s"]
    # observed all day (the 00:00 check holds until the next), down 30 minutes: 23.5 h / 24 h
    summary = page.locator(".summary").inner_text()
    assert summary == "Availability 97.9 % · downtime 30m 00s · 1 incident"
    assert tile(page, "availability") == "97.9 %"
    rows.first.get_by_role("link").click()  # the chats that started while the bot was down
    assert listed(page) == ("1 conversation", ["c-bob"])
    page.goto(server.url + "/reports/chatbot?from=2026-11-03&to=2026-11-03")
    assert "No downtime in this period: every health check answered up." in page.content()
    page.goto(server.url + "/reports/chatbot?from=2026-10-01&to=2026-10-31")
    assert "No health checks in this period" in page.content()
    assert page.locator("#incidents").count() == 0


def test_a_funnel_stage_and_a_day_of_the_overview_open_their_conversations(world, browser):  # noqa: F811
    server, seats = world
    page = sign_in(browser, server, seats.emails["boss"])
    stages = page.get_by_role("list", name="Visitor to conversion").get_by_role("link")
    assert stages.all_inner_texts() == [
        "Visitors: 0",
        "Chats: 4",
        "Bot: 1",
        "Human: 3",
        "Resolved: 3",
        "Converted: 0",
    ]
    # click the "Human" trapezoid of the funnel itself
    x, y = page.evaluate(
        """() => {
          const node = document.getElementById('funnel');
          node.scrollIntoView({block: "center"});
          const chart = echarts.getInstanceByDom(node);
          const rect = chart.getModel().getSeriesByIndex(0).getData()
            .getItemGraphicEl(3).getBoundingRect();
          const box = node.getBoundingClientRect();
          return [box.left + rect.x + rect.width / 2, box.top + rect.y + rect.height / 2];
        }"""
    )
    page.mouse.click(x, y)
    assert listed(page) == ("3 conversations", ["c-ann", "c-bob", "c-late"])
    assert "counted=human_conversations" in page.url
    assert "counted in Human conversations" in page.locator("h1").inner_text()
    with page.expect_download() as download:  # the same conversations, one row each
        page.get_by_role("link", name="CSV").click()
    text = Path(download.value.path()).read_text(encoding="utf-8")
    assert sorted(r["conversation_id"] for r in csv.DictReader(text.splitlines())) == [
        "c-ann",
        "c-bob",
        "c-late",
    ]
    page.go_back()
    page.get_by_role("link", name="Bot: 1").click()
    assert listed(page) == ("1 conversation", ["c-bot"])
    page.go_back()
    click_category(page, "#series", 2)  # 1 Nov, 2 Nov, 3 Nov: Tuesday
    assert listed(page) == ("1 conversation", ["c-late"])
    assert "from=2026-11-03&to=2026-11-03" in page.url


def test_a_click_on_a_widget_opens_the_conversations_behind_it(world, browser):  # noqa: F811
    server, seats = world
    board = make_board(
        server,
        seats.emails["boss"],
        [
            {"metric": "conversations", "chart": "bar", "dimension": "channel"},
            {"metric": "human_conversations", "chart": "tile"},
            {"metric": "first_response_time", "chart": "table", "dimension": "agent_id"},
            {"metric": "conversations", "chart": "bar"},
            {"metric": "conversations", "chart": "tile", "filters": {"channel": ["whatsapp"]}},
            {"metric": "conversations", "chart": "heatmap"},
        ],
    )
    url = f"/dashboards/{board}?{NOVEMBER}"
    page = sign_in(browser, server, seats.emails["boss"], path=url)
    ready(page)
    bars = '[data-widget="0"] .chart'
    assert chart_data(page, bars) == [3, 1]  # web: c-ann, c-bob, c-late; whatsapp: c-bot
    click_category(page, bars, 0, 1.5)  # on the web bar itself
    assert listed(page) == ("3 conversations", ["c-ann", "c-bob", "c-late"])
    assert "filter=channel%3Dweb" in page.url
    page.go_back()
    ready(page)
    page.locator('[data-widget="1"] .value a').click()  # human conversations: 3
    assert listed(page) == ("3 conversations", ["c-ann", "c-bob", "c-late"])
    page.go_back()
    ready(page)
    page.locator('[data-widget="2"]').get_by_role("link", name="bob").click()
    assert listed(page) == ("1 conversation", ["c-bob"])
    page.go_back()
    ready(page)
    click_category(page, '[data-widget="3"] .chart', 2)  # by day: 3 November
    assert listed(page) == ("1 conversation", ["c-late"])
    page.go_back()
    ready(page)
    assert page.locator('[data-widget="4"] .value').inner_text() == "1"
    page.locator('[data-widget="4"] .value a').click()  # the widget's own filter is kept
    assert listed(page) == ("1 conversation", ["c-bot"])
    page.go_back()
    ready(page)
    page.locator('[data-widget="5"]').get_by_role("link", name="Open the conversations").click()
    assert listed(page)[0] == "4 conversations"


def test_a_widget_shows_it_is_loading_then_its_chart_or_why_it_failed(world, browser):  # noqa: F811
    server, seats = world
    board = make_board(server, seats.emails["boss"], [{"metric": "conversations"}])
    page = sign_in(browser, server, seats.emails["boss"], path="/dashboards")
    held = []
    page.route("**/api/v1/query", lambda route: held.append(route))  # held until released
    page.goto(server.url + f"/dashboards/{board}?{NOVEMBER}")
    body = page.locator('[data-widget="0"] .body')
    page.wait_for_function("() => document.querySelector('[data-widget]') !== null")
    assert body.get_attribute("aria-busy") == "true"
    loading = body.get_by_role("status")
    assert loading.is_visible() and loading.inner_text() == "Loading…"
    # Playwright hands over the held request only while it waits: pause on its clock
    wait_until(lambda: held or page.wait_for_timeout(20), interval=0, what="the query held")
    held.pop().continue_()
    ready(page)
    assert body.get_attribute("aria-busy") == "false"
    assert body.locator(".value").inner_text() == "4"
    assert body.locator(".loading").count() == 0
    # the server fails: the widget says why and offers to try again
    page.unroute("**/api/v1/query")
    page.route(
        "**/api/v1/query",
        lambda route: route.fulfill(
            status=503, json={"error": {"code": "busy", "message": "the engine is busy"}}
        ),
    )
    page.reload()
    ready(page)
    assert (
        body.get_by_role("alert").inner_text() == "Could not load this widget: the engine is busy"
    )
    assert body.get_attribute("aria-busy") == "false"
    page.unroute("**/api/v1/query")
    page.route("**/api/v1/query", lambda route: route.abort())
    body.get_by_role("button", name="Retry").click()
    page.wait_for_function(
        "() => document.querySelector('[data-widget] [role=alert]')?.textContent"
        ".includes('could not be reached')"
    )
    page.unroute("**/api/v1/query")
    body.get_by_role("button", name="Retry").click()
    ready(page)
    assert body.locator(".value").inner_text() == "4"


def test_a_manager_shares_a_dashboard_with_the_team_from_its_page(world, browser):  # noqa: F811
    server, seats = world
    board = make_board(server, seats.emails["boss"], [{"metric": "conversations"}])
    page = sign_in(browser, server, seats.emails["boss"], path=f"/dashboards/{board}?{NOVEMBER}")
    share = page.get_by_label("Share with")
    options = share.locator("option").all_inner_texts()
    assert options == ["only me", "team sales (yours)"]  # not the workspace: admins share so
    share.select_option("team:sales")
    page.get_by_role("button", name="Save dashboard").click()
    page.get_by_role("status").filter(has_text="Saved.").wait_for()
    ann = sign_in(browser, server, seats.emails["ann"], path="/dashboards")
    mine = ann.get_by_role("listitem").filter(has_text="shared with team sales")
    assert mine.count() >= 1
    ann.goto(server.url + f"/dashboards/{board}?{NOVEMBER}")
    ready(ann)
    assert ann.locator('[data-widget="0"] .value').inner_text() == "2"  # ann's own figures
    bob = sign_in(browser, server, seats.emails["bob"], path="/dashboards")
    assert "shared with team sales" not in bob.content()
    assert bob.goto(server.url + f"/dashboards/{board}").status == 404


def test_the_new_views_fit_a_phone(world, browser):  # noqa: F811
    server, seats = world
    board = make_board(
        server,
        seats.emails["boss"],
        [
            {"metric": "conversations", "chart": "bar", "dimension": "channel", "size": 3},
            {"metric": "first_response_time", "chart": "table", "dimension": "agent_id"},
        ],
    )
    paths = (
        f"/reports/feedback?{NOVEMBER}",
        "/reports/chatbot?from=2026-11-02&to=2026-11-02",
        f"/overview?{NOVEMBER}",
        f"/dashboards/{board}?{NOVEMBER}",
        f"/conversations?{NOVEMBER}&counted=human_conversations&csat=5",
        "/live",
    )
    for path in paths:
        page = sign_in(browser, server, seats.emails["boss"], width=375, path=path)
        if "/dashboards/" in path:
            ready(page)
        overflow = page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow == 0, path
