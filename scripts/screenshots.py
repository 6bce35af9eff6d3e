"""Screenshots of every dashboard page into docs/screenshots/ (`make screenshots`).

Makes the demo store in a temporary directory (`chatlens demo`: 50,000 simulated
conversations over the last 90 days, the demo admin), starts the real server on it, signs
in as the demo admin in Chromium (Debian's /usr/bin/chromium through Playwright; never
`playwright install`) and saves each page once its data is shown: at a laptop width of
1280 px (the top 2,000 px of the page at most) and a few pages at a phone width of 375 px.
PNGs go through `pngquant` when it is installed (about a third of the size), else stay as
Chromium writes them.

Usage: python scripts/screenshots.py [--out docs/screenshots] [--conversations 50000]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # tests.serverkit
from tests.serverkit import CHROMIUM, CHROMIUM_FLAGS, LiveServer

from chatlens.cli import DEMO_LOGIN

ROOT = Path(__file__).resolve().parent.parent

FLAGS = [*CHROMIUM_FLAGS, "--hide-scrollbars", "--font-render-hinting=none"]
LAPTOP, PHONE_WIDTH = 1280, 375
MAX_HEIGHT = 2000

# true once the page shows its data: no element busy, every tile filled, every chart drawn
READY = """() => {
  if (document.readyState !== "complete") return false;
  if (document.querySelector('[aria-busy="true"]')) return false;
  const values = [...document.querySelectorAll(".tile .value")].map((v) => v.textContent.trim());
  if (values.some((v) => !v || v === "…")) return false;
  if ([...document.querySelectorAll(".widget")].some((w) => w.dataset.ready !== "1")) return false;
  return [...document.querySelectorAll(".chart")].every((c) =>
    (c.closest(".widget") || c.dataset.ready === "1") && c.querySelector("canvas"));
}"""

WIDGETS = [
    {"metric": "conversations", "chart": "tile"},
    {"metric": "csat", "chart": "tile"},
    {"metric": "first_response_time", "chart": "tile"},
    {"metric": "conversations", "chart": "line", "size": 2},
    {"metric": "fcr_rate", "chart": "gauge"},
    {"metric": "fallback_rate", "chart": "bar", "dimension": "channel"},
    {"metric": "conversations", "chart": "heatmap", "size": 2},
    {"metric": "handled_conversations", "chart": "table", "dimension": "team"},
]


def make_demo(store: Path, conversations: int) -> None:
    started = time.perf_counter()
    subprocess.run(
        [
            sys.executable,
            "-m",
            "chatlens.cli",
            "demo",
            "--db",
            str(store),
            "--conversations",
            str(conversations),
        ],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    print(f"demo store: {conversations:,} conversations in {time.perf_counter() - started:.0f} s")


def pick_conversation(store: Path) -> str:
    """A transcript worth showing: bot, then a human agent, resolved, rated, a few turns."""
    from chatlens.store import open_store
    from chatlens.store.sql import run

    with open_store(store) as opened:
        rows = run(
            opened.con,
            "SELECT conversation_id FROM conversation_facts WHERE bot_involved AND "
            "has_human_part AND csat IS NOT NULL AND messages BETWEEN 8 AND 14 "
            "AND NOT missed AND started_at < now() - INTERVAL 2 DAY "
            "ORDER BY started_at DESC LIMIT 1",
        )
        if not rows:
            rows = run(
                opened.con,
                "SELECT conversation_id FROM conversation_facts ORDER BY messages DESC LIMIT 1",
            )
    return str(rows[0][0])


def optimise(path: Path) -> None:
    if shutil.which("pngquant"):
        subprocess.run(
            [
                "pngquant",
                "--force",
                "--skip-if-larger",
                "--strip",
                "--quality",
                "70-95",
                "--output",
                str(path),
                str(path),
            ],
            check=False,
        )


class Shooter:
    def __init__(self, browser: Any, server: LiveServer, out: Path):
        self.browser = browser
        self.server = server
        self.out = out
        self.contexts: dict[int, Any] = {}
        self.csrf = ""

    def context(self, width: int) -> Any:
        if width not in self.contexts:
            context = self.browser.new_context(
                viewport={"width": width, "height": 900 if width > PHONE_WIDTH else 812},
                device_scale_factor=1,
                reduced_motion="reduce",
                locale="en-GB",
                timezone_id="Europe/Helsinki",  # the demo workspace's time zone
            )
            answer = context.request.post(
                self.server.url + "/api/v1/auth/login",
                data={"email": DEMO_LOGIN[0], "password": DEMO_LOGIN[1]},
            )
            assert answer.ok, answer.text()
            self.csrf = answer.json()["csrf_token"]
            self.contexts[width] = context
        return self.contexts[width]

    def open(self, path: str, width: int = LAPTOP) -> Any:
        page = self.context(width).new_page()
        page.goto(self.server.url + path, wait_until="load", timeout=120_000)
        assert "/login" not in page.url, f"not signed in: {page.url}"
        page.wait_for_function(READY, polling=100, timeout=120_000)
        page.wait_for_timeout(300)  # the last frame of the charts
        return page

    def shot(self, name: str, path: str, width: int = LAPTOP) -> Any:
        page = self.open(path, width)
        self.save(page, name)
        return page

    def save(self, page: Any, name: str) -> None:
        height = page.evaluate("document.documentElement.scrollHeight")
        width = page.viewport_size["width"]
        target = self.out / f"{name}.png"
        clip = {"x": 0, "y": 0, "width": width, "height": min(height, MAX_HEIGHT)}
        page.screenshot(path=str(target), full_page=True, clip=clip, animations="disabled")
        optimise(target)
        print(
            f"  {target.relative_to(ROOT) if target.is_relative_to(ROOT) else target}: "
            f"{width}x{clip['height']}, {target.stat().st_size / 1024:.0f} KB"
        )
        page.close()

    def dashboard(self) -> int:
        answer = self.context(LAPTOP).request.post(
            self.server.url + "/api/v1/dashboards",
            data={"name": "Support at a glance", "widgets": WIDGETS},
            headers={"x-csrf-token": self.csrf},
        )
        assert answer.ok, answer.text()
        return int(answer.json()["id"])


PAGES = {
    "overview": "/overview",
    "chatbot": "/reports/chatbot",
    "live-chat": "/reports/live-chat",
    "feedback": "/reports/feedback",
    "business": "/reports/business",
    "volume": "/reports/volume",
    "agents": "/agents",
    "agent": "{agent}",
    "teams": "/teams",
    "team": "{team}",
    "faq": "/faq",
    "live": "/live",
    "goals": "/goals",
    "settings": "/settings",
    "dashboards": "/dashboards",
    "dashboard": "/dashboards/{board}",
    "conversations": "/conversations",
    "transcript": "/conversations/{conversation}",
    "audit": "/audit",  # after the transcript: its view is on the page
}
"""Saved as NAME.png at 1280 px; those in PHONE also as NAME-phone.png at 375 px."""
PHONE = ("overview", "agents", "team", "dashboard", "transcript", "audit")


def take(shooter: Shooter, conversation: str) -> None:
    agents = shooter.open("/agents")
    agent = agents.locator("table tbody tr a[href^='/agents/']").first.get_attribute("href")
    agents.close()
    teams = shooter.open("/teams")
    team = teams.locator("table.ranking tbody tr a[href^='/teams/']").first.get_attribute("href")
    teams.close()
    found = {
        "agent": agent,
        "team": team,
        "board": shooter.dashboard(),
        "conversation": conversation,
    }
    for name, path in PAGES.items():
        shooter.shot(name, path.format(**found))
    for name in PHONE:
        shooter.shot(f"{name}-phone", PAGES[name].format(**found), PHONE_WIDTH)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    parser.add_argument("--conversations", type=int, default=50_000)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="chatlens-screenshots-") as tmp:
        store = Path(tmp) / "chatlens.duckdb"
        make_demo(store, args.conversations)
        conversation = pick_conversation(store)
        server = LiveServer(store, refresh_seconds=1.0).start(timeout=120)
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
                take(Shooter(browser, server, args.out), conversation)
                browser.close()
        finally:
            server.stop()
    print(f"screenshots in {args.out}")


if __name__ == "__main__":
    main()
