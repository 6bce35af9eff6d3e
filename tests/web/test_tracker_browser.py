"""The website tracker in a real browser (issue 16 part 5): Chromium loads pages of a shop
served by a tiny loopback HTTP server on its own port (another origin than chatlens), each
including `/t.js` with the tracker's key. The visitor reads 3 pages (two loads and one SPA
`history.pushState`) and opens the chat widget: the workspace counts 1 visitor, 1
conversation, a visitor-to-chat rate of 1, and 5 events (visit_started, 3 page_view,
conversation_started). The same pages served from an origin the key does not allow are
refused and count nothing."""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from sqlalchemy import select

from chatlens.app import connections
from chatlens.app.db import app_db_url, open_app_db
from chatlens.app.models import ConnectionProblem
from tests.serverkit import CHROMIUM, CHROMIUM_FLAGS, LiveServer, provision
from tests.waiting import wait_until

pytestmark = pytest.mark.browser


class Shop:
    """A site on 127.0.0.1:<its own port>: /, /shoes and /cart (the SPA route), each page
    including `snippet` (the tracker's tag)."""

    def __init__(self) -> None:
        self.snippet = ""
        shop = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                title = self.path.strip("/") or "home"
                body = (
                    f"<!doctype html><html><head><title>{title}</title>{shop.snippet}</head>"
                    f'<body><h1>{title}</h1><a id="next" href="/shoes">shoes</a></body></html>'
                ).encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.origin = f"http://127.0.0.1:{self.http.server_address[1]}"
        self.thread = threading.Thread(target=self.http.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.http.shutdown()
        self.http.server_close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS, headless=True)
        yield chromium
        chromium.close()


def test_a_visitor_reading_three_pages_and_opening_the_widget_is_counted(tmp_path, browser):
    store = tmp_path / "chatlens.duckdb"
    seats = provision(store, {"acme": {"keys": {"read": "read"}}})
    server = LiveServer(store).start(timeout=120)
    snippet = '<script async src="{url}/t.js" data-key="{key}"></script>'
    factory = open_app_db(app_db_url(store))
    shops = [Shop(), Shop()]  # the key allows the first one's origin only
    try:
        with factory() as db:
            made = connections.create_connection(
                db, "acme", "tracker", "shop", origins=[shops[0].origin]
            )
            assert made.site is not None
            key, conn_id = made.site.site_key, made.record.id
        for shop in shops:
            shop.snippet = snippet.format(url=server.url, key=key)

        context = browser.new_context()
        page = context.new_page()
        page.goto(shops[0].origin + "/")
        page.wait_for_function("window.chatlens && window.chatlens.tracking")
        page.click("#next")  # a full load: the first page's beacon leaves on pagehide
        page.wait_for_url("**/shoes")
        page.wait_for_function("window.chatlens && window.chatlens.tracking")
        page.evaluate("history.pushState({}, '', '/cart')")  # an SPA route change
        page.evaluate("history.replaceState({}, '', '/cart#details')")  # same page: no view
        page.evaluate("window.chatlens && chatlens.widgetOpened()")

        def traffic() -> int:
            with factory() as db:
                return connections.traffic(db, conn_id).events_total

        # visit_started + page_view (/), page_view (/shoes), page_view (/cart), widget open
        wait_until(lambda: traffic() == 5, 60, what="the 5 events of the visit stored")

        # the same site served from an origin the key does not allow
        other = context.new_page()
        other.goto(shops[1].origin + "/")
        other.wait_for_function("window.chatlens && window.chatlens.tracking")
        other.evaluate("window.chatlens && chatlens.widgetOpened()")

        def refusals() -> int:
            with factory() as db:
                found = db.scalars(
                    select(ConnectionProblem).where(ConnectionProblem.connection_id == conn_id)
                ).all()
            assert all(p.status == 403 for p in found), [p.reason for p in found]
            return len(found)

        wait_until(lambda: refusals() >= 1, 60, what="the other origin's beacon refused")
        context.close()

        today = dt.datetime.now(dt.UTC).date().isoformat()
        query = {
            "metrics": [
                "visitors",
                "conversations",
                "visitor_chat_rate",
                "time_on_site_before_chat",
            ],
            "from": today,
            "to": today,
        }
        reader = server.client(seats.keys["read"])

        def figures() -> dict[str, Any] | None:
            row: dict[str, Any] = reader.post("/api/v1/query", json=query).json()["rows"][0]
            # the figures are read from the facts, refreshed apart from the raw counts: wait
            # until the chat has joined its visit as well
            joined = row["visitor_chat_rate"] and row["time_on_site_before_chat"] is not None
            return row if row["visitors"] and row["conversations"] and joined else None

        row = wait_until(figures, 60, what="the visit and its chat counted (facts refreshed)")
        assert (row["visitors"], row["conversations"], row["visitor_chat_rate"]) == (1, 1, 1.0)
        # the chat joined its visit: from the first page's load to the widget's open
        assert row["time_on_site_before_chat"] is not None
        assert 0 <= row["time_on_site_before_chat"] < 300
        assert traffic() == 5  # nothing of the refused origin
    finally:
        for shop in shops:
            shop.close()
        factory.kw["bind"].dispose()
        server.stop()


def test_a_batch_answered_with_an_error_is_sent_again_and_counts_once(tmp_path, browser):
    """A browser without sendBeacon (fetch keepalive instead): the first page's batch reaches
    the server but the page sees a 503 (a proxy failing after the journal write), so the
    script keeps it and sends it again with the next page, with the same ids: the visit
    counts its 3 events once (visit_started, 2 page_view), the resent 2 as duplicates."""
    store = tmp_path / "chatlens.duckdb"
    provision(store, {"acme": {}})
    server = LiveServer(store).start(timeout=120)
    factory = open_app_db(app_db_url(store))
    shop = Shop()
    try:
        with factory() as db:
            made = connections.create_connection(
                db, "acme", "tracker", "shop", origins=[shop.origin]
            )
            assert made.site is not None
            key, conn_id = made.site.site_key, made.record.id
        shop.snippet = f'<script async src="{server.url}/t.js" data-key="{key}"></script>'
        context = browser.new_context()
        context.add_init_script("navigator.sendBeacon = function () { return false; };")
        seen: list[dict[str, Any]] = []

        def relay(route: Any) -> None:
            answer = route.fetch()  # the server gets it and stores it...
            seen.append({"body": json.loads(route.request.post_data), "status": answer.status})
            if len(seen) == 1:  # ...but the page is told the first one failed
                route.fulfill(status=503, body="")
            else:
                route.fulfill(response=answer)

        context.route(f"{server.url}/api/v1/track/**", relay)
        page = context.new_page()
        page.goto(shop.origin + "/")
        page.wait_for_function("localStorage.getItem('chatlens_unsent')")
        # the next page sends the kept batch with its own page view (Playwright runs the
        # route handler while it waits for that answer)
        with page.expect_response(lambda r: "/api/v1/track/" in r.url, timeout=60_000):
            page.click("#next")

        def traffic() -> int:
            with factory() as db:
                return connections.traffic(db, conn_id).events_total

        wait_until(lambda: traffic() == 3, 60, what="the visit's 3 events counted")
        first, second = ([e["id"] for e in s["body"]["events"]] for s in seen[:2])
        assert len(first) == 2 and second[:2] == first and len(second) == 3
        assert [s["status"] for s in seen[:2]] == [200, 200]
        context.close()
        assert traffic() == 3
    finally:
        shop.close()
        factory.kw["bind"].dispose()
        server.stop()
