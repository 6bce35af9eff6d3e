"""The hostile-text corpus (tests/hostile.py) rendered in Chromium: every dashboard page and
every transcript, at 1280 and 375 px. No payload runs (each sets `window.__pwned` and calls
`alert`; a dialog listener records any dialog) and no page grows wider than the window."""

from __future__ import annotations

from urllib.parse import quote

import pytest

from tests.hostile import PAYLOADS, PERIOD, agent_id, build_hostile_store, conversation_id
from tests.serverkit import LiveServer, provision
from tests.web.test_dashboard import browser, sign_in  # noqa: F401 - fixture

pytestmark = pytest.mark.browser

SECTIONS = ("volume", "chatbot", "live-chat", "feedback", "business")
# elements reaching past the right edge of the window outside any scrolling box: what to fix
WIDEST = """() => [...document.querySelectorAll('body *')].filter(e => {
    if (e.getBoundingClientRect().right <= window.innerWidth + 1) return false;
    for (let a = e.parentElement; a; a = a.parentElement)
      if (getComputedStyle(a).overflowX !== 'visible') return false;
    return true;
  }).slice(-3).map(e => e.tagName.toLowerCase() + '.' + e.className + ' @' +
                   Math.round(e.getBoundingClientRect().right))"""


@pytest.fixture(scope="module")
def hostile_server(tmp_path_factory):
    store = build_hostile_store(tmp_path_factory.mktemp("hostile-web") / "chatlens.duckdb")
    seats = provision(store, {"default": {"users": {"root": ("admin", None, None)}}})
    server = LiveServer(store).start()
    yield server, seats
    server.stop()


def paths() -> list[str]:
    """Every page of the dashboard over the corpus's month, every transcript and agent report,
    and the overview and conversation list filtered by hostile values (reflected in forms)."""
    found = [
        f"/overview?{PERIOD}",
        f"/conversations?{PERIOD}",
        f"/agents?{PERIOD}",
        f"/faq?{PERIOD}",
        f"/goals?{PERIOD}",
        "/live",
        "/dashboards",
        "/settings",
    ]
    found += [f"/reports/{slug}?{PERIOD}" for slug in SECTIONS]
    for n in range(len(PAYLOADS)):
        found.append(f"/conversations/{quote(conversation_id(n), safe='/')}")  # as linked
        if "/" not in agent_id(n):  # /agents/{id} takes no "/" (/agents/{id}/report.csv)
            found.append(f"/agents/{quote(agent_id(n), safe='')}?{PERIOD}")
    for text in PAYLOADS[:5]:
        found.append(f"/overview?{PERIOD}&team={quote(text, safe='')}")
        found.append(f"/conversations?{PERIOD}&filter={quote('team=' + text, safe='')}")
    return found


@pytest.mark.parametrize("width", [1280, 375])
def test_hostile_text_never_runs_nor_widens_a_page(hostile_server, browser, width):  # noqa: F811
    server, seats = hostile_server
    page = sign_in(browser, server, seats.emails["root"], width=width, path=f"/overview?{PERIOD}")
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    probe = browser.new_page()  # the detector works: a payload let loose is seen
    probe.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    probe.set_content(PAYLOADS[1])
    probe.wait_for_function("window.__pwned === 'img'")
    assert dialogs == ["2"]
    probe.close()
    dialogs.clear()
    page.goto(server.url + f"/conversations/{quote(conversation_id(2), safe='')}")
    assert page.locator(".msg.customer .text").first.inner_text() == PAYLOADS[2]  # as text
    problems = []
    for path in paths():
        answer = page.goto(server.url + path)
        assert answer is not None and answer.status == 200, (path, answer and answer.status)
        page.wait_for_load_state("networkidle")
        if page.evaluate("window.__pwned") is not None or dialogs:
            problems.append((path, "script ran", page.evaluate("window.__pwned"), dialogs[:]))
        overflow = page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        if overflow > 0:
            problems.append((path[:80], f"{overflow}px too wide", page.evaluate(WIDEST)))
    assert not problems, "\n".join(repr(p)[:300] for p in problems)
