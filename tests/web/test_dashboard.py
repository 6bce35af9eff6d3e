"""The dashboard in a real browser (Playwright driving Debian's Chromium, /usr/bin/chromium)
against the real server: sign in, overview figures, drill-down to a transcript, escaping,
bookmarkable controls, agent scoping, and a 375 px wide phone."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from tests.builders import DAY, chat
from tests.serverkit import CHROMIUM, CHROMIUM_FLAGS, PASSWORD, LiveServer, provision
from tests.waiting import wait_until

pytestmark = pytest.mark.browser

FLAGS = CHROMIUM_FLAGS
NOVEMBER = "from=2026-11-01&to=2026-11-30"
SCRIPT = "<script>window.pwned = 1</script><img src=x onerror=window.pwned=2>"


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    store = tmp_path_factory.mktemp("web") / "chatlens.duckdb"
    seats = provision(
        store,
        {
            "default": {
                "users": {
                    "root": ("admin", None, None),
                    "boss": ("manager", None, None),
                    "ann": ("agent", "ann", "sales"),
                },
                "keys": {"in": "ingest", "read": "read"},
            },
            "live": {"users": {"lena": ("manager", None, None)}, "keys": {"live-in": "ingest"}},
        },
    )
    server = LiveServer(store).start()
    # three chats on Monday 2 Nov: ann answers in 30 s, bob in 90 s (web), one bot chat (chat)
    events = (
        chat("c-ann", DAY, agent="ann", reply_after=30, close_after=300, channel="web")
        + chat("c-bob", DAY, agent="bob", reply_after=90, close_after=600, channel="web")
        + chat("c-bot", DAY, bot=True, close_after=60, channel="whatsapp")
    )
    events[1]["text"] = SCRIPT  # the customer's first message in c-ann
    tagged = DAY + dt.timedelta(seconds=100)
    events += [
        {"type": "tag_added", "ts": tagged.isoformat(), "conversation_id": cid, "tag": tag}
        for cid, tag in (("c-ann", "billing"), ("c-bob", "billing"), ("c-bob", "bug"))
    ]
    assert server.client(seats.keys["in"]).post("/api/v1/events", json=events).status_code == 200
    reader = server.client(seats.keys["read"])
    body = {"metrics": ["conversations"], "from": "2026-11-01", "to": "2026-11-30"}
    wait_until(
        lambda: reader.post("/api/v1/query", json=body).json()["rows"][0]["conversations"] == 3,
        what="the facts caught up",
    )
    yield server, seats
    server.stop()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        yield chromium
        chromium.close()


def sign_in(browser, server, email, *, width=1280, path=f"/overview?{NOVEMBER}"):
    page = browser.new_page(viewport={"width": width, "height": 900})
    page.goto(server.url + path)
    assert "/login" in page.url  # not signed in yet: sent to the form, then back
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"**{path.split('?')[0]}*")
    return page


def tile(page, metric):
    return page.locator(f'.tile[data-metric="{metric}"] .value').inner_text()


def test_the_overview_shows_the_figures_of_the_period(live, browser):
    server, seats = live
    page = sign_in(browser, server, seats.emails["boss"])
    assert tile(page, "conversations") == "3"
    assert tile(page, "first_response_time") == "1m 00s"  # (30 s + 90 s) / 2
    assert tile(page, "csat") == "-"
    assert "no data in this period" in page.locator('.tile[data-metric="csat"]').inner_text()
    for chart in ("series", "mix", "heat", "funnel"):
        assert page.locator(f"#{chart}[data-ready='1'] canvas").count() >= 1
    # the controls are in the URL: reloading the URL gives the same view
    page.get_by_label("Channel", exact=True).select_option("web")
    page.get_by_role("button", name="Apply").click()
    page.wait_for_url("**channel=web*")
    assert tile(page, "conversations") == "2"
    page.reload()
    assert tile(page, "conversations") == "2"


def test_drill_down_to_a_transcript_shows_chat_text_as_text(live, browser):
    server, seats = live
    page = sign_in(browser, server, seats.emails["boss"])
    page.locator('.tile[data-metric="conversations"]').click()
    page.wait_for_url("**/conversations?*")
    assert page.get_by_text("3 conversations").count() == 1
    page.get_by_role("link", name="c-ann").click()
    page.wait_for_url("**/conversations/c-ann")
    assert page.locator(".msg.customer .text").first.inner_text() == SCRIPT
    assert page.evaluate("window.pwned") is None


def test_an_agent_sees_its_own_figures_and_chats(live, browser):
    server, seats = live
    page = sign_in(browser, server, seats.emails["ann"])
    assert tile(page, "conversations") == "1"
    assert tile(page, "first_response_time") == "30s"
    page.goto(server.url + "/conversations/c-bob")
    assert "no conversation 'c-bob' that you can read" in page.content()


def test_a_report_page_shows_every_metric_of_its_section(live, browser):
    server, seats = live
    path = f"/reports/live-chat?{NOVEMBER}&metric=first_response_time"
    page = sign_in(browser, server, seats.emails["boss"], path=path)
    frt = page.locator('.tile[data-metric="first_response_time"]')
    assert frt.locator(".value").inner_text() == "1m 00s"
    # median of 30 s and 90 s = 60 s; p90 by linear interpolation = 30 + 0.9 x 60 = 84 s
    assert frt.locator(".extra").inner_text() == "median 1m 00s · p90 1m 24s"
    assert page.locator('.tile[data-metric="first_response_time_p90"]').count() == 0
    assert page.locator("#series[data-ready='1'] canvas").count() >= 1
    # tags, most used first, as shares of all three conversations (tag_share)
    rows = page.locator("#tags tbody tr")
    assert [rows.nth(i).locator("td").all_inner_texts() for i in range(rows.count())] == [
        ["billing", "2", "66.7 %"],
        ["bug", "1", "33.3 %"],
    ]
    assert page.locator('.tile[data-metric="tag_share"]').count() == 0  # read split by tag
    page.locator('.tile[data-metric="missed_rate"]').click()
    page.wait_for_url("**metric=missed_rate*")
    page.get_by_role("link", name="bug").click()
    page.wait_for_url("**/conversations?*")
    assert page.get_by_text("1 conversation").count() == 1


def test_agents_are_ranked_and_open_their_conversations(live, browser):
    server, seats = live
    path = f"/agents?{NOVEMBER}&rank=first_response_time"
    page = sign_in(browser, server, seats.emails["boss"], path=path)
    cells = page.locator("table tbody tr td:nth-child(2)").all_inner_texts()
    assert cells == ["ann", "bob"]  # 30 s before 90 s: a faster first response ranks first
    page.get_by_role("link", name="bob").click()
    page.wait_for_url("**/agents/bob?*")
    assert tile(page, "first_response_time") == "1m 30s"
    assert tile(page, "handled_conversations") == "1"
    with page.expect_download() as download:
        page.get_by_role("link", name="Download CSV").click()
    lines = Path(download.value.path()).read_text(encoding="utf-8").splitlines()
    header = lines[0].split(",")
    assert header[:3] == ["bucket", "handled_conversations", "successful_chats"]
    monday = next(line for line in lines if line.startswith("2026-11-02"))
    cells = dict(zip(header, monday.split(","), strict=True))
    assert (cells["handled_conversations"], cells["first_response_time"]) == ("1", "90.0")
    page.emulate_media(media="print")  # a clean printout: no navigation, no controls
    assert not page.locator("form.controls").is_visible()
    page.emulate_media(media="screen")
    page.get_by_role("link", name="the conversations").click()
    page.wait_for_url("**/conversations?*")
    assert page.get_by_text("1 conversation").count() == 1


def test_admins_change_settings_and_history_follows(live, browser):
    server, seats = live
    report = f"/reports/live-chat?{NOVEMBER}"
    page = sign_in(browser, server, seats.emails["root"], path="/settings")
    sla = page.get_by_label("sla_first_response_seconds")
    assert sla.input_value() == "60.0"
    page.goto(server.url + report)
    assert tile(page, "frt_within_sla") == "50.0 %"  # 30 s within 60 s, 90 s not
    page.goto(server.url + "/settings")
    page.get_by_label("sla_first_response_seconds").fill("-5")
    page.get_by_role("button", name="Save settings").click()
    assert "sla_first_response_seconds" in page.get_by_role("alert").inner_text()
    page.goto(server.url + "/settings")
    page.get_by_label("sla_first_response_seconds").fill("120")
    page.get_by_role("button", name="Save settings").click()
    page.wait_for_url("**saved=sla_first_response_seconds")
    page.goto(server.url + report)
    assert tile(page, "frt_within_sla") == "100.0 %"
    page.goto(server.url + "/settings")
    page.get_by_label("sla_first_response_seconds").fill("60")
    page.get_by_role("button", name="Save settings").click()
    # a key is shown once, then only its prefix; revoking it works
    page.get_by_label("Name", exact=True).fill("widget")
    page.get_by_role("button", name="Create key").click()
    key = page.locator("#new-key").inner_text()
    assert key.startswith("clk_")
    assert server.client(key).post("/api/v1/events", json=[]).status_code == 200
    page.goto(server.url + "/settings")
    assert key not in page.content()
    page.get_by_role("row", name="widget").get_by_role("button", name="Revoke").click()
    assert server.client(key).post("/api/v1/events", json=[]).status_code == 401


def test_goals_are_set_shown_on_tiles_and_removed(live, browser):
    server, seats = live
    page = sign_in(browser, server, seats.emails["root"], path=f"/goals?{NOVEMBER}")
    assert "No goals yet" in page.content()
    page.get_by_label("Metric").select_option("fcr_rate")
    hint = page.locator("#g-hint").inner_text()
    assert "Benchmark (retail): typical 70-75%, above average 80-85%, exceptional > 90%" in hint
    assert "Unit: %" in hint
    # the band's typical edge is offered as the target, on the side of the metric's direction
    assert page.get_by_label("At least").input_value() == "70"
    page.get_by_label("Metric").select_option("first_response_time")
    assert page.get_by_label("At least").input_value() == ""
    assert page.get_by_label("At most").input_value() == "45"
    page.get_by_label("Metric").select_option("fcr_rate")
    page.get_by_label("At least").fill("80")
    with page.expect_navigation():  # the saved page is back before the next goal is chosen
        page.get_by_role("button", name="Save goal").click()
    page.get_by_label("Metric").select_option("csat")
    page.get_by_label("At least").fill("4.5")
    with page.expect_navigation():
        page.get_by_role("button", name="Save goal").click()
    fcr = page.locator('tr[data-goal="fcr_rate"]')
    expected = ["First contact resolution", "at least 80.0 %", "100.0 %", "met"]
    assert fcr.locator("td").all_inner_texts()[:4] == expected
    # 3 of 3 closed chats resolved at first contact: 100 % is above 90 %: exceptional
    assert fcr.locator("td.progress").inner_text().strip() == "100 %"
    assert fcr.locator("td.band").inner_text() == "exceptional"
    assert page.locator('tr[data-goal="csat"] td').nth(3).inner_text() == "no data in this period"
    page.goto(server.url + f"/overview?{NOVEMBER}")
    tile = page.locator('.tile[data-metric="fcr_rate"]')
    assert "goal-met" in tile.get_attribute("class")
    assert tile.locator(".band").inner_text() == "exceptional"
    assert tile.locator(".goal").inner_text() == "goal met · 100 % of the way"
    # a metric with a band but no goal shows the band alone
    frt = page.locator('.tile[data-metric="first_response_time"]')
    assert frt.locator(".goal").count() == 0
    page.goto(server.url + f"/goals?{NOVEMBER}")
    for label in ("First contact resolution", "CSAT"):
        with page.expect_navigation():
            page.get_by_role("button", name=f"Remove the goal of {label}").click()
    assert "No goals yet" in page.content()


def test_managers_read_settings_and_agents_cannot_open_them(live, browser):
    server, seats = live
    page = sign_in(browser, server, seats.emails["boss"], path="/settings")
    assert page.get_by_label("sla_first_response_seconds").get_attribute("readonly") is not None
    assert page.get_by_role("button", name="Save settings").count() == 0
    agent = sign_in(browser, server, seats.emails["ann"])
    assert agent.get_by_role("link", name="Settings").count() == 0
    answer = agent.goto(server.url + "/settings")
    assert answer.status == 403


def test_the_live_view_shows_now_and_refreshes(live, browser):
    server, seats = live
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)

    def ago(seconds: float) -> str:
        return (now - dt.timedelta(seconds=seconds)).isoformat().replace("+00:00", "Z")

    base = [
        {"type": "conversation_started", "ts": ago(300), "conversation_id": "waiting"},
        {
            "type": "message",
            "ts": ago(295),
            "conversation_id": "waiting",
            "sender": "customer",
            "text": "hello?",
        },
        {"type": "handoff_requested", "ts": ago(240), "conversation_id": "waiting"},
        {"type": "conversation_started", "ts": ago(120), "conversation_id": "served"},
        {"type": "agent_joined", "ts": ago(100), "conversation_id": "served", "agent_id": "a1"},
        {
            "type": "message",
            "ts": ago(90),
            "conversation_id": "served",
            "sender": "agent",
            "agent_id": "a1",
            "text": "hi",
        },
        {"type": "conversation_started", "ts": ago(60), "conversation_id": "bot"},
        {
            "type": "message",
            "ts": ago(59),
            "conversation_id": "bot",
            "sender": "bot",
            "bot_id": "b1",
            "text": "How can I help?",
        },
        {"type": "agent_status", "ts": ago(3600), "agent_id": "a1", "status": "online"},
        {"type": "agent_status", "ts": ago(3600), "agent_id": "a2", "status": "online"},
        {"type": "agent_status", "ts": ago(600), "agent_id": "a2", "status": "away"},
        {"type": "agent_status", "ts": ago(600), "agent_id": "a3", "status": "offline"},
    ]
    sent = server.client(seats.keys["live-in"]).post("/api/v1/events", json=base)
    assert sent.status_code == 200, sent.text
    page = sign_in(browser, server, seats.emails["lena"], path="/live")
    expected = {
        "open_conversations": "3",
        "waiting": "1",
        "unassigned": "1",
        "with_bot": "1",
        "agents_online": "1",
        "agents_away": "1",
    }
    for name, value in expected.items():
        cell = page.locator(f'[data-live="{name}"] .value')
        page.wait_for_function(
            "([n, v]) => document.querySelector(`[data-live='${n}'] .value`).textContent === v",
            arg=[name, value],
            timeout=15_000,
        )
        assert cell.inner_text() == value
    assert page.locator('[data-live="longest_wait_seconds"] .value').inner_text().startswith("4m")


def test_a_phone_wide_screen_has_no_horizontal_overflow(live, browser):
    server, seats = live
    paths = (
        f"/overview?{NOVEMBER}",
        f"/reports/live-chat?{NOVEMBER}",
        f"/agents?{NOVEMBER}",
        f"/agents/ann?{NOVEMBER}",
        f"/conversations?{NOVEMBER}",
        "/conversations/c-ann",
    )
    for path in paths:
        page = sign_in(browser, server, seats.emails["boss"], width=375, path=path)
        overflow = page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow == 0, path


def test_feedback_comments_are_listed_as_text_for_those_who_may_read_them(live, browser):
    # a chat of bob's in December, a month no other test reads: the rating changes no figure
    # of November, whatever order the tests run in
    server, seats = live
    day = DAY + dt.timedelta(days=30)
    events = chat("c-bob-dec", day, agent="bob", reply_after=90, close_after=600, channel="web")
    events.append(
        {
            "type": "rating",
            "ts": (day + dt.timedelta(hours=1)).isoformat(),
            "conversation_id": "c-bob-dec",
            "kind": "csat",
            "score": 2,
            "comment": "<b>slow</b> & rude",
        }
    )
    assert server.client(seats.keys["in"]).post("/api/v1/events", json=events).status_code == 200
    path = "/reports/feedback?from=2026-12-01&to=2026-12-31"
    page = sign_in(browser, server, seats.emails["boss"], path=path)

    def listed() -> bool:
        if "slow" in page.locator("#h-comments + *").inner_text():
            return True
        page.reload()  # the facts catch up on the server's next refresh
        return False

    wait_until(listed, interval=0, what="the comment listed")
    comment = page.locator(".comments li").first
    assert comment.locator(".text").inner_text() == "<b>slow</b> & rude"
    assert "csat 2" in comment.locator(".meta").inner_text()
    assert tile(page, "csat") == "2.00"
    ann = sign_in(browser, server, seats.emails["ann"], path=path)
    assert "No rating came with a comment in this period." in ann.content()
